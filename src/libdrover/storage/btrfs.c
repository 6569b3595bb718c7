/* SPDX-License-Identifier: MIT */
/*
 * The btrfs storage: one subvolume per volume, Proxmox's layout.
 *
 *   PATH/images/VMID/vm-VMID-disk-N/disk.raw   a VM disk ("VMID/vm-VMID-disk-N.raw")
 *   PATH/images/VMID/subvol-VMID-disk-N/       a container root ("....subvol")
 *   PATH/images/VMID/NAME@SNAP                 a read-only snapshot of NAME
 *
 * Streams are btrfs send streams (incremental with a parent snapshot) or
 * raw+size of a disk. An import is received into a temporary directory,
 * checked (btrfs_stream.c on the way in; received_uuid and read-only
 * after), and only then renamed into place: a volume that is there is whole.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/array.h"
#include "basic/process.h"
#include "basic/spawnio.h"
#include "basic/util.h"
#include "libdrover/format/names.h"
#include "btrfs_stream.h"
#include "btrfs_sub.h"
#include "fsutil.h"
#include "plugin.h"
#include "rawsize.h"
#include "run.h"
#include "volname.h"

#define FREE_NAMES_MAX 1000
#define DISK_FILE "disk.raw"

/* A volume's places: its images directory and its subvolume's name there. */
struct bvol {
	struct storage_volname v;
	char images[PATH_MAX]; /* PATH/images/VMID */
	char sub[PATH_MAX]; /* PATH/images/VMID/NAME */
};

static int bvol_get(struct storage *s, const char *volname, struct bvol *b, struct drover_err *err)
{
	int r = storage_volname_parse(volname, STORAGE_NAMING_FILE, &b->v, err);

	if (r < 0)
		return r;
	if (b->v.content != STORAGE_CONTENT_IMAGES && b->v.content != STORAGE_CONTENT_ROOTDIR)
		return drover_fail(err, -ENOTSUP,
				   "%s: only VM disks and container roots are subvolumes", volname);
	if (b->v.format == STORAGE_VOLFORMAT_QCOW2)
		return drover_fail(err, -ENOTSUP,
				   "%s: btrfs keeps raw disks (snapshots are btrfs's)", volname);
	if (fsutil_images_dir(s->props.path, b->v.vmid, false, b->images, sizeof(b->images)) < 0 ||
	    pathf(b->sub, sizeof(b->sub), "%s/%s", b->images, b->v.name) < 0)
		return drover_fail(err, -ENAMETOOLONG, "%s: path too long", volname);
	return 0;
}

/* images/NAME@SNAP, or images/NAME when snap is NULL */
static void sub_path(const struct bvol *b, const char *snap, char *out, size_t len)
{
	if (snap)
		pathf(out, len, "%s@%s", b->sub, snap);
	else
		pathf(out, len, "%s", b->sub);
}

static int need_volume(const struct bvol *b, const char *volname, struct drover_err *err)
{
	if (btrfs_is_subvol(b->sub))
		return 0;
	return drover_fail(err, -ENOENT, "volume %s does not exist", volname);
}

static int need_snapshot(const struct bvol *b, const char *volname, const char *snap,
			 const char *what, struct drover_err *err)
{
	char path[PATH_MAX];

	sub_path(b, snap, path, sizeof(path));
	if (btrfs_is_subvol(path))
		return 0;
	return drover_fail(err, -ENOENT, "%s '%s' of %s does not exist", what, snap, volname);
}

static int btrfs_open(struct storage *s, struct drover_err *err)
{
	char images[PATH_MAX];
	int r;

	if (access(s->props.path, F_OK) < 0)
		return drover_fail(err, -ENOENT, "path %s does not exist (is the btrfs mounted?)",
				   s->props.path);
	if (!btrfs_on_btrfs(s->props.path))
		return drover_fail(err, -ENOTSUP, "path %s is not on a btrfs file system",
				   s->props.path);
	pathf(images, sizeof(images), "%s/images", s->props.path);
	r = mkdir_p(images, 0755);
	return r < 0 ? drover_fail(err, r, "%s: %s", images, strerror(-r)) : 0;
}

static int btrfs_status(struct storage *s, struct storage_status *st, struct drover_err *err)
{
	return fsutil_status(s->props.path, st, err);
}

/* Is NAME, or any NAME@SNAP, in images? (a name with snapshots left is not free) */
static bool name_taken(const char *images, const char *name)
{
	char path[PATH_MAX];
	size_t n = strlen(name);
	struct dirent *e;
	bool taken = false;
	DIR *d;

	pathf(path, sizeof(path), "%s/%s", images, name);
	if (access(path, F_OK) == 0)
		return true;
	d = opendir(images);
	while (d && !taken && (e = readdir(d)))
		taken = !strncmp(e->d_name, name, n) && e->d_name[n] == '@';
	if (d)
		closedir(d);
	return taken;
}

