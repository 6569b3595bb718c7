/* SPDX-License-Identifier: MIT */
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "basic/util.h"

#define TMP_PREFIX ".tmp-"

int pathf(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int fsutil_images_dir(const char *root, unsigned vmid, bool create, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/images/%u", root, vmid);

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return create ? mkdir_p(out, 0755) : 0;
}

int fsutil_status(const char *path, struct storage_status *st, struct drover_err *err)
{
	struct statvfs v;

	if (statvfs(path, &v) < 0)
		return drover_fail(err, -errno, "%s: %s", path, strerror(errno));
	st->total = (uint64_t)v.f_blocks * v.f_frsize;
	st->avail = (uint64_t)v.f_bavail * v.f_frsize;
	st->used = st->total - (uint64_t)v.f_bfree * v.f_frsize;
	st->active = true;
	return 0;
}

static void this_node(char *out, size_t len)
{
	if (gethostname(out, len) < 0)
		snprintf(out, len, "localhost");
	out[len - 1] = '\0';
	out[strcspn(out, ".")] = '\0';
}

int fsutil_tmp_name(const char *name, char *out, size_t len)
{
	char node[64];
	int n;

	this_node(node, sizeof(node));
	n = snprintf(out, len, TMP_PREFIX "%s-%d-%s", node, (int)getpid(), name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

bool fsutil_is_tmp_name(const char *name)
{
	return str_has_prefix(name, TMP_PREFIX);
}

/* Is a temporary name ours (this node) and its process gone? */
static bool stale(const char *name, const char *node)
{
	const char *p = name + strlen(TMP_PREFIX);
	size_t n = strlen(node);
	char *end;
	long pid;

	if (strncmp(p, node, n) != 0 || p[n] != '-')
		return false;
	pid = strtol(p + n + 1, &end, 10);
	if (end == p + n + 1 || *end != '-' || pid <= 0)
		return false;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

void fsutil_sweep(const char *dir, int (*remove)(const char *path, void *ctx), void *ctx)
{
	char node[64], path[PATH_MAX];
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	this_node(node, sizeof(node));
	while ((e = readdir(d)))
		if (fsutil_is_tmp_name(e->d_name) && stale(e->d_name, node) &&
		    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path))
			remove(path, ctx);
	closedir(d);
}

void fsutil_sweep_images(const char *root, unsigned vmid,
			 int (*remove)(const char *path, void *ctx), void *ctx)
{
	char images[PATH_MAX], dir[PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (vmid) {
		if (fsutil_images_dir(root, vmid, false, dir, sizeof(dir)) == 0)
			fsutil_sweep(dir, remove, ctx);
		return;
	}
	if (pathf(images, sizeof(images), "%s/images", root) < 0 || !(d = opendir(images)))
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && pathf(dir, sizeof(dir), "%s/%s", images, e->d_name) == 0)
			fsutil_sweep(dir, remove, ctx);
	closedir(d);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 ? -1 : 0;
	return unlink(path) < 0 ? -1 : 0;
}

int fsutil_rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 ? -errno : 0;
	if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		return -errno;
	return 0;
}
