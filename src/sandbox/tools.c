/* SPDX-License-Identifier: MIT */
/* Where drover's own programs are: the running drover and droverfs. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/util.h"
#include "sandbox.h"

static int find_in_path(const char *prog, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char dirs[4096];

	snprintf(dirs, sizeof(dirs), "%s", path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d;
	     d = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", d, prog);
		if (access(out, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

/*
 * $DROVER_DROVERFS, else the droverfs of the build tree the running drover
 * comes from (build/src/cli/drover -> build/src/cfs/droverfs), else an
 * installed one beside drover, else PATH. Absolute, because it is started
 * inside a node whose PATH we set ourselves.
 */
int sb_droverfs_path(char *out, size_t len)
{
	const char *env = getenv("DROVER_DROVERFS");
	char self[PATH_MAX];

	if (env && env[0]) {
		if (access(env, X_OK) < 0)
			return -errno;
		return realpath(env, out) ? 0 : -errno;
	}
	if (self_exe_path(self, sizeof(self)) == 0) {
		char *dir = dirname(self);
		char cand[PATH_MAX + 32];

		snprintf(cand, sizeof(cand), "%s/../cfs/droverfs", dir);
		if (access(cand, X_OK) == 0 && realpath(cand, out))
			return 0;
		snprintf(cand, sizeof(cand), "%s/droverfs", dir);
		if (access(cand, X_OK) == 0 && realpath(cand, out))
			return 0;
		snprintf(cand, sizeof(cand), "%s/../sbin/droverfs", dir);
		if (access(cand, X_OK) == 0 && realpath(cand, out))
			return 0;
	}
	return find_in_path("droverfs", out, len);
}

/* PATH inside a node: drover's and droverfs's directories first, then the system's. */
void sb_node_env_path(char *out, size_t len)
{
	char self[PATH_MAX], fs[PATH_MAX];
	size_t n = 0;

	out[0] = '\0';
	if (self_exe_path(self, sizeof(self)) == 0)
		n += (size_t)snprintf(out + n, len - n, "%s:", dirname(self));
	if (n < len && sb_droverfs_path(fs, sizeof(fs)) == 0)
		n += (size_t)snprintf(out + n, len - n, "%s:", dirname(fs));
	if (n < len)
		snprintf(out + n, len - n,
			 "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
}