/* Remove a temporary thing: a subvolume, or a receive directory with subvolumes in it. */
static int remove_tmp(const char *path, void *ctx)
{
	struct dirent *e;
	char sub[PATH_MAX];
	DIR *d;

	(void)ctx;
	if (btrfs_is_subvol(path))
		return btrfs_sub_delete(path);
	d = opendir(path);
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && pathf(sub, sizeof(sub), "%s/%s", path, e->d_name) == 0 &&
		    btrfs_is_subvol(sub))
			btrfs_sub_delete(sub);
	if (d)
		closedir(d);
	return fsutil_rm_rf(path);
}

/* Make the new subvolume under a temporary name, fill it, rename it into place. */
static int create_sub(const char *images, const char *name, enum storage_volformat fmt,
		      uint64_t size, struct drover_err *err)
{
	char tmpname[STORAGE_NAME_MAX + 64], tmp[PATH_MAX], final[PATH_MAX], file[PATH_MAX + 16];
	int fd, r;

	fsutil_tmp_name(name, tmpname, sizeof(tmpname));
	pathf(tmp, sizeof(tmp), "%s/%s", images, tmpname);
	pathf(final, sizeof(final), "%s/%s", images, name);
	r = btrfs_sub_create(images, tmpname);
	if (r < 0)
		return drover_fail(err, r, "creating subvolume %s: %s", tmp, strerror(-r));
	if (fmt == STORAGE_VOLFORMAT_RAW) {
		pathf(file, sizeof(file), "%s/" DISK_FILE, tmp);
		fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
		r = fd < 0 || ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
		if (fd >= 0)
			close(fd);
		if (r < 0)
			drover_fail(err, r, "%s: %s", file, strerror(-r));
	} else if (size) {
		char sz[32];
		char *argv[] = { "btrfs", "qgroup", "limit", sz, tmp, NULL };

		pathf(sz, sizeof(sz), "%llu", (unsigned long long)size);
		r = storage_run(argv, -1, NULL, err);
		if (r < 0)
			drover_fail_prefix(
				err, r,
				"a size for a subvol needs btrfs quotas (btrfs quota enable %s)",
				images);
	}
	if (r == 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) < 0)
		r = errno == EEXIST ? -EEXIST
				    : drover_fail(err, -errno, "renaming %s into place: %s", tmp,
						  strerror(errno));
	if (r < 0)
		btrfs_sub_delete(tmp);
	return r;
}

static int btrfs_alloc(struct storage *s, const struct storage_alloc_req *req, char *volname,
		       size_t len, struct drover_err *err)
{
	const char *prefix = req->format == STORAGE_VOLFORMAT_SUBVOL ? "subvol" : "vm";
	char images[PATH_MAX], name[STORAGE_NAME_MAX];
	int r;

	if (req->format == STORAGE_VOLFORMAT_QCOW2)
		return drover_fail(err, -ENOTSUP, "btrfs keeps raw disks and subvols, not qcow2");
	if (req->format == STORAGE_VOLFORMAT_RAW && req->size == 0)
		return drover_fail(err, -EINVAL, "a raw volume needs a size");
	r = fsutil_images_dir(s->props.path, req->vmid, true, images, sizeof(images));
	if (r < 0)
		return drover_fail(err, r, "%s/images/%u: %s", s->props.path, req->vmid,
				   strerror(-r));
	fsutil_sweep(images, remove_tmp, NULL);
	for (unsigned n = 0; n < FREE_NAMES_MAX; n++) {
		if (req->name)
			pathf(name, sizeof(name), "%s", req->name);
		else
			pathf(name, sizeof(name), "%s-%u-disk-%u", prefix, req->vmid, n);
		r = name_taken(images, name)
			    ? -EEXIST
			    : create_sub(images, name, req->format, req->size, err);
		if (r == -EEXIST && !req->name)
			continue;
		if (r == -EEXIST)
			return drover_fail(err, r, "volume %s exists already", name);
		if (r < 0)
			return r;
		return storage_volname_make(STORAGE_NAMING_FILE, req->vmid, name, req->format,
					    volname, len);
	}
	return drover_fail(err, -ENOSPC, "no free volume name for VMID %u", req->vmid);
}

/* The snapshots of b, by name, sorted by creation (oldest first). */
struct snap_ent {
	char name[STORAGE_SNAPNAME_MAX];
	struct btrfs_sub_info info;
};

