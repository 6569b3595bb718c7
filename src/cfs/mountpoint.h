/* SPDX-License-Identifier: MIT */
/* Getting the mount point ready: created if missing, a stale mount cleared. */
#pragma once

#include <stddef.h>

/*
 * Returns 0, -EBUSY when a live file system is mounted there (the message
 * is logged), or -errno.
 */
int cfs_mountpoint_prepare(const char *dir);

/*
 * The file system mounted exactly at dir (the top one): its type into type
 * ("" if none) and its device's minor number (a FUSE connection's id).
 * 0 or -errno.
 */
int cfs_mount_lookup(const char *dir, char *type, size_t len, unsigned *minor);
