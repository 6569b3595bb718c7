/* SPDX-License-Identifier: MIT */
/*
 * Mounts as /proc/PID/mountinfo lists them, and ending a FUSE connection
 * whose daemon can no longer answer.
 *
 * A FUSE daemon killed while one of its threads waits in the kernel stays a
 * zombie: droverfs's thread that invalidates names waits for a directory's
 * lock, which a request to the dead daemon (a create, a rename's lookup)
 * holds while it waits for the answer. The zombie keeps the connection open,
 * so those requests, and the processes that made them, wait forever.
 * Aborting the connection through the fusectl file system fails them all;
 * then the stuck thread ends too, and with it the zombie.
 */
#pragma once

#include <stddef.h>

/*
 * The file system mounted exactly at dir (the top one) in the mount table
 * `mountinfo` (a /proc/PID/mountinfo path): its type into type ("" if
 * none) and its device's minor number (a FUSE connection's id).
 * 0 or -errno.
 */
int mountinfo_lookup(const char *mountinfo, const char *dir, char *type, size_t len,
		     unsigned *minor);

/* Abort FUSE connection `minor`, mounting fusectl if needed. 0 or -errno. */
int fusectl_abort(unsigned minor);

/* Abort the connection of the FUSE file system at dir in `mountinfo`. 0, -ENOENT (none), -errno. */
int fusectl_abort_mount(const char *mountinfo, const char *dir);
