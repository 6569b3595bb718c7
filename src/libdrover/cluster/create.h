/* SPDX-License-Identifier: MIT */
/*
 * Create a cluster: this node becomes the first node of a new one. The
 * corosync authkey and corosync.conf (config_version 1) are written into
 * /etc/corosync and the tree, the cluster CA, this node's certificate and
 * the shared SSH files are set up, then corosync starts and droverfs
 * restarts in cluster mode until it is quorate.
 */
#pragma once

#include "cfs.h"
#include "conf.h"
#include "libdrover/report.h"

struct cluster_create_req {
	const char *name; /* the cluster's name (cluster_name_valid) */
	/* name is set from droverfs; nodeid 0: 1; no link: the host name's address */
	struct cluster_node_spec node;
};

/*
 * Needs DROVER_NEED_ROOT | DROVER_NEED_CFS: b is droverfs's state, and
 * holds it in cluster mode on success. socket: droverfs's IPC socket (NULL:
 * the default). req->node is completed (name, node id, link0). Refuses a
 * node that is in a cluster or runs corosync. Each step is reported.
 */
int cluster_create(const char *socket, struct cfs_brief *b, struct cluster_create_req *req,
		   const struct drover_reporter *rep, struct drover_err *err);
