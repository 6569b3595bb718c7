/* SPDX-License-Identifier: MIT */
/*
 * Ending a FUSE connection whose daemon can no longer answer.
 *
 * A droverfs killed while one of its threads waits in the kernel stays a
 * zombie: the thread that invalidates names waits for a directory's lock,
 * which a create or lookup holds while it waits for the dead daemon's
 * answer. The zombie keeps the connection (and its database lock) open, so
 * those requests, and the processes that made them, wait forever. Aborting
 * the connection through the fusectl file system fails them all; then the
 * stuck thread ends too, and with it the zombie.
 */
#pragma once

/* Abort FUSE connection `minor` (its mount's device minor). 0 or -errno. */
int cfs_fusectl_abort(unsigned minor);

/* Abort the connection of the FUSE file system mounted at dir. 0, -ENOENT (none), -errno. */
int cfs_fusectl_abort_mount(const char *dir);
