/* SPDX-License-Identifier: MIT */
#include "state_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/util.h"
#include "libdrover/replication/state_json.h"

int repl_state_load(const char *path, struct repl_state *s, struct drover_err *err)
{
	char *text;
	size_t len;
	int r = read_file_max(path, REPL_STATE_FILE_MAX, &text, &len);

	if (r == -ENOENT)
		return 0;
	if (r == -EFBIG)
		return drover_fail(err, r, "%s: larger than %d bytes", path, REPL_STATE_FILE_MAX);
	if (r < 0)
		return drover_fail(err, r, "%s: %s", path, strerror(-r));
	r = repl_state_from_json(text, len, s, err);
	free(text);
	if (r < 0)
		return drover_fail_prefix(err, r, "%s", path);
	return 0;
}

int repl_state_save(const char *path, const struct repl_state *s, struct drover_err *err)
{
	char *text;
	size_t len;
	int r = repl_state_to_json(s, &text);

	if (r < 0)
		return drover_fail(err, r, "%s: out of memory", path);
	len = strlen(text);
	if (len > REPL_STATE_FILE_MAX) {
		free(text);
		return drover_fail(err, -EFBIG, "%s: the state would be larger than %d bytes", path,
				   REPL_STATE_FILE_MAX);
	}
	r = write_file_atomic(path, text, len, 0600);
	free(text);
	if (r < 0)
		return drover_fail(err, r, "%s: %s", path, strerror(-r));
	return 0;
}
