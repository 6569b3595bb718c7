/* SPDX-License-Identifier: MIT */
/*
 * The dir storage: volumes are files in a directory, as on Proxmox:
 * PATH/images/VMID/NAME.raw|.qcow2 (a raw file is sparse), a container's
 * PATH/images/VMID/subvol-VMID-disk-N.subvol directory, ISO images in
 * PATH/template/iso and container templates in PATH/template/cache. No
 * snapshots; streams are raw+size of raw files only.
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
#include "basic/util.h"
#include "libdrover/format/names.h"
#include "fsutil.h"
#include "plugin.h"
#include "rawsize.h"
#include "run.h"
#include "volname.h"

#define FREE_NAMES_MAX 1000

static const char *const exts[] = { "raw", "qcow2", "subvol" };

static int parse(const char *volname, struct storage_volname *v, struct drover_err *err)
{
	return storage_volname_parse(volname, STORAGE_NAMING_FILE, v, err);
}

static int vol_path(const struct storage *s, const struct storage_volname *v, char *out, size_t len)
{
	int n;

	if (v->content == STORAGE_CONTENT_ISO)
		n = pathf(out, len, "%s/template/iso/%s", s->props.path, v->name);
	else if (v->content == STORAGE_CONTENT_VZTMPL)
		n = pathf(out, len, "%s/template/cache/%s", s->props.path, v->name);
	else
		n = pathf(out, len, "%s/images/%u/%s.%s", s->props.path, v->vmid, v->name,
			  storage_volformat_name(v->format));
	return n;
}

static int dir_open(struct storage *s, struct drover_err *err)
{
	char images[PATH_MAX];
	struct stat st;
	int r;

	/* like Proxmox's default (mkdir 1): the directory is made when missing */
	r = mkdir_p(s->props.path, 0755);
	if (r == 0 && (stat(s->props.path, &st) < 0 || !S_ISDIR(st.st_mode)))
		r = -ENOTDIR;
	if (r == 0 && pathf(images, sizeof(images), "%s/images", s->props.path) == 0)
		r = mkdir_p(images, 0755);
	if (r < 0)
		return drover_fail(err, r, "path %s: %s", s->props.path, strerror(-r));
	return 0;
}

static int dir_status(struct storage *s, struct storage_status *st, struct drover_err *err)
{
	return fsutil_status(s->props.path, st, err);
}

/* Does NAME exist in images/VMID in any format? */
static bool stem_exists(const char *images, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < ARRAY_SIZE(exts); i++)
		if (pathf(path, sizeof(path), "%s/%s.%s", images, name, exts[i]) == 0 &&
		    lstat(path, &st) == 0)
			return true;
	return false;
}

/* Make the file or directory of a new volume; -EEXIST if the path is taken. */
static int create_volume(const char *path, enum storage_volformat fmt, uint64_t size,
			 struct drover_err *err)
{
	char sz[32];
	int fd, r;

	if (fmt == STORAGE_VOLFORMAT_SUBVOL)
		return mkdir(path, 0755) < 0 ? -errno : 0;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	r = fmt == STORAGE_VOLFORMAT_RAW && ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
	close(fd);
	if (r == 0 && fmt == STORAGE_VOLFORMAT_QCOW2) {
		char *argv[] = {
			"qemu-img", "create", "-q", "-f", "qcow2", (char *)path, sz, NULL
		};

		pathf(sz, sizeof(sz), "%llu", (unsigned long long)size);
		r = storage_run(argv, -1, NULL, err);
		if (r < 0) {
			unlink(path);
			return r == -EEXIST ? -EIO : r;
		}
		return 0;
	}
	if (r < 0) {
		unlink(path);
		return drover_fail(err, r, "%s: %s", path, strerror(-r));
	}
	return 0;
}

