/* SPDX-License-Identifier: MIT */
/*
 * A snapshot of the daemon's status as the parts see it: the JSON of
 * `drover cfs status` and of .members is made from this, so that
 * status_json.c and virtual.c read figures and call into no part. Each
 * part fills its own fields (cfs_part_ops.status); cfs_status_collect()
 * asks them all.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "context.h"
#include "droverfs/replica/replica.h"

/* A node of corosync.conf's nodelist. */
struct cfs_status_node {
	char name[64];
	char addr[64]; /* from corosync.conf */
	uint32_t nodeid;
	bool online; /* a member of the group */
};

/* The corosync adapter's figures (cluster mode only). */
struct cfs_status_cluster {
	struct cfs_replica_status replica;
	uint32_t nodeid;
	char name[64]; /* corosync.conf's cluster_name */
	uint64_t config_version;
	bool forced; /* quorum is forced (expected votes lowered by hand) */
	unsigned expected_votes;
	size_t in_flight; /* own ops sent, not applied yet */
	size_t send_queue; /* multicasts corosync did not take yet */
	char (*members)[64]; /* the group's members by name, in the group's order */
	size_t nmembers;
	struct cfs_status_node *nodes;
	size_t nnodes;
};

struct cfs_status {
	unsigned watchers; /* IPC connections watching for changes */
	bool clustered;
	struct cfs_status_cluster cluster; /* if clustered */
};

/* Ask every part for its figures; cfs_status_free() after. */
void cfs_status_collect(struct cfs_daemon *d, struct cfs_status *s);
void cfs_status_free(struct cfs_status *s);
