/* SPDX-License-Identifier: MIT */
/*
 * droverfs, the daemon: its context (everything mutable lives here) and
 * the pieces that share it. One thread runs everything on one sd-event
 * loop: the FUSE session, the IPC socket and the timers. A second thread
 * only tells the kernel to drop cached data (notify.h).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "clusterlog.h"
#include "fsversion.h"
#include "kvstore.h"
#include "locks.h"
#include "persist.h"

struct cfs_daemon;
struct cfs_cluster;
struct cfs_fuse;
struct cfs_ipc_server;

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
	struct cfs_fuse *fuse;
	struct cfs_ipc_server *ipc;
	struct cfs_cluster *cluster; /* NULL in local mode */
	uint32_t nodeid; /* corosync node id in cluster mode, 0 in local mode */

	struct cfs_pending *pending; /* ops applied in the open batch, in order */
	size_t npending, pending_cap;

	uint64_t reloads_seen; /* persist->stats.reloads already handled */
	uint64_t apply_ns_total; /* time from submit to reply, for the status */
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

/* Create the directories every node has, where missing (nodes/<me>/..., priv/lock). */
void cfs_daemon_ensure_layout(struct cfs_daemon *d);

int cfs_daemon_run(struct cfs_daemon *d);