static int snap_cmp(const void *a, const void *b)
{
	const struct snap_ent *x = a, *y = b;

	if (x->info.otransid != y->info.otransid)
		return x->info.otransid < y->info.otransid ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int snaps_of(const struct bvol *b, struct snap_ent **out, size_t *n)
{
	size_t len = strlen(b->v.name), cap = 0;
	struct snap_ent *list = NULL;
	struct dirent *e;
	DIR *d = opendir(b->images);

	*n = 0;
	while (d && (e = readdir(d))) {
		char path[PATH_MAX];
		struct snap_ent ent;

		if (strncmp(e->d_name, b->v.name, len) || e->d_name[len] != '@' ||
		    !storage_snapname_valid(e->d_name + len + 1))
			continue;
		pathf(ent.name, sizeof(ent.name), "%s", e->d_name + len + 1);
		pathf(path, sizeof(path), "%s/%s", b->images, e->d_name);
		if (btrfs_sub_info(path, &ent.info) < 0)
			continue;
		if (ARRAY_GROW(list, cap, *n + 1) < 0) {
			free(list);
			closedir(d);
			return -ENOMEM;
		}
		list[(*n)++] = ent;
	}
	if (d)
		closedir(d);
	if (*n)
		qsort(list, *n, sizeof(*list), snap_cmp);
	*out = list;
	return 0;
}

static int btrfs_free(struct storage *s, const char *volname, struct drover_err *err)
{
	struct snap_ent *snaps;
	struct bvol b;
	size_t n;
	int r = bvol_get(s, volname, &b, err);

	if (r < 0 || (r = need_volume(&b, volname, err)) < 0)
		return r;
	if (snaps_of(&b, &snaps, &n) < 0)
		return drover_fail(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n && r == 0; i++) {
		char path[PATH_MAX];

		sub_path(&b, snaps[i].name, path, sizeof(path));
		r = btrfs_sub_delete(path);
		if (r < 0)
			drover_fail(err, r, "deleting snapshot %s: %s", path, strerror(-r));
	}
	free(snaps);
	if (r == 0 && (r = btrfs_sub_delete(b.sub)) < 0)
		drover_fail(err, r, "deleting subvolume %s: %s", b.sub, strerror(-r));
	if (r == 0)
		rmdir(b.images); /* only when empty */
	return r;
}

static int fill_info(const struct bvol *b, const char *volname, struct storage_volume *out,
		     struct drover_err *err)
{
	char file[PATH_MAX + 16];
	struct stat st;

	memset(out, 0, sizeof(*out));
	pathf(out->volname, sizeof(out->volname), "%s", volname);
	out->vmid = b->v.vmid;
	out->content = b->v.content;
	out->format = b->v.format;
	if (b->v.format == STORAGE_VOLFORMAT_RAW) {
		pathf(file, sizeof(file), "%s/" DISK_FILE, b->sub);
		if (stat(file, &st) < 0)
			return drover_fail(err, -errno, "%s: %s", file, strerror(errno));
		out->size = (uint64_t)st.st_size;
		out->used = (uint64_t)st.st_blocks * 512;
	}
	return 0;
}

static int btrfs_info(struct storage *s, const char *volname, struct storage_volume *out,
		      struct drover_err *err)
{
	struct bvol b;
	int r = bvol_get(s, volname, &b, err);

	if (r < 0 || (r = need_volume(&b, volname, err)) < 0)
		return r;
	return fill_info(&b, volname, out, err);
}

static int list_add(struct storage_volume **v, size_t *n, size_t *cap,
		    const struct storage_volume *one)
{
	if (ARRAY_GROW(*v, *cap, *n + 1) < 0)
		return -ENOMEM;
	(*v)[(*n)++] = *one;
	return 0;
}

/* The volumes in images/VMID: subvolumes whose name is a volume name, no snapshots. */
static int list_vmid(struct storage *s, const char *vmid_dir, struct storage_volume **v, size_t *n,
		     size_t *cap)
{
	char images[PATH_MAX], volname[STORAGE_VOLNAME_MAX];
	struct dirent *e;
	int r = 0;
	DIR *d;

	pathf(images, sizeof(images), "%s/images/%s", s->props.path, vmid_dir);
	d = opendir(images);
	while (d && r == 0 && (e = readdir(d))) {
		struct storage_volume info;
		struct bvol b;
		const char *ext = str_has_prefix(e->d_name, "subvol-") ? "subvol" : "raw";

		if (e->d_name[0] == '.' || strchr(e->d_name, '@') ||
		    pathf(volname, sizeof(volname), "%s/%s.%s", vmid_dir, e->d_name, ext) < 0 ||
		    bvol_get(s, volname, &b, NULL) < 0 || !btrfs_is_subvol(b.sub) ||
		    fill_info(&b, volname, &info, NULL) < 0)
			continue;
		r = list_add(v, n, cap, &info);
	}
	if (d)
		closedir(d);
	return r;
}

static int btrfs_list(struct storage *s, unsigned vmid, struct storage_volume **vols, size_t *n,
		      struct drover_err *err)
{
	char images[PATH_MAX];
	size_t cap = 0;
	struct dirent *e;
	int r = 0;
	DIR *d;

	*vols = NULL;
	*n = 0;
	pathf(images, sizeof(images), "%s/images", s->props.path);
	d = opendir(images);
	while (d && r == 0 && (e = readdir(d))) {
		uint32_t id;

		if (vmid_parse_n(e->d_name, strlen(e->d_name), &id) == 0 && (!vmid || id == vmid))
			r = list_vmid(s, e->d_name, vols, n, &cap);
	}
	if (d)
		closedir(d);
	if (r < 0) {
		free(*vols);
		*vols = NULL;
		*n = 0;
		return drover_fail(err, r, "listing %s: %s", images, strerror(-r));
	}
	return 0;
}

static int btrfs_path(struct storage *s, const char *volname, const char *snap, char *out,
		      size_t len, struct drover_err *err)
{
	struct bvol b;
	char path[PATH_MAX];
	int r = bvol_get(s, volname, &b, err);

	if (r < 0)
		return r;
	r = snap ? need_snapshot(&b, volname, snap, "snapshot", err)
		 : need_volume(&b, volname, err);
	if (r < 0)
		return r;
	sub_path(&b, snap, path, sizeof(path));
	if (pathf(out, len, "%s%s", path,
		  b.v.format == STORAGE_VOLFORMAT_RAW ? "/" DISK_FILE : "") < 0)
		return drover_fail(err, -ENAMETOOLONG, "%s: path too long", volname);
	return 0;
}

static int btrfs_resize(struct storage *s, const char *volname, uint64_t size,
			struct drover_err *err)
{
	struct storage_volume info;
	char file[PATH_MAX + 16], sz[32];
	struct bvol b;
	int r = bvol_get(s, volname, &b, err);

	if (r < 0 || (r = need_volume(&b, volname, err)) < 0)
		return r;
	if (b.v.format == STORAGE_VOLFORMAT_SUBVOL) {
		char *argv[] = { "btrfs", "qgroup", "limit", sz, b.sub, NULL };

		pathf(sz, sizeof(sz), "%llu", (unsigned long long)size);
		return storage_run(argv, -1, NULL, err);
	}
	r = fill_info(&b, volname, &info, err);
	if (r < 0)
		return r;
	if (size < info.size)
		return drover_fail(err, -EINVAL, "shrinking %s from %llu to %llu bytes is refused",
				   volname, (unsigned long long)info.size,
				   (unsigned long long)size);
	pathf(file, sizeof(file), "%s/" DISK_FILE, b.sub);
	if (truncate(file, (off_t)size) < 0)
		return drover_fail(err, -errno, "%s: %s", file, strerror(errno));
	return 0;
}

static int btrfs_snapshot_create(struct storage *s, const char *volname, const char *snap,
				 struct drover_err *err)
{
	char name[STORAGE_NAME_MAX + STORAGE_SNAPNAME_MAX + 2];
	struct bvol b;
	int r = bvol_get(s, volname, &b, err);

	if (r < 0 || (r = need_volume(&b, volname, err)) < 0)
		return r;
	pathf(name, sizeof(name), "%s@%s", b.v.name, snap);
	r = btrfs_sub_snapshot(b.sub, b.images, name, true);
	if (r == -EEXIST)
		return drover_fail(err, r, "snapshot '%s' of %s exists already", snap, volname);
	return r < 0 ? drover_fail(err, r, "btrfs snapshot of %s: %s", b.sub, strerror(-r)) : 0;
}

static int btrfs_snapshot_delete(struct storage *s, const char *volname, const char *snap,
				 struct drover_err *err)
{
	char path[PATH_MAX];
	struct bvol b;
	int r = bvol_get(s, volname, &b, err);

	if (r < 0 || (r = need_snapshot(&b, volname, snap, "snapshot", err)) < 0)
		return r;
	sub_path(&b, snap, path, sizeof(path));
	r = btrfs_sub_delete(path);
	return r < 0 ? drover_fail(err, r, "deleting %s: %s", path, strerror(-r)) : 0;
}

static int btrfs_snapshot_rollback(struct storage *s, const char *volname, const char *snap,
				   struct drover_err *err)
{
	char src[PATH_MAX], tmpname[STORAGE_NAME_MAX + 64], tmp[PATH_MAX];
	struct snap_ent *snaps;
	struct bvol b;
	size_t n, at = 0;
	int r = bvol_get(s, volname, &b, err);

	if (r < 0 || (r = need_volume(&b, volname, err)) < 0 ||
	    (r = need_snapshot(&b, volname, snap, "snapshot", err)) < 0)
		return r;
	if (snaps_of(&b, &snaps, &n) < 0)
		return drover_fail(err, -ENOMEM, "out of memory");
	while (at < n && !streq(snaps[at].name, snap))
		at++;
	if (at + 1 < n)
		r = drover_fail(
			err, -EBUSY,
			"snapshot '%s' is newer than '%s': delete it first (a rollback goes to the latest snapshot only)",
			snaps[n - 1].name, snap);
	free(snaps);
	if (r < 0)
		return r;
	/* a writable copy of the snapshot, swapped with the volume in one step */
	sub_path(&b, snap, src, sizeof(src));
	fsutil_tmp_name(b.v.name, tmpname, sizeof(tmpname));
	pathf(tmp, sizeof(tmp), "%s/%s", b.images, tmpname);
	r = btrfs_sub_snapshot(src, b.images, tmpname, false);
	if (r < 0)
		return drover_fail(err, r, "btrfs snapshot of %s: %s", src, strerror(-r));
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, b.sub, RENAME_EXCHANGE) < 0) {
		r = drover_fail(err, -errno, "swapping %s with %s: %s", tmp, b.sub,
				strerror(errno));
		btrfs_sub_delete(tmp);
		return r;
	}
	/* tmp now holds what the volume was */
	r = btrfs_sub_delete(tmp);
	return r < 0 ? drover_fail(err, r, "deleting the old %s (now %s): %s", b.sub, tmp,
				   strerror(-r))
		     : 0;
}

