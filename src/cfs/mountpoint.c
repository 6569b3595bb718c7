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

#include "lib/log.h"
#include "lib/util.h"

static int mkdir_p(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Undo the octal escapes of /proc/self/mountinfo (\040 for a space). */
static void unescape(char *s)
{
	char *o = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] && s[3]) {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

/* The type of the file system mounted exactly at dir, or "" if none. */
static void mounted_type(const char *dir, char *type, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];

	type[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], fstype[256];
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep + 3, "%255s", fstype) != 1)
			continue;
		unescape(mnt);
		if (streq(mnt, dir))
			snprintf(type, len, "%s", fstype); /* the last one is on top */
	}
	fclose(f);
}

static int clear_stale(const char *dir)
{
	if (umount2(dir, MNT_DETACH) < 0)
		return -errno;
	log_notice("%s: cleared a stale mount left by an earlier droverfs", dir);
	return 0;
}

int cfs_mountpoint_prepare(const char *dir)
{
	char type[256];
	struct statvfs sv;
	struct stat st;

	if (stat(dir, &st) < 0) {
		/* A droverfs that was killed left its mount behind. */
		if (errno == ENOTCONN)
			return clear_stale(dir);
		if (errno == ENOENT)
			return mkdir_p(dir);
		return -errno;
	}
	mounted_type(dir, type, sizeof(type));
	/*
	 * stat() may be answered from the kernel's cache even when the daemon
	 * behind the mount is gone; statfs always asks it.
	 */
	if (str_has_prefix(type, "fuse.droverfs") && statvfs(dir, &sv) < 0 && errno == ENOTCONN)
		return clear_stale(dir);
	if (type[0]) {
		log_err("%s: a file system (%s) is already mounted there%s", dir, type,
			str_has_prefix(type, "fuse.droverfs")
				? "; is another droverfs running with another database?"
				: "");
		return -EBUSY;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_err("mount point %s: %s", dir, strerror(ENOTDIR));
		return -ENOTDIR;
	}
	return 0;
}
