/* SPDX-License-Identifier: MIT */
/*
 * droverfs, the daemon's context: everything mutable lives here, and the
 * parts (FUSE, IPC, the corosync adapter) share it. One thread runs
 * everything on one sd-event loop: the FUSE session, the IPC socket and
 * the timers. A second thread only tells the kernel to drop cached data
 * (notify.h).
 *
 * The parts do not call each other: each registers with the context what
 * it wants to hear of (committed changes, the end of a group commit) and
 * what it adds to the status; the corosync adapter registers as the
 * replicator that carries the ops in cluster mode. The daemon (droverfs/daemon.h)
 * starts and stops the parts; submit.h is the path of every change.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "droverfs/core/clusterlog.h"
#include "droverfs/core/fsversion.h"
#include "droverfs/core/kvstore.h"
#include "droverfs/core/locks.h"
#include "droverfs/core/persist.h"

struct cfs_daemon;
struct cfs_corosync;
struct cfs_fuse;
struct cfs_ipc_server;
struct cfs_status;

struct cfs_options {
	bool foreground;
	bool local;
	bool debug;
	const char *mountpoint;
	const char *db_path;
	const char *socket_path;
	const char *corosync_conf; /* corosync's own copy (default /etc/corosync/corosync.conf) */
	unsigned verify_interval; /* seconds between digest checks in cluster mode */
	unsigned lock_lifetime; /* seconds a lock may go unrefreshed before it may be taken over */
	const char *group; /* NULL: www-data if it exists, else root */
	char nodename[64];
	struct cfs_limits limits;
};

/* A completion of a submitted operation (see submit.h). */
typedef void (*cfs_done_fn)(struct cfs_daemon *d, void *ctx, int result,
			    const struct cfs_result *res);

struct cfs_pending {
	cfs_done_fn done;
	void *ctx;
	int result;
	struct cfs_result res;
};

/*
 * A part that keeps state derived from the tree. Every hook may be NULL;
 * `part` is passed back to each.
 */
struct cfs_part_ops {
	/* A change was committed here (from any node). */
	void (*changed)(void *part, const struct cfs_change *c);
	/* The batch with this node's changes is durable. */
	void (*committed)(void *part);
	/* Add this part's figures to a status snapshot (status.h). */
	void (*status)(void *part, struct cfs_status *s);
};

struct cfs_part {
	const struct cfs_part_ops *ops;
	void *part;
};

/* Cluster mode: what carries the ops and the status values to the other nodes. */
struct cfs_replicator_ops {
	/*
	 * Send an op through the group. 0: done runs once it was applied (it
	 * is queued with cfs_submit_complete()); -errno: it was not sent, and
	 * done will not run.
	 */
	int (*submit)(void *repl, const struct cfs_op *op, cfs_done_fn done, void *ctx);
	/* Send the batch of own ops now (see submit.h). */
	void (*flush)(void *repl);
	/* This node's status value / a cluster log entry, for the other nodes. */
	void (*send_kv)(void *repl, const char *key, const void *data, size_t len);
	void (*send_log)(void *repl, const struct cfs_clog_entry *e);
};

struct cfs_daemon {
	struct cfs_options opt;
	gid_t gid; /* the read-only group */
	int64_t starttime;
	int lock_fd;
	int ready_fd; /* daemon mode: tells the waiting parent that we are up */
	bool quorate; /* always in local mode */
	bool flushed_at_exit; /* the final flush wrote everything into the database */

	sd_event *event;
	sd_event_source *commit_source; /* deferred: commit the batch, then reply */
	sd_event_source *flush_timer;

	struct cfs_persist *persist;
	struct cfs_locks locks;
	struct cfs_kvstore kv;
	struct cfs_clusterlog clog;
	struct cfs_fsversion fsversion;
	/* Started and stopped by daemon.c: a part may find itself here, never another part. */
	struct cfs_fuse *fuse;
	struct cfs_ipc_server *ipc;
	struct cfs_corosync *corosync; /* NULL in local mode */
	uint32_t nodeid; /* corosync node id in cluster mode, 0 in local mode */

	struct cfs_part *parts; /* in the order they registered */
	size_t nparts, parts_cap;
	const struct cfs_replicator_ops *repl_ops; /* NULL in local mode */
	void *repl;

	struct cfs_pending *pending; /* ops applied in the open batch, in order */
	size_t npending, pending_cap;

	uint64_t reloads_seen; /* persist->stats.reloads already handled */
	uint64_t apply_ns_total; /* see cfs_daemon_count_apply() */
	uint64_t applied;
};

static inline struct cfs_state *cfs_daemon_state(struct cfs_daemon *d)
{
	return &d->persist->state;
}

/* Writer id of this node in operations (0 in local mode). */
static inline uint32_t cfs_daemon_writer(const struct cfs_daemon *d)
{
	return d->nodeid;
}

/* In cluster mode: a replicator carries the ops. */
static inline bool cfs_daemon_clustered(const struct cfs_daemon *d)
{
	return d->repl_ops != NULL;
}

/* Register a part (0 or -ENOMEM); cfs_daemon_remove_part() before it goes away. */
int cfs_daemon_add_part(struct cfs_daemon *d, const struct cfs_part_ops *ops, void *part);
void cfs_daemon_remove_part(struct cfs_daemon *d, void *part);

/* Tell every part about one committed change / a durable batch. */
void cfs_daemon_changed(struct cfs_daemon *d, const struct cfs_change *c);
void cfs_daemon_committed(struct cfs_daemon *d);

/* Cluster mode starts and ends with these (ops NULL: back to local mode). */
void cfs_daemon_set_replicator(struct cfs_daemon *d, const struct cfs_replicator_ops *ops,
			       void *repl);

/* Share this node's status value / newest log entry with the other nodes (cluster mode). */
void cfs_daemon_share_kv(struct cfs_daemon *d, const char *key, const void *data, size_t len);
void cfs_daemon_share_log(struct cfs_daemon *d, const struct cfs_clog_entry *e);

/*
 * The one place that counts the apply latency of `drover cfs status`: the
 * time from a FUSE request that changes the tree to its reply (local and
 * cluster mode alike), given the request's start on the monotonic clock.
 */
void cfs_daemon_count_apply(struct cfs_daemon *d, uint64_t start_ns);