static int btrfs_snapshot_list(struct storage *s, const char *volname,
			       struct storage_snapshot **out, size_t *n, struct drover_err *err)
{
	struct storage_snapshot *list;
	struct snap_ent *snaps;
	struct bvol b;
	int r = bvol_get(s, volname, &b, err);

	*out = NULL;
	*n = 0;
	if (r < 0 || (r = need_volume(&b, volname, err)) < 0)
		return r;
	if (snaps_of(&b, &snaps, n) < 0 || !(list = calloc(*n + 1, sizeof(*list)))) {
		free(snaps);
		return drover_fail(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < *n; i++) {
		pathf(list[i].name, sizeof(list[i].name), "%s", snaps[i].name);
		list[i].ctime = snaps[i].info.otime;
		btrfs_uuid_format(snaps[i].info.uuid, list[i].id, sizeof(list[i].id));
		if (!btrfs_uuid_null(snaps[i].info.received_uuid))
			btrfs_uuid_format(snaps[i].info.received_uuid, list[i].origin_id,
					  sizeof(list[i].origin_id));
	}
	free(snaps);
	*out = list;
	return 0;
}

static unsigned btrfs_export_formats(struct storage *s, const char *volname,
				     const struct storage_export_opts *o)
{
	struct bvol b;
	unsigned mask = 0;

	if (bvol_get(s, volname, &b, NULL) < 0 || o->with_snapshots)
		return 0;
	if (o->snapshot)
		mask |= 1u << STORAGE_FORMAT_BTRFS;
	if (b.v.format == STORAGE_VOLFORMAT_RAW && !o->base)
		mask |= 1u << STORAGE_FORMAT_RAW_SIZE;
	return mask;
}

static unsigned btrfs_import_formats(struct storage *s, const char *volname,
				     const struct storage_import_opts *o)
{
	struct bvol b;
	unsigned mask = 1u << STORAGE_FORMAT_BTRFS;

	if (bvol_get(s, volname, &b, NULL) < 0 || o->with_snapshots)
		return 0;
	if (b.v.format == STORAGE_VOLFORMAT_RAW && !o->base)
		mask |= 1u << STORAGE_FORMAT_RAW_SIZE;
	return mask;
}

static int export_raw(const struct bvol *b, const char *volname, const char *snap, int fd,
		      struct drover_err *err)
{
	char sub[PATH_MAX], file[PATH_MAX + 16];
	struct stat st;
	int src, r;

