/* SPDX-License-Identifier: MIT */
/*
 * corosync.conf in cluster mode: the tree holds the cluster's copy; each
 * node installs it as corosync's own (conf_install.h) whenever it changes
 * and tells the others which version it has (CMSG_CONF_WRITTEN). Once
 * every member has it (or after a while), the lowest member asks corosync
 * to reload it, in a thread, since that call blocks. A change made under
 * the corosync.conf lock is rolled out once the lock is released.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "droverfs/shell/context.h"
#include "droverfs/replica/replica.h"

/*
 * The lock the cluster commands take around a corosync.conf change
 * (drover cluster add/delnode/qdevice). While it is held, the change is not
 * finished: the reload waits for its release. Otherwise adding a node to a
 * one-node cluster raised the expected votes before the lock was released,
 * and the member, without quorum until the new node is in, could not
 * release it.
 */
#define CONF_LOCK_PATH "priv/lock/file-corosync_conf"

struct cfs_conf_rollout {
	struct cfs_daemon *d;
	struct cfs_replica *replica;
	sd_event_source *timer; /* reload even if a member is slow or gone */
	uint64_t version; /* version being rolled out */
	uint32_t written[64]; /* the nodes that have it */
	size_t nwritten;
	bool changed; /* some node really wrote `version` (not just had it) */
	uint64_t reloaded; /* version corosync was last told to load */
};

int cfs_conf_rollout_init(struct cfs_conf_rollout *r, struct cfs_daemon *d,
			  struct cfs_replica *replica);
void cfs_conf_rollout_destroy(struct cfs_conf_rollout *r);

/* Install the tree's corosync.conf here (if newer) and tell the other nodes. */
void cfs_conf_rollout_install(struct cfs_conf_rollout *r);

/* A node's CMSG_CONF_WRITTEN: it has this version (payload: u64 version, u8 written now). */
void cfs_conf_rollout_written(struct cfs_conf_rollout *r, uint32_t nodeid, const void *payload,
			      size_t len);

/* A committed change: corosync.conf itself or the release of its lock. */
void cfs_conf_rollout_changed(struct cfs_conf_rollout *r, const struct cfs_change *ch);

/* The tree's corosync.conf (a file), or NULL. */
const struct cfs_entry *cfs_tree_corosync_conf(struct cfs_state *st);

/* The content of a file entry and its length ("" if empty). */
const char *cfs_entry_text(const struct cfs_entry *e, size_t *len);
