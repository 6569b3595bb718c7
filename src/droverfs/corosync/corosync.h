/* SPDX-License-Identifier: MIT */
/*
 * Cluster mode: droverfs on corosync. This adapter connects the
 * replication engine (replica.h) to the corosync libraries on the daemon's
 * event loop: CPG for the group (membership, agreed order), the quorum
 * service for "may we write", votequorum for "is that quorum forced". The
 * rollout of corosync.conf is conf_rollout.h, the backups before a full
 * state transfer backup.h.
 *
 * Nothing here blocks the loop: multicasts that corosync cannot take yet
 * are queued and retried in order, and a lost corosync is reconnected to
 * on a timer.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "droverfs/shell/context.h"

struct cfs_corosync;

/*
 * Start cluster mode (corosync need not be up yet): registers as the
 * daemon's replicator and as a part (context.h). Returns 0 or -errno.
 */
int cfs_corosync_start(struct cfs_daemon *d, struct cfs_corosync **out);
void cfs_corosync_stop(struct cfs_corosync *c);
