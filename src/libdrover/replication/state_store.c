/* SPDX-License-Identifier: MIT */
#include "state_store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "basic/util.h"
#include "state_file.h"

#define LOCK_TIMEOUT_MS 10000

const char *repl_state_path(const char *path)
{
	const char *env;

	if (path)
		return path;
	env = getenv("DROVER_REPL_STATE");
	return env && *env ? env : REPL_STATE_PATH_DEFAULT;
}

int repl_state_read(const char *path, struct repl_state *s, struct drover_err *err)
{
	repl_state_init(s);
	return repl_state_load(repl_state_path(path), s, err);
}

static int lock_state(const char *path, struct drover_err *err)
{
	char lck[PATH_MAX], dir[PATH_MAX], *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		(void)mkdir_p(dir, 0755);
	}
	if (snprintf(lck, sizeof(lck), "%s.lck", path) >= (int)sizeof(lck))
		return drover_fail(err, -ENAMETOOLONG, "%s: path too long", path);
	fd = open(lck, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return drover_fail(err, -errno, "%s: %s", lck, strerror(errno));
	for (unsigned waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += 50) {
		if (errno != EWOULDBLOCK || waited >= LOCK_TIMEOUT_MS) {
			int r = errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;

			close(fd);
			return drover_fail(err, r, "cannot lock %s: %s", lck, strerror(-r));
		}
		nanosleep(&(struct timespec){ 0, 50 * 1000000 }, NULL);
	}
	return fd;
}

int repl_state_update(const char *path, int (*edit)(struct repl_state *s, void *ctx), void *ctx,
		      struct drover_err *err)
{
	struct repl_state s;
	int fd, r;

	path = repl_state_path(path);
	fd = lock_state(path, err);
	if (fd < 0)
		return fd;
	repl_state_init(&s);
	r = repl_state_load(path, &s, err);
	if (r == 0) {
		r = edit(&s, ctx);
		if (r < 0)
			drover_fail(err, r, "replication state: %s", strerror(-r));
	}
	if (r == 0)
		r = repl_state_save(path, &s, err);
	repl_state_free(&s);
	close(fd); /* releases the lock */
	return r;
}