	sub_path(b, snap, sub, sizeof(sub));
	pathf(file, sizeof(file), "%s/" DISK_FILE, sub);
	src = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (src < 0)
		return drover_fail(err, -errno, "%s: %s", file, strerror(errno));
	r = fstat(src, &st) < 0 ? drover_fail(err, -errno, "%s: %s", file, strerror(errno))
				: rawsize_export(src, (uint64_t)st.st_size, fd, err);
	close(src);
	(void)volname;
	return r;
}

static int export_btrfs(const struct bvol *b, const char *volname,
			const struct storage_export_opts *o, int fd, struct drover_err *err)
{
	char snap[PATH_MAX], base[PATH_MAX];
	char *argv[8];
	struct btrfs_sub_info info;
	int n = 0, r;

	r = need_snapshot(b, volname, o->snapshot, "snapshot", err);
	if (r == 0 && o->base)
		r = need_snapshot(b, volname, o->base, "base snapshot", err);
	if (r < 0)
		return r;
	sub_path(b, o->snapshot, snap, sizeof(snap));
	if (btrfs_sub_info(snap, &info) < 0 || !info.readonly)
		return drover_fail(err, -EINVAL, "%s is not a read-only snapshot", snap);
	argv[n++] = "btrfs";
	argv[n++] = "send";
	argv[n++] = "-q";
	if (o->base) {
		sub_path(b, o->base, base, sizeof(base));
		argv[n++] = "-p";
		argv[n++] = base;
	}
	argv[n++] = snap;
	argv[n] = NULL;
	return storage_run_to(argv, fd, err);
}

static int btrfs_export(struct storage *s, const char *volname, enum storage_format fmt,
			const struct storage_export_opts *o, int fd,
			const struct drover_reporter *rep, struct drover_err *err)
{
	struct bvol b;
	int r = bvol_get(s, volname, &b, err);

	(void)rep;
	if (r < 0 || (r = need_volume(&b, volname, err)) < 0)
		return r;
	if (fmt == STORAGE_FORMAT_BTRFS)
		return export_btrfs(&b, volname, o, fd, err);
	if (fmt == STORAGE_FORMAT_RAW_SIZE && b.v.format == STORAGE_VOLFORMAT_RAW) {
		if (o->snapshot &&
		    (r = need_snapshot(&b, volname, o->snapshot, "snapshot", err)) < 0)
			return r;
		return export_raw(&b, volname, o->snapshot, fd, err);
	}
	return drover_fail(err, -ENOTSUP, "a btrfs storage does not export this format");
}

/* The name an import goes to: the volume's, or a free one with allow_rename. */
static int pick_name(const struct bvol *b, bool allow_rename, const char *storeid, char *name,
		     size_t len, struct drover_err *err)
{
	const char *prefix = b->v.format == STORAGE_VOLFORMAT_SUBVOL ? "subvol" : "vm";

	pathf(name, len, "%s", b->v.name);
	if (!name_taken(b->images, name))
		return 0;
	if (!allow_rename)
		return drover_fail(
			err, -EEXIST,
			"volume %u/%s exists on %s (give --allow-rename to import under a free name)",
			b->v.vmid, b->v.name, storeid);
	for (unsigned n = 0; n < FREE_NAMES_MAX; n++) {
		pathf(name, len, "%s-%u-disk-%u", prefix, b->v.vmid, n);
		if (!name_taken(b->images, name))
			return 0;
	}
	return drover_fail(err, -ENOSPC, "no free volume name for VMID %u", b->v.vmid);
}

/* A raw+size stream into a new subvolume with disk.raw. */
static int import_raw(struct storage *s, const struct bvol *b, const struct storage_import_opts *o,
		      int fd, char *name, size_t len, struct drover_err *err)
{
	char tmpname[STORAGE_NAME_MAX + 64], tmp[PATH_MAX], file[PATH_MAX + 16], final[PATH_MAX];
	uint64_t size;
	int dst, r = pick_name(b, o->allow_rename, s->props.id, name, len, err);

	if (r < 0 || (r = rawsize_read_header(fd, &size, err)) < 0)
		return r;
	fsutil_tmp_name(name, tmpname, sizeof(tmpname));
	pathf(tmp, sizeof(tmp), "%s/%s", b->images, tmpname);
	r = btrfs_sub_create(b->images, tmpname);
	if (r < 0)
		return drover_fail(err, r, "creating subvolume %s: %s", tmp, strerror(-r));
	pathf(file, sizeof(file), "%s/" DISK_FILE, tmp);
	dst = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	r = dst < 0 || ftruncate(dst, (off_t)size) < 0
		    ? drover_fail(err, -errno, "%s: %s", file, strerror(errno))
		    : 0;
	if (r == 0)
		r = rawsize_import_data(fd, size, dst, err);
	if (r == 0 && fdatasync(dst) < 0)
		r = drover_fail(err, -errno, "%s: %s", file, strerror(errno));
	if (dst >= 0)
		close(dst);
	while (r == 0) {
		pathf(final, sizeof(final), "%s/%s", b->images, name);
		if (!name_taken(b->images, name) &&
		    renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) == 0)
			break;
		if (!o->allow_rename)
			r = drover_fail(err, -EEXIST, "volume %s was made meanwhile", final);
		else
			r = pick_name(b, true, s->props.id, name, len, err);
	}
	if (r < 0)
		btrfs_sub_delete(tmp);
	return r;
}

