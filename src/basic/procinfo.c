/* SPDX-License-Identifier: MIT */
#include "procinfo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util.h"

/* The number after `key` in the text file at path (first match), or -errno. */
static long long proc_field(const char *path, const char *key, int base)
{
	size_t klen = strlen(key);
	char line[256];
	long long v = -ENOENT;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) == 0) {
			v = strtoll(line + klen, NULL, base);
			break;
		}
	}
	fclose(f);
	return v;
}

pid_t proc_tgid(pid_t tid)
{
	char path[64];
	long long v;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	v = proc_field(path, "Tgid:", 10);
	return v > 0 ? (pid_t)v : tid;
}

/* Is descriptor `name` of pid open on (dev, ino), for writing? */
static bool fd_writes_file(int fddir, pid_t pid, const char *name, dev_t dev, uint64_t ino)
{
	struct statx stx;
	char path[64 + sizeof(((struct dirent *)0)->d_name)];
	long long flags;

	/*
	 * AT_STATX_DONT_SYNC: a FUSE file system (ours among them) answers
	 * from what the kernel holds, without a request to its daemon.
	 */
	if (statx(fddir, name, AT_STATX_DONT_SYNC, STATX_INO, &stx) < 0)
		return false;
	if (stx.stx_ino != ino || makedev(stx.stx_dev_major, stx.stx_dev_minor) != dev)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", (int)pid, name);
	flags = proc_field(path, "flags:", 8);
	return flags >= 0 && (flags & O_ACCMODE) != O_RDONLY;
}

int proc_holds_for_writing(pid_t pid, dev_t dev, uint64_t ino)
{
	char path[64];
	struct dirent *de;
	int fddir, found = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	fddir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fddir < 0)
		return -errno;
	dir = fdopendir(fddir);
	if (!dir) {
		int r = -errno;

		close(fddir);
		return r;
	}
	while (!found && (de = readdir(dir)))
		if (de->d_name[0] != '.' && fd_writes_file(fddir, pid, de->d_name, dev, ino))
			found = 1;
	closedir(dir);
	return found;
}
