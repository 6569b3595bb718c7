/* SPDX-License-Identifier: MIT */
#include "fusectl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "util.h"

#define FUSECTL_DIR "/sys/fs/fuse/connections"

/* Undo the octal escapes of mountinfo (\040 for a space). */
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

int mountinfo_lookup(const char *mountinfo, const char *dir, char *type, size_t len,
		     unsigned *minor)
{
	FILE *f = fopen(mountinfo, "re");
	char line[4096];

	type[0] = '\0';
	*minor = 0;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], fstype[256];
		const char *sep = strstr(line, " - ");
		unsigned maj, min;

		if (!sep || sscanf(line, "%*s %*s %u:%u %*s %4095s", &maj, &min, mnt) != 3 ||
		    sscanf(sep + 3, "%255s", fstype) != 1)
			continue;
		unescape(mnt);
		if (streq(mnt, dir)) { /* the last one is on top */
			snprintf(type, len, "%s", fstype);
			*minor = min;
		}
	}
	fclose(f);
	return 0;
}

int fusectl_abort(unsigned minor)
{
	char path[128];
	int fd, r = 0;

	snprintf(path, sizeof(path), FUSECTL_DIR "/%u/abort", minor);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* not mounted in this namespace yet; EBUSY: it is, the connection is gone */
		if (mount("fusectl", FUSECTL_DIR, "fusectl", 0, NULL) < 0 && errno != EBUSY)
			return -errno;
		fd = open(path, O_WRONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	if (write(fd, "1", 1) != 1)
		r = -errno;
	close(fd);
	return r;
}

int fusectl_abort_mount(const char *mountinfo, const char *dir)
{
	char type[256];
	unsigned minor;
	int r = mountinfo_lookup(mountinfo, dir, type, sizeof(type), &minor);

	if (r < 0)
		return r;
	if (!str_has_prefix(type, "fuse"))
		return -ENOENT;
	return fusectl_abort(minor);
}