/* Run `btrfs receive` into dir, feeding it fd through the stream check. */
static int receive(const char *dir, int fd, struct btrfs_stream_check *check,
		   struct drover_err *err)
{
	char *argv[] = { "btrfs", "receive", "-q", "-e", (char *)dir, NULL };
	struct drover_err ferr = { "" };
	int pipefd[2], errfd, status, fr, r = 0;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return drover_fail(err, -errno, "pipe: %s", strerror(errno));
	fcntl(pipefd[1], F_SETPIPE_SZ, 1 << 20);
	errfd = spawn_errfd();
	pid = errfd < 0 ? errfd : spawn_fds(argv, pipefd[0], -1, errfd);
	close(pipefd[0]);
	if (pid < 0) {
		close(pipefd[1]);
		if (errfd >= 0)
			close(errfd);
		return drover_fail(err, (int)pid, "btrfs receive: %s", strerror((int)-pid));
	}
	fr = btrfs_stream_filter(fd, pipefd[1], check, &ferr);
	close(pipefd[1]);
	status = process_wait(pid);
	/* the stream's fault first (btrfs receive then only saw it cut short), unless
	 * the filter stopped because btrfs receive had gone (a full disk, say) */
	if (fr < 0 && !(check->out_failed && status != 0))
		r = drover_fail(err, fr, "%s", ferr.text);
	else if (status != 0)
		r = storage_run_fail(err, status < 0 ? status : -EIO, argv, status, errfd);
	close(errfd);
	return r;
}

