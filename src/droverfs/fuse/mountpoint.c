/* SPDX-License-Identifier: MIT */
#include "mountpoint.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fusectl.h"
#include "basic/log.h"
#include "basic/util.h"

#define PROBE_MS 3000

static int clear_stale(const char *dir)
{
	if (umount2(dir, MNT_DETACH) < 0)
		return -errno;
	log_notice("%s: cleared a stale mount left by an earlier droverfs", dir);
	return 0;
}

/* Wait up to ms for the child to end; 1 with *status, or 0. */
static int wait_child(pid_t pid, unsigned ms, int *status)
{
	for (unsigned i = 0; i <= ms / 50; i++) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return 1;
		usleep(50 * 1000);
	}
	return 0;
}

/*
 * Is the droverfs mounted at dir alive? statfs always asks its daemon, so
 * ask from a child: a daemon that is gone answers ENOTCONN, one whose
 * killed process still holds the connection (fusectl.h) never answers.
 * 1: alive, 0: gone, -ETIMEDOUT: no answer (*child still waits then).
 */
static int probe_daemon(const char *dir, pid_t *child)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct statvfs sv;

		_exit(statvfs(dir, &sv) == 0 ? 0 : errno == ENOTCONN ? 1 : 2);
	}
	*child = pid;
	if (!wait_child(pid, PROBE_MS, &status))
		return -ETIMEDOUT;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 1 : 0;
}

static int clear_droverfs(const char *dir, unsigned minor)
{
	pid_t child = 0;
	int status, r = probe_daemon(dir, &child);

	if (r == 1) {
		log_err("%s: another droverfs is mounted there (with another database?)", dir);
		return -EBUSY;
	}
	if (r == -ETIMEDOUT) {
		log_warn("%s: the droverfs mounted there does not answer; aborting its connection",
			 dir);
		r = fusectl_abort(minor);
		if (r < 0)
			log_err("%s: cannot abort FUSE connection %u: %s", dir, minor,
				strerror(-r));
		/* aborted, its statfs fails at once; if not, leave it (it waits in the kernel) */
		wait_child(child, PROBE_MS, &status);
	}
	return clear_stale(dir);
}

int cfs_mountpoint_prepare(const char *dir)
{
	char type[256];
	unsigned minor;
	struct stat st;

	/* Look before touching it: a stat() on a hung mount would hang too. */
	mountinfo_lookup("/proc/self/mountinfo", dir, type, sizeof(type), &minor);
	if (str_has_prefix(type, "fuse.droverfs"))
		return clear_droverfs(dir, minor);
	if (type[0]) {
		log_err("%s: a file system (%s) is already mounted there", dir, type);
		return -EBUSY;
	}
	if (stat(dir, &st) < 0) {
		/* A droverfs that was killed left its mount behind (in another namespace). */
		if (errno == ENOTCONN)
			return clear_stale(dir);
		if (errno == ENOENT)
			return mkdir_p(dir, 0755);
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_err("mount point %s: %s", dir, strerror(ENOTDIR));
		return -ENOTDIR;
	}
	return 0;
}
