/* SPDX-License-Identifier: MIT */
/*
 * Cluster mode: droverfs on corosync. This file connects the replication
 * engine (replica.h) to the corosync libraries on the daemon's event loop:
 * CPG for the group (membership, agreed order), the quorum service for
 * "may we write", votequorum for "is that quorum forced", cfg for asking
 * corosync to reload its configuration.
 *
 * Nothing here blocks the loop: multicasts that corosync cannot take yet
 * are queued and retried in order, the reload runs in a thread, and a lost
 * corosync is reconnected to on a timer.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon.h"

struct cfs_cluster;

/* Start cluster mode (corosync need not be up yet). Returns 0 or -errno. */
int cfs_cluster_start(struct cfs_daemon *d, struct cfs_cluster **out);
void cfs_cluster_stop(struct cfs_cluster *c);

/* Send an op through the group; done runs after it was applied (or refused). */
void cfs_cluster_submit(struct cfs_cluster *c, const struct cfs_op *op, cfs_done_fn done,
			void *ctx);

/*
 * Send the batch of own ops now (if the one before it came back). The loop's
 * send source does it too, but it runs only when nothing else is ready: the
 * FUSE and corosync handlers call this when they are done, so that a busy
 * fd cannot hold the batch back.
 */
void cfs_cluster_flush(struct cfs_cluster *c);

/* The group-commit batch is durable: the replica may tell the members. */
void cfs_cluster_committed(struct cfs_cluster *c);

/* A change was committed here (from any node): react to corosync.conf. */
void cfs_cluster_changed(struct cfs_cluster *c, const struct cfs_change *ch);

/* Tell the other nodes about this node's status value / a cluster log entry. */
void cfs_cluster_send_kv(struct cfs_cluster *c, const char *key, const void *data, size_t len);
void cfs_cluster_send_log(struct cfs_cluster *c, const struct clog_entry *e);

/* Fill the cluster part of `drover cfs status` and of .members. */
void cfs_cluster_status_json(struct cfs_cluster *c, struct json_object *o);
void cfs_cluster_members_json(struct cfs_cluster *c, struct json_object *o);