/* After the receive: path must be a read-only, received subvolume. */
static int check_received(const char *path, struct drover_err *err)
{
	struct btrfs_sub_info info;

	if (btrfs_sub_info(path, &info) < 0 || !info.readonly ||
	    btrfs_uuid_null(info.received_uuid))
		return drover_fail(err, -EBADMSG,
				   "btrfs receive did not leave a read-only received subvolume %s",
				   path);
	return 0;
}

/*
 * Put the received snapshot in place as NAME@SNAP and make NAME a writable
 * copy of it (replacing NAME in one step if it exists: an incremental).
 */
static int place_received(const struct bvol *b, const char *recv, const char *snap, char *name,
			  size_t len, const struct storage_import_opts *o, const char *storeid,
			  struct drover_err *err)
{
	char snapname[STORAGE_NAME_MAX + STORAGE_SNAPNAME_MAX + 2], snappath[PATH_MAX];
	char tmpname[STORAGE_NAME_MAX + 64], tmp[PATH_MAX], final[PATH_MAX];
	bool exists;
	int r;

	for (;;) {
		pathf(snapname, sizeof(snapname), "%s@%s", name, snap);
		pathf(snappath, sizeof(snappath), "%s/%s", b->images, snapname);
		if (renameat2(AT_FDCWD, recv, AT_FDCWD, snappath, RENAME_NOREPLACE) == 0)
			break;
		if (errno != EEXIST)
			return drover_fail(err, -errno, "renaming %s into place: %s", recv,
					   strerror(errno));
		if (o->base || !o->allow_rename)
			return drover_fail(err, -EEXIST,
					   "snapshot '%s' of %u/%s exists already on %s", snap,
					   b->v.vmid, name, storeid);
		r = pick_name(b, true, storeid, name, len, err);
		if (r < 0)
			return r;
	}
	fsutil_tmp_name(name, tmpname, sizeof(tmpname));
	pathf(tmp, sizeof(tmp), "%s/%s", b->images, tmpname);
	pathf(final, sizeof(final), "%s/%s", b->images, name);
	r = btrfs_sub_snapshot(snappath, b->images, tmpname, false);
	if (r < 0) {
		drover_fail(err, r, "writable snapshot of %s: %s", snappath, strerror(-r));
		goto undo;
	}
	exists = btrfs_is_subvol(final);
	if (exists && !o->base) {
		r = drover_fail(err, -EEXIST, "volume %s was made meanwhile", final);
	} else if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final,
			     exists ? RENAME_EXCHANGE : RENAME_NOREPLACE) < 0) {
		r = drover_fail(err, -errno, "renaming %s into place: %s", tmp, strerror(errno));
	} else if (exists) {
		/* tmp is the volume as it was before this increment */
		btrfs_sub_delete(tmp);
		return 0;
	} else {
		return 0;
	}
	btrfs_sub_delete(tmp);
undo:
	btrfs_sub_delete(snappath);
	return r;
}

/*
 * Commit the file system the volume is on (syncfs): "imported" means on disk,
 * the data and the renames that put it in place (one btrfs transaction).
 */
static int sync_images(const struct bvol *b, struct drover_err *err)
{
	int fd = open(b->images, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0 || syncfs(fd) < 0)
		r = drover_fail(err, -errno, "syncing %s: %s", b->images, strerror(errno));
	if (fd >= 0)
		close(fd);
	return r;
}

