/* SPDX-License-Identifier: MIT */
#include "backup.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/nstime.h"
#include "basic/util.h"
#include "store.h"

static int is_backup(const struct dirent *de)
{
	return str_has_prefix(de->d_name, "config-") && strstr(de->d_name, ".db") != NULL;
}

/* Keep the newest few backups (their names sort by time). */
static void prune_backups(const char *dir)
{
	struct dirent **list;
	int n = scandir(dir, &list, is_backup, alphasort);

	for (int i = 0; i < n; i++) {
		if (i < n - CFS_BACKUPS_KEPT) {
			char path[PATH_MAX + 256];

			snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
			if (unlink(path) < 0)
				log_warn("cluster: cannot remove the old backup %s: %m", path);
		}
		free(list[i]);
	}
	if (n >= 0)
		free(list);
}

int cfs_backup_keep(struct cfs_persist *p, const char *db_path, char *out, size_t outlen)
{
	const struct cfs_state *st = &p->state;
	char dir[PATH_MAX], db[PATH_MAX];
	int r;

	if (outlen)
		out[0] = '\0';
	if (st->tree.nentries <= 1)
		return 0; /* nothing to lose */
	snprintf(db, sizeof(db), "%s", db_path);
	snprintf(dir, sizeof(dir), "%s/backup", dirname(db));
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if ((size_t)snprintf(out, outlen, "%s/config-%lld-v%" PRIu64 ".db", dir,
			     (long long)now_wall_s(), st->tree.version) >= outlen)
		return -ENAMETOOLONG;
	r = cfs_persist_flush_all(p);
	if (r == 0)
		r = cfs_store_backup(p->store, out);
	if (r == 0)
		prune_backups(dir);
	else
		out[0] = '\0';
	return r;
}
