/* SPDX-License-Identifier: MIT */
/*
 * Delete a node from the cluster: it leaves corosync.conf under the
 * cluster-wide lock (config_version + 1) and its corosync, if it still
 * runs, is asked to stop. Its directory and keys stay in the tree.
 */
#pragma once

#include "cfs.h"
#include "libdrover/report.h"

struct cluster_delnode_result {
	char name[64]; /* the node's name (who may have been an address) */
	unsigned nodeid;
	uint64_t version; /* the config_version written */
};

/*
 * Needs DROVER_NEED_ROOT | DROVER_NEED_CLUSTER | DROVER_NEED_QUORATE: b is
 * droverfs's state. who: a node name or a link address. Refuses this node,
 * the last node, and any node while a QDevice is configured. Each step is
 * reported; replication jobs still targeting the node are warned about.
 */
int cluster_delnode(const struct cfs_brief *b, const char *who, struct cluster_delnode_result *res,
		    const struct drover_reporter *rep, struct drover_err *err);