static int dir_alloc(struct storage *s, const struct storage_alloc_req *req, char *volname,
		     size_t len, struct drover_err *err)
{
	char images[PATH_MAX], path[PATH_MAX], name[STORAGE_NAME_MAX];
	const char *prefix = req->format == STORAGE_VOLFORMAT_SUBVOL ? "subvol" : "vm";
	int r;

	if (req->format != STORAGE_VOLFORMAT_SUBVOL && req->size == 0)
		return drover_fail(err, -EINVAL, "a %s volume needs a size",
				   storage_volformat_name(req->format));
	r = fsutil_images_dir(s->props.path, req->vmid, true, images, sizeof(images));
	if (r < 0)
		return drover_fail(err, r, "%s/images/%u: %s", s->props.path, req->vmid,
				   strerror(-r));
	for (unsigned n = 0; n < FREE_NAMES_MAX; n++) {
		if (req->name)
			pathf(name, sizeof(name), "%s", req->name);
		else
			pathf(name, sizeof(name), "%s-%u-disk-%u", prefix, req->vmid, n);
		if (stem_exists(images, name)) {
			if (req->name)
				return drover_fail(err, -EEXIST, "volume %s exists already", name);
			continue;
		}
		pathf(path, sizeof(path), "%s/%s.%s", images, name,
		      storage_volformat_name(req->format));
		r = create_volume(path, req->format, req->size, err);
		if (r == -EEXIST && !req->name)
			continue; /* someone else took it just now */
		if (r == -EEXIST)
			return drover_fail(err, r, "volume %s exists already", name);
		if (r < 0)
			return r;
		return storage_volname_make(STORAGE_NAMING_FILE, req->vmid, name, req->format,
					    volname, len);
	}
	return drover_fail(err, -ENOSPC, "no free volume name for VMID %u", req->vmid);
}

static int dir_free(struct storage *s, const char *volname, struct drover_err *err)
{
	struct storage_volname v;
	char path[PATH_MAX], images[PATH_MAX];
	struct stat st;
	int r = parse(volname, &v, err);

	if (r < 0)
		return r;
	if ((r = vol_path(s, &v, path, sizeof(path))) < 0)
		return drover_fail(err, r, "%s: %s", volname, strerror(-r));
	if (lstat(path, &st) < 0)
		return errno == ENOENT
			       ? drover_fail(err, -ENOENT, "volume %s does not exist", volname)
			       : drover_fail(err, -errno, "volume %s: %s", volname,
					     strerror(errno));
	r = S_ISDIR(st.st_mode) ? fsutil_rm_rf(path) : (unlink(path) < 0 ? -errno : 0);
	if (r < 0)
		return drover_fail(err, r, "removing %s: %s", path, strerror(-r));
	/* an empty images/VMID goes too (ENOTEMPTY: other volumes are there) */
	if (v.vmid && fsutil_images_dir(s->props.path, v.vmid, false, images, sizeof(images)) == 0)
		rmdir(images);
	return 0;
}

/* The virtual size in a qcow2 header (big-endian u64 at offset 24). */
static int qcow2_size(int fd, uint64_t *size)
{
	unsigned char h[32];
	uint64_t v = 0;

	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h, "QFI\xfb", 4) != 0)
		return -EBADMSG;
	for (int i = 24; i < 32; i++)
		v = v << 8 | h[i];
	*size = v;
	return 0;
}

static int fill_info(const char *path, const struct storage_volname *v, const char *volname,
		     struct storage_volume *out, struct drover_err *err)
{
	struct stat st;
	int fd, r = 0;

	memset(out, 0, sizeof(*out));
	if (lstat(path, &st) < 0)
		return errno == ENOENT
			       ? drover_fail(err, -ENOENT, "volume %s does not exist", volname)
			       : drover_fail(err, -errno, "volume %s: %s", volname,
					     strerror(errno));
	pathf(out->volname, sizeof(out->volname), "%s", volname);
	out->vmid = v->vmid;
	out->content = v->content;
	out->format = v->format;
	out->size = (uint64_t)st.st_size;
	out->used = (uint64_t)st.st_blocks * 512;
	if (v->format == STORAGE_VOLFORMAT_SUBVOL) {
		out->size = 0;
	} else if (v->format == STORAGE_VOLFORMAT_QCOW2) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		r = fd < 0 ? -errno : qcow2_size(fd, &out->size);
		if (fd >= 0)
			close(fd);
		if (r < 0)
			return drover_fail(err, r, "%s: not a qcow2 image", path);
	}
	return 0;
}

