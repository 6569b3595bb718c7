/* SPDX-License-Identifier: MIT */
#include "fusectl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "lib/util.h"
#include "mountpoint.h"

#define FUSECTL_DIR "/sys/fs/fuse/connections"

int cfs_fusectl_abort(unsigned minor)
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

int cfs_fusectl_abort_mount(const char *dir)
{
	char type[256];
	unsigned minor;
	int r = cfs_mount_lookup(dir, type, sizeof(type), &minor);

	if (r < 0)
		return r;
	if (!str_has_prefix(type, "fuse"))
		return -ENOENT;
	return cfs_fusectl_abort(minor);
}
