/* SPDX-License-Identifier: MIT */
#include "dbfiles.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/util.h"

const char *const db_file_suffixes[] = { "", "-wal", "-shm", ".journal" };
const size_t db_file_suffix_count = ARRAY_SIZE(db_file_suffixes);

int db_files_move(const char *from, const char *to, struct drover_err *err)
{
	char src[PATH_MAX], dst[PATH_MAX];

	for (size_t i = 0; i < db_file_suffix_count; i++) {
		if ((size_t)snprintf(src, sizeof(src), "%s%s", from, db_file_suffixes[i]) >=
			    sizeof(src) ||
		    (size_t)snprintf(dst, sizeof(dst), "%s%s", to, db_file_suffixes[i]) >=
			    sizeof(dst))
			return drover_fail(err, -ENAMETOOLONG, "moving %s: %s", from,
					   strerror(ENAMETOOLONG));
		if (access(src, F_OK) < 0 && errno == ENOENT)
			continue; /* not every database has all of them */
		if (rename(src, dst) < 0)
			return drover_fail(err, -errno, "moving %s to %s: %s", src, dst,
					   strerror(errno));
	}
	return 0;
}