static int dir_info(struct storage *s, const char *volname, struct storage_volume *out,
		    struct drover_err *err)
{
	struct storage_volname v;
	char path[PATH_MAX];
	int r = parse(volname, &v, err);

	if (r == 0 && (r = vol_path(s, &v, path, sizeof(path))) < 0)
		return drover_fail(err, r, "%s: %s", volname, strerror(-r));
	return r < 0 ? r : fill_info(path, &v, volname, out, err);
}

struct vol_list {
	struct storage_volume *v;
	size_t n, cap;
};

static int list_add(struct vol_list *l, const struct storage_volume *v)
{
	if (ARRAY_GROW(l->v, l->cap, l->n + 1) < 0)
		return -ENOMEM;
	l->v[l->n++] = *v;
	return 0;
}

/* Add the volumes of one directory; rel is the volname prefix ("100/", "iso/"). */
static int list_dir(struct storage *s, const char *dir, const char *rel, struct vol_list *l)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (r == 0 && (e = readdir(d))) {
		char volname[STORAGE_VOLNAME_MAX], path[PATH_MAX];
		struct storage_volname v;
		struct storage_volume info;

		/* what is not a volume name (a temporary file, a stranger) is not listed */
		if (e->d_name[0] == '.' ||
		    pathf(volname, sizeof(volname), "%s%s", rel, e->d_name) < 0 ||
		    parse(volname, &v, NULL) < 0 || vol_path(s, &v, path, sizeof(path)) < 0 ||
		    fill_info(path, &v, volname, &info, NULL) < 0)
			continue;
		r = list_add(l, &info);
	}
	closedir(d);
	return r;
}

static int dir_list(struct storage *s, unsigned vmid, struct storage_volume **vols, size_t *n,
		    struct drover_err *err)
{
	struct vol_list l = { 0 };
	char dir[PATH_MAX], rel[32];
	DIR *d;
	struct dirent *e;
	int r = 0;

	pathf(dir, sizeof(dir), "%s/images", s->props.path);
	d = opendir(dir);
	while (d && r == 0 && (e = readdir(d))) {
		uint32_t id;

		if (vmid_parse_n(e->d_name, strlen(e->d_name), &id) < 0 || (vmid && id != vmid))
			continue;
		pathf(dir, sizeof(dir), "%s/images/%s", s->props.path, e->d_name);
		pathf(rel, sizeof(rel), "%s/", e->d_name);
		r = list_dir(s, dir, rel, &l);
	}
	if (d)
		closedir(d);
	if (r == 0 && !vmid) {
		pathf(dir, sizeof(dir), "%s/template/iso", s->props.path);
		r = list_dir(s, dir, "iso/", &l);
	}
	if (r == 0 && !vmid) {
		pathf(dir, sizeof(dir), "%s/template/cache", s->props.path);
		r = list_dir(s, dir, "vztmpl/", &l);
	}
	if (r < 0) {
		free(l.v);
		return drover_fail(err, r, "listing %s: %s", s->props.path, strerror(-r));
	}
	*vols = l.v;
	*n = l.n;
	return 0;
}

static int dir_path(struct storage *s, const char *volname, const char *snap, char *out, size_t len,
		    struct drover_err *err)
{
	struct storage_volname v;
	int r = parse(volname, &v, err);

	if (r < 0)
		return r;
	if (snap)
		return drover_fail(err, -ENOTSUP, "a dir storage has no snapshots");
	r = vol_path(s, &v, out, len);
	return r < 0 ? drover_fail(err, r, "%s: %s", volname, strerror(-r)) : 0;
}

