/* SPDX-License-Identifier: MIT */
/*
 * Join this node to a cluster (`drover cluster add`, run on the new node):
 * check that it can join, verify the member's SSH host key, have the member
 * add it (cluster _addnode over SSH: addnode.h), then start over with the
 * cluster's tree: the node's own database is moved to a backup, corosync
 * and droverfs start, and once quorate its keys and certificate are set up.
 */
#pragma once

#include <stdbool.h>

#include "cfs.h"
#include "conf.h"
#include "join.h"
#include "libdrover/report.h"

struct cluster_add_req {
	const char *host; /* a member's address */
	char fingerprint[JOIN_FINGERPRINT_MAX]; /* its SSH host key; "": known_hosts decide */
	bool force; /* discard this node's configuration and guests */
	struct cluster_node_spec node; /* name is set from droverfs; no link: the host name's */
};

struct cluster_add_result {
	unsigned nodeid; /* given by the member */
	bool joined; /* in the cluster, even when setting up keys failed afterwards */
};

/*
 * Needs DROVER_NEED_ROOT | DROVER_NEED_CFS: old is droverfs's state before
 * the join. socket: droverfs's IPC socket (NULL: the default). What a join
 * would throw away is reported as an error each and refused unless
 * req->force. Each step is reported. After a join whose last step (keys,
 * certificate) failed, res->joined is true and the error says so.
 */
int cluster_add(const char *socket, const struct cfs_brief *old, struct cluster_add_req *req,
		struct cluster_add_result *res, const struct drover_reporter *rep,
		struct drover_err *err);
