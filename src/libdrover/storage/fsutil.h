/* SPDX-License-Identifier: MIT */
/*
 * What the file-based plugins (dir, btrfs) share: the images/VMID
 * directories, free space, and temporary names for what is being made.
 *
 * Something half-made (an import that is still running, or one whose
 * process was killed) lives under a name no volume can have:
 * ".tmp-NODE-PID-NAME" beside where it will go, and is renamed into place
 * only when it is whole. Such a name of this node whose process is gone is
 * garbage, removed by fsutil_sweep().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "plugin.h"

/*
 * snprintf for paths and names: 0, or -ENAMETOOLONG when out was too small
 * (then out holds the cut text). A function, so that the compiler's
 * truncation warnings see one checked call instead of every path built.
 */
int pathf(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* root/images/VMID (made when create). */
int fsutil_images_dir(const char *root, unsigned vmid, bool create, char *out, size_t len);

/* total/used/avail of the file system holding path. */
int fsutil_status(const char *path, struct storage_status *st, struct drover_err *err);

/* ".tmp-NODE-PID-name" */
int fsutil_tmp_name(const char *name, char *out, size_t len);
bool fsutil_is_tmp_name(const char *name);

/*
 * In dir, remove every temporary name of this node whose process is gone,
 * with remove(path) (a file, a directory tree, a subvolume: the caller's).
 */
void fsutil_sweep(const char *dir, int (*remove)(const char *path, void *ctx), void *ctx);

/* fsutil_sweep() of root/images/VMID, or of every directory in root/images when vmid is 0. */
void fsutil_sweep_images(const char *root, unsigned vmid,
			 int (*remove)(const char *path, void *ctx), void *ctx);

/* rm -rf on one file system. 0 or -errno. */
int fsutil_rm_rf(const char *path);