static int dir_resize(struct storage *s, const char *volname, uint64_t size, struct drover_err *err)
{
	struct storage_volname v;
	struct storage_volume info;
	char path[PATH_MAX], sz[32];
	int r = dir_info(s, volname, &info, err);

	if (r < 0 || (r = parse(volname, &v, err)) < 0 ||
	    (r = vol_path(s, &v, path, sizeof(path))) < 0)
		return r;
	if (v.format == STORAGE_VOLFORMAT_SUBVOL || v.content != STORAGE_CONTENT_IMAGES)
		return drover_fail(err, -ENOTSUP, "%s has no size to change", volname);
	if (size < info.size)
		return drover_fail(err, -EINVAL, "shrinking %s from %llu to %llu bytes is refused",
				   volname, (unsigned long long)info.size,
				   (unsigned long long)size);
	if (v.format == STORAGE_VOLFORMAT_QCOW2) {
		char *argv[] = { "qemu-img", "resize", "-q", "-f", "qcow2", path, sz, NULL };

		pathf(sz, sizeof(sz), "%llu", (unsigned long long)size);
		return storage_run(argv, -1, NULL, err);
	}
	if (truncate(path, (off_t)size) < 0)
		return drover_fail(err, -errno, "%s: %s", path, strerror(errno));
	return 0;
}

static unsigned dir_export_formats(struct storage *s, const char *volname,
				   const struct storage_export_opts *o)
{
	struct storage_volname v;

	(void)s;
	if (parse(volname, &v, NULL) < 0 || v.format != STORAGE_VOLFORMAT_RAW ||
	    v.content != STORAGE_CONTENT_IMAGES || o->snapshot || o->base || o->with_snapshots)
		return 0;
	return 1u << STORAGE_FORMAT_RAW_SIZE;
}

static unsigned dir_import_formats(struct storage *s, const char *volname,
				   const struct storage_import_opts *o)
{
	struct storage_volname v;

	(void)s;
	if (parse(volname, &v, NULL) < 0 || v.format != STORAGE_VOLFORMAT_RAW ||
	    v.content != STORAGE_CONTENT_IMAGES || o->base || o->with_snapshots)
		return 0;
	return 1u << STORAGE_FORMAT_RAW_SIZE;
}

static int dir_export(struct storage *s, const char *volname, enum storage_format fmt,
		      const struct storage_export_opts *o, int fd,
		      const struct drover_reporter *rep, struct drover_err *err)
{
	struct storage_volname v;
	char path[PATH_MAX];
	struct stat st;
	int src, r = parse(volname, &v, err);

	(void)o;
	(void)rep;
	if (r < 0)
		return r;
	if (fmt != STORAGE_FORMAT_RAW_SIZE)
		return drover_fail(err, -ENOTSUP, "a dir storage exports raw+size only");
	if ((r = vol_path(s, &v, path, sizeof(path))) < 0)
		return drover_fail(err, r, "%s: %s", volname, strerror(-r));
	src = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (src < 0)
		return errno == ENOENT
			       ? drover_fail(err, -ENOENT, "volume %s does not exist", volname)
			       : drover_fail(err, -errno, "volume %s: %s", volname,
					     strerror(errno));
	r = fstat(src, &st) < 0 ? -errno : 0;
	if (r == 0 && !S_ISREG(st.st_mode))
		r = -EINVAL;
	if (r < 0)
		drover_fail(err, r, "%s: not a file", path);
	else
		r = rawsize_export(src, (uint64_t)st.st_size, fd, err);
	close(src);
	return r;
}

/* The place a raw+size import goes: volname, or (allow_rename) the next free name. */
static int pick_target(struct storage *s, const struct storage_volname *v, bool allow_rename,
		       const char *images, char *name, size_t len, struct drover_err *err)
{
	pathf(name, len, "%s", v->name);
	if (!stem_exists(images, name))
		return 0;
	if (!allow_rename)
		return drover_fail(
			err, -EEXIST,
			"volume %u/%s.raw exists on %s (give --allow-rename to import under a free name)",
			v->vmid, v->name, s->props.id);
	for (unsigned n = 0; n < FREE_NAMES_MAX; n++) {
		pathf(name, len, "vm-%u-disk-%u", v->vmid, n);
		if (!stem_exists(images, name))
			return 0;
	}
	return drover_fail(err, -ENOSPC, "no free volume name for VMID %u", v->vmid);
}

