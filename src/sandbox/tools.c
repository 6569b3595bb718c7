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
 * One of our programs: $ENV if set, else the one in the build tree the
 * running drover comes from (build/src/cli/drover -> build/src/SUBDIR/PROG),
 * else an installed one beside drover or in ../sbin, else PATH. Absolute,
 * because it is started inside a node whose PATH we set ourselves.
 */
static int our_program(const char *env_name, const char *subdir, const char *prog, char *out,
		       size_t len)
{
	const char *env = getenv(env_name);
	char self[PATH_MAX];

	if (env && env[0]) {
		if (access(env, X_OK) < 0)
			return -errno;
		return realpath(env, out) ? 0 : -errno;
	}
	if (self_exe_path(self, sizeof(self)) == 0) {
		char *dir = dirname(self);
		char cand[PATH_MAX + 64];

		snprintf(cand, sizeof(cand), "%s/../%s/%s", dir, subdir, prog);
		if (access(cand, X_OK) == 0 && realpath(cand, out))
			return 0;
		snprintf(cand, sizeof(cand), "%s/%s", dir, prog);
		if (access(cand, X_OK) == 0 && realpath(cand, out))
			return 0;
		snprintf(cand, sizeof(cand), "%s/../sbin/%s", dir, prog);
		if (access(cand, X_OK) == 0 && realpath(cand, out))
			return 0;
	}
	return find_in_path(prog, out, len);
}

int sb_droverfs_path(char *out, size_t len)
{
	return our_program("DROVER_DROVERFS", "droverfs", "droverfs", out, len);
}

/* $DROVER_DROVERD lets a test run its own droverd (tests/tools/droverd-testguest). */
int sb_droverd_path(char *out, size_t len)
{
	return our_program("DROVER_DROVERD", "droverd", "droverd", out, len);
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