static int import_btrfs(struct storage *s, const struct bvol *b,
			const struct storage_import_opts *o, int fd, char *name, size_t len,
			const struct drover_reporter *rep, struct drover_err *err)
{
	struct btrfs_stream_check check = { .incremental = o->base != NULL,
					    .snapshot = o->snapshot };
	char tmpname[STORAGE_NAME_MAX + 64], recv[PATH_MAX];
	const char *snap;
	int r;

	snprintf(name, len, "%s", b->v.name);
	if (o->base) {
		char base[PATH_MAX];
		struct btrfs_sub_info info;

		sub_path(b, o->base, base, sizeof(base));
		if (btrfs_sub_info(base, &info) < 0)
			return drover_fail(err, -ENOENT,
					   "base snapshot '%s' of %u/%s.%s does not exist on %s",
					   o->base, b->v.vmid, b->v.name,
					   storage_volformat_name(b->v.format), s->props.id);
		/* the sender names its parent by the UUID it was received from, or its own */
		if (!btrfs_uuid_null(info.received_uuid))
			memcpy(check.parent_ids[check.nparent_ids++], info.received_uuid,
			       BTRFS_UUID_LEN);
		memcpy(check.parent_ids[check.nparent_ids++], info.uuid, BTRFS_UUID_LEN);
	} else {
		r = pick_name(b, o->allow_rename, s->props.id, name, len, err);
		if (r < 0)
			return r;
	}
	if (o->snapshot) {
		char have[PATH_MAX];

		/* refused before a byte is received, not after */
		pathf(have, sizeof(have), "%s/%s@%s", b->images, name, o->snapshot);
		if (access(have, F_OK) == 0)
			return drover_fail(err, -EEXIST,
					   "snapshot '%s' of %u/%s exists already on %s",
					   o->snapshot, b->v.vmid, name, s->props.id);
	}
	/* received under a temporary name beside its final place, renamed when whole */
	fsutil_tmp_name(name, tmpname, sizeof(tmpname));
	pathf(recv, sizeof(recv), "%s/%s", b->images, tmpname);
	check.rename_to = tmpname;
	r = receive(b->images, fd, &check, err);
	if (r == 0)
		r = check_received(recv, err);
	snap = strrchr(check.subvol, '@');
	if (r == 0 && (!snap || !storage_snapname_valid(snap + 1)))
		r = drover_fail(err, -EBADMSG,
				"the stream's snapshot name '%s' is not one drover takes",
				check.subvol);
	if (r == 0)
		r = place_received(b, recv, snap + 1, name, len, o, s->props.id, err);
	if (r == 0)
		r = sync_images(b, err);
	if (r < 0 && access(recv, F_OK) == 0)
		remove_tmp(recv, NULL);
	if (r == 0)
		drover_report_log(rep, "received %s (%llu bytes of btrfs stream)", check.subvol,
				  (unsigned long long)check.bytes);
	return r;
}

static int btrfs_import(struct storage *s, const char *volname, enum storage_format fmt,
			const struct storage_import_opts *o, int fd, char *imported, size_t len,
			const struct drover_reporter *rep, struct drover_err *err)
{
	char name[STORAGE_NAME_MAX];
	struct bvol b;
	int r = bvol_get(s, volname, &b, err);

	if (r < 0)
		return r;
	r = mkdir_p(b.images, 0755);
	if (r < 0)
		return drover_fail(err, r, "%s: %s", b.images, strerror(-r));
	fsutil_sweep(b.images, remove_tmp, NULL);
	if (fmt == STORAGE_FORMAT_BTRFS)
		r = import_btrfs(s, &b, o, fd, name, sizeof(name), rep, err);
	else if (fmt == STORAGE_FORMAT_RAW_SIZE && b.v.format == STORAGE_VOLFORMAT_RAW && !o->base)
		r = import_raw(s, &b, o, fd, name, sizeof(name), err);
	else
		r = drover_fail(err, -ENOTSUP, "a btrfs storage does not import this format");
	if (r < 0)
		return r;
	if (o->delete_snapshot && fmt == STORAGE_FORMAT_BTRFS) {
		char path[PATH_MAX];

		pathf(path, sizeof(path), "%s/%s@%s", b.images, name, o->delete_snapshot);
		/* as Proxmox: the old base going away is worth a warning, not a failure */
		if (btrfs_is_subvol(path) && (r = btrfs_sub_delete(path)) < 0)
			drover_report_log(rep, "warning: deleting snapshot %s: %s", path,
					  strerror(-r));
	}
	return storage_volname_make(STORAGE_NAMING_FILE, b.v.vmid, name, b.v.format, imported, len);
}

/* Each images/VMID directory (or the one of vmid) swept of stale temporary names. */
static int btrfs_sweep(struct storage *s, unsigned vmid, struct drover_err *err)
{
	(void)err;
	fsutil_sweep_images(s->props.path, vmid, remove_tmp, NULL);
	return 0;
}

const struct storage_plugin storage_plugin_btrfs = {
	.type = "btrfs",
	.content = STORAGE_CONTENT_IMAGES | STORAGE_CONTENT_ROOTDIR,
	.snapshots = true,
	.open = btrfs_open,
	.status = btrfs_status,
	.alloc = btrfs_alloc,
	.free = btrfs_free,
	.list = btrfs_list,
	.info = btrfs_info,
	.path = btrfs_path,
	.resize = btrfs_resize,
	.snapshot_create = btrfs_snapshot_create,
	.snapshot_delete = btrfs_snapshot_delete,
	.snapshot_rollback = btrfs_snapshot_rollback,
	.snapshot_list = btrfs_snapshot_list,
	.export_formats = btrfs_export_formats,
	.import_formats = btrfs_import_formats,
	.export = btrfs_export,
	.import = btrfs_import,
	.sweep = btrfs_sweep,
};