static int remove_tmp(const char *path, void *ctx)
{
	(void)ctx;
	return fsutil_rm_rf(path);
}

/* The data into a temporary file; then renamed into place (never over a volume). */
static int dir_import(struct storage *s, const char *volname, enum storage_format fmt,
		      const struct storage_import_opts *o, int fd, char *imported, size_t len,
		      const struct drover_reporter *rep, struct drover_err *err)
{
	char images[PATH_MAX], tmp[PATH_MAX], final[PATH_MAX], name[STORAGE_NAME_MAX];
	char tmpname[STORAGE_NAME_MAX + 64];
	struct storage_volname v;
	uint64_t size;
	int dst = -1, r = parse(volname, &v, err);

	(void)rep;
	if (r < 0)
		return r;
	if (fmt != STORAGE_FORMAT_RAW_SIZE || v.format != STORAGE_VOLFORMAT_RAW)
		return drover_fail(err, -ENOTSUP, "a dir storage imports raw+size into .raw only");
	r = fsutil_images_dir(s->props.path, v.vmid, true, images, sizeof(images));
	if (r < 0)
		return drover_fail(err, r, "%s/images/%u: %s", s->props.path, v.vmid, strerror(-r));
	fsutil_sweep(images, remove_tmp, NULL);
	r = pick_target(s, &v, o->allow_rename, images, name, sizeof(name), err);
	if (r < 0)
		return r;
	fsutil_tmp_name(name, tmpname, sizeof(tmpname));
	pathf(tmp, sizeof(tmp), "%s/%s.raw", images, tmpname);
	r = rawsize_read_header(fd, &size, err);
	if (r < 0)
		return r;
	dst = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (dst < 0)
		return drover_fail(err, -errno, "%s: %s", tmp, strerror(errno));
	r = ftruncate(dst, (off_t)size) < 0
		    ? drover_fail(err, -errno, "%s: %s", tmp, strerror(errno))
		    : 0;
	if (r == 0)
		r = rawsize_import_data(fd, size, dst, err);
	if (r == 0 && fdatasync(dst) < 0)
		r = drover_fail(err, -errno, "%s: %s", tmp, strerror(errno));
	close(dst);
	for (int tries = 0; r == 0; tries++) {
		pathf(final, sizeof(final), "%s/%s.raw", images, name);
		if (!stem_exists(images, name) &&
		    renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) == 0)
			break;
		if (errno != EEXIST && !stem_exists(images, name)) {
			r = drover_fail(err, -errno, "renaming into %s: %s", final,
					strerror(errno));
			break;
		}
		/* taken meanwhile */
		if (!o->allow_rename || tries > 10 ||
		    pick_target(s, &v, true, images, name, sizeof(name), err) < 0)
			r = drover_fail(err, -EEXIST, "volume %u/%s.raw was made meanwhile", v.vmid,
					name);
	}
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	return storage_volname_make(STORAGE_NAMING_FILE, v.vmid, name, STORAGE_VOLFORMAT_RAW,
				    imported, len);
}

/* Each images/VMID directory (or the one of vmid) swept of stale temporary names. */
static int dir_sweep(struct storage *s, unsigned vmid, struct drover_err *err)
{
	(void)err;
	fsutil_sweep_images(s->props.path, vmid, remove_tmp, NULL);
	return 0;
}

const struct storage_plugin storage_plugin_dir = {
	.type = "dir",
	.content = STORAGE_CONTENT_IMAGES | STORAGE_CONTENT_ROOTDIR | STORAGE_CONTENT_ISO |
		   STORAGE_CONTENT_VZTMPL,
	.snapshots = false,
	.open = dir_open,
	.status = dir_status,
	.alloc = dir_alloc,
	.free = dir_free,
	.list = dir_list,
	.info = dir_info,
	.path = dir_path,
	.resize = dir_resize,
	.export_formats = dir_export_formats,
	.import_formats = dir_import_formats,
	.export = dir_export,
	.import = dir_import,
	.sweep = dir_sweep,
};
