/* SPDX-License-Identifier: MIT */
#include "btrfs_sub.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define FIRST_FREE_OBJECTID 256 /* the inode of a subvolume's top directory */

bool btrfs_on_btrfs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BTRFS_SUPER_MAGIC;
}

bool btrfs_is_subvol(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_ino == FIRST_FREE_OBJECTID &&
	       btrfs_on_btrfs(path);
}

static int open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	return fd < 0 ? -errno : fd;
}

static int check_name(const char *name, size_t max)
{
	if (!name[0] || strchr(name, '/') || strlen(name) > max || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return -EINVAL;
	return 0;
}

int btrfs_sub_create(const char *dir, const char *name)
{
	struct btrfs_ioctl_vol_args args;
	int fd, r = check_name(name, BTRFS_PATH_NAME_MAX);

	if (r < 0)
		return r;
	fd = open_dir(dir);
	if (fd < 0)
		return fd;
	memset(&args, 0, sizeof(args));
	memcpy(args.name, name, strlen(name));
	r = ioctl(fd, BTRFS_IOC_SUBVOL_CREATE, &args) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int btrfs_sub_snapshot(const char *src, const char *dir, const char *name, bool readonly)
{
	struct btrfs_ioctl_vol_args_v2 args;
	int sfd, dfd, r = check_name(name, BTRFS_SUBVOL_NAME_MAX);

	if (r < 0)
		return r;
	sfd = open_dir(src);
	if (sfd < 0)
		return sfd;
	dfd = open_dir(dir);
	if (dfd < 0) {
		close(sfd);
		return dfd;
	}
	memset(&args, 0, sizeof(args));
	args.fd = sfd;
	args.flags = readonly ? BTRFS_SUBVOL_RDONLY : 0;
	memcpy(args.name, name, strlen(name));
	r = ioctl(dfd, BTRFS_IOC_SNAP_CREATE_V2, &args) < 0 ? -errno : 0;
	close(dfd);
	close(sfd);
	return r;
}

int btrfs_sub_delete(const char *path)
{
	struct btrfs_ioctl_vol_args args;
	char dir[PATH_MAX];
	const char *name;
	char *slash;
	int fd, r;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash || !slash[1])
		return -EINVAL;
	*slash = '\0';
	name = slash + 1;
	if (!btrfs_is_subvol(path))
		return access(path, F_OK) < 0 ? -errno : -ENOTTY;
	fd = open_dir(dir[0] ? dir : "/");
	if (fd < 0)
		return fd;
	memset(&args, 0, sizeof(args));
	memcpy(args.name, name,
	       strlen(name) < BTRFS_PATH_NAME_MAX ? strlen(name) : BTRFS_PATH_NAME_MAX);
	r = ioctl(fd, BTRFS_IOC_SNAP_DESTROY, &args) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int btrfs_sub_info(const char *path, struct btrfs_sub_info *info)
{
	struct btrfs_ioctl_get_subvol_info_args args;
	uint64_t flags = 0;
	int fd, r;

	if (!btrfs_is_subvol(path))
		return access(path, F_OK) < 0 ? -errno : -ENOTTY;
	fd = open_dir(path);
	if (fd < 0)
		return fd;
	memset(&args, 0, sizeof(args));
	r = ioctl(fd, BTRFS_IOC_GET_SUBVOL_INFO, &args) < 0 ? -errno : 0;
	/* the root item's flags are not the ioctl's: ask for those */
	if (r == 0 && ioctl(fd, BTRFS_IOC_SUBVOL_GETFLAGS, &flags) < 0)
		r = -errno;
	close(fd);
	if (r < 0)
		return r;
	memcpy(info->uuid, args.uuid, BTRFS_UUID_LEN);
	memcpy(info->parent_uuid, args.parent_uuid, BTRFS_UUID_LEN);
	memcpy(info->received_uuid, args.received_uuid, BTRFS_UUID_LEN);
	info->otime = (int64_t)args.otime.sec;
	info->otransid = args.otransid;
	info->readonly = (flags & BTRFS_SUBVOL_RDONLY) != 0;
	return 0;
}
