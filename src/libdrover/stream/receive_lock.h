/* SPDX-License-Identifier: MIT */
/*
 * A node's receive locks: one flock'ed file per volume,
 * /run/drover/receive/VOLID.lock (':' and '/' escaped), holding the pid of
 * the import that receives into the volume. stream_import() holds it while
 * a stream comes in; `drover vm recover` takes the locks of the guest's
 * replicas before it rolls them back and moves the config, so a receive
 * still running from the old source (a replication run that began before
 * the node failed) can neither be overtaken nor start meanwhile. The lock
 * is the kernel's (flock): a crashed importer leaves none behind.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "libdrover/error.h"

#define RECEIVE_LOCK_DIR "/run/drover/receive"

/* The lock directory: dir, else $DROVER_RECEIVE_LOCK_DIR, else RECEIVE_LOCK_DIR. */
const char *receive_lock_dir(const char *dir);

/*
 * Take volid's receive lock in dir (NULL: receive_lock_dir()) without
 * waiting: 0 and *fd (close it with receive_lock_release), -EBUSY with
 * *holder the pid holding it (0 if it has not written it yet), or another
 * -errno with err saying why.
 */
int receive_lock_take(const char *dir, const char *volid, int *fd, pid_t *holder,
		      struct drover_err *err);
void receive_lock_release(int fd);

/*
 * The receive locks of n volumes, all or none: -EBUSY with err "a
 * replication receive for VOLID is still running (pid N)" when one is
 * held. fds has room for n; receive_lock_release_all() gives them back.
 */
int receive_lock_all(const char *dir, const char *const *volids, size_t n, int *fds,
		     struct drover_err *err);
void receive_lock_release_all(int *fds, size_t n);
