/* SPDX-License-Identifier: MIT */
/* Getting the mount point ready: created if missing, a stale mount cleared. */
#pragma once

/*
 * Returns 0, -EBUSY when a live file system is mounted there (the message
 * is logged), or -errno.
 */
int cfs_mountpoint_prepare(const char *dir);
