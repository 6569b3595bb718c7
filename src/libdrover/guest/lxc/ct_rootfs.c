/* SPDX-License-Identifier: MIT */
/*
 * A container's volumes on the host: allocated (a subvolume on btrfs, a
 * raw image with ext4 elsewhere) and made a directory LXC can use (a raw
 * image is loop-mounted under CT_LXC_PATH/CTID/mnt/, once).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/process.h"
#include "basic/util.h"
#include "ct_internal.h"

/* Types whose volumes LXC can use as a directory (a subvolume) or a file (a raw image). */
static bool type_has_subvols(const char *type)
{
	return streq(type, "btrfs") || streq(type, "zfspool");
}

static bool type_has_files(const char *type)
{
	return streq(type, "dir") || streq(type, "btrfs");
}

int ct_rootfs_alloc(const struct storage_env *env, uint32_t ctid, const char *storeid,
		    uint64_t size_gb, char *volid, size_t len, struct drover_err *err)
{
	char path[4096], out[2048];
	struct storage s;
	bool subvol;
	int r = storage_open(env, storeid, &s, err);

	if (r < 0)
		return r;
	subvol = type_has_subvols(s.props.type);
	if (!subvol && !type_has_files(s.props.type))
		r = drover_fail(err, -ENOTSUP,
				"storage '%s' (%s) cannot hold a container's root here "
				"(btrfs, zfspool or dir)",
				storeid, s.props.type);
	storage_close(&s);
	if (r < 0)
		return r;
	/* without btrfs quotas a subvolume has no size limit: the size is recorded only */
	r = storage_alloc(env, storeid, ctid, NULL,
			  subvol ? STORAGE_VOLFORMAT_SUBVOL : STORAGE_VOLFORMAT_RAW, true,
			  subvol ? 0 : size_gb << 30, volid, len, err);
	if (r < 0 || subvol)
		return r;
	r = storage_volume_path(env, volid, NULL, path, sizeof(path), err);
	if (r == 0) {
		char *argv[] = { "mkfs.ext4", "-q", "-F", path, NULL };
		int st = process_run(argv, out, sizeof(out), NULL, NULL);

		if (st != 0)
			r = drover_fail_run(err, st, out, "mkfs.ext4 %s", path);
	}
	if (r < 0) {
		struct drover_err e2 = { "" };

		storage_free_volume(env, volid, &e2);
	}
	return r;
}

/* Is dir a mount point (another device than its parent)? */
static bool is_mountpoint(const char *dir)
{
	char parent[4200];
	struct stat a, b;

	snprintf(parent, sizeof(parent), "%s/..", dir);
	return stat(dir, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

static int mount_image(uint32_t ctid, const char *image, const char *volid, char *path, size_t len,
		       struct drover_err *err)
{
	char sub[300], out[2048];
	const char *volname = strchr(volid, ':') + 1;
	size_t i;
	int r, st;

	/* one directory per volume: "local:100/vm-100-disk-0.raw" -> mnt/100_vm-100-disk-0.raw */
	snprintf(sub, sizeof(sub), "mnt/%s", volname);
	for (i = 4; sub[i]; i++)
		if (sub[i] == '/')
			sub[i] = '_';
	r = ct_dir(ctid, sub, path, len);
	if (r == 0)
		r = mkdir_p(path, 0700);
	if (r < 0)
		return drover_fail(err, r, "%s: %s", path, strerror(-r));
	if (is_mountpoint(path))
		return 0;
	{
		char *argv[] = { "mount", "-o", "loop", (char *)image, path, NULL };

		st = process_run(argv, out, sizeof(out), NULL, NULL);
	}
	return st == 0 ? 0 : drover_fail_run(err, st, out, "mounting %s", image);
}

int ct_volume_dir(const struct storage_env *env, uint32_t ctid, const char *volid, char *path,
		  size_t len, struct drover_err *err)
{
	struct storage_vol v;
	char file[4096];
	enum storage_volformat fmt;
	unsigned owner;
	int r = storage_vol_open(env, volid, &v, err);

	if (r < 0)
		return r;
	owner = v.name.vmid;
	fmt = v.name.format;
	storage_vol_close(&v);
	if (owner != ctid)
		return drover_fail(err, -EPERM, "volume %s belongs to VMID %u, not to %" PRIu32,
				   volid, owner, ctid);
	r = storage_volume_path(env, volid, NULL, fmt == STORAGE_VOLFORMAT_SUBVOL ? path : file,
				fmt == STORAGE_VOLFORMAT_SUBVOL ? len : sizeof(file), err);
	if (r < 0 || fmt == STORAGE_VOLFORMAT_SUBVOL)
		return r;
	if (fmt != STORAGE_VOLFORMAT_RAW)
		return drover_fail(err, -ENOTSUP, "volume %s: a container needs a raw image",
				   volid);
	return mount_image(ctid, file, volid, path, len, err);
}

bool ct_leftovers(uint32_t ctid)
{
	char mnt[4096];
	struct dirent *e;
	bool any = false;
	DIR *d;

	if (ct_dir(ctid, "mnt", mnt, sizeof(mnt)) < 0 || !(d = opendir(mnt)))
		return false;
	while (!any && (e = readdir(d)))
		any = e->d_name[0] != '.';
	closedir(d);
	return any;
}

void ct_volumes_release(uint32_t ctid)
{
	char mnt[4096], p[4400];
	struct dirent *e;
	DIR *d;

	if (ct_dir(ctid, "mnt", mnt, sizeof(mnt)) < 0 || !(d = opendir(mnt)))
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", mnt, e->d_name);
		/* the loop device goes with the mount (mount -o loop sets autoclear) */
		if (is_mountpoint(p))
			umount2(p, 0);
		rmdir(p);
	}
	closedir(d);
}
