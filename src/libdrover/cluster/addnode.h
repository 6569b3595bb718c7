/* SPDX-License-Identifier: MIT */
/*
 * The member's side of a join: the joining node runs `drover cluster
 * _addnode` here over SSH with its request (join.h). The node is added to
 * corosync.conf under the cluster-wide lock, its directories made and its
 * keys shared, and the answer carries the new corosync.conf and the
 * authkey.
 */
#pragma once

#include "join.h"

/*
 * Add req's node. socket: droverfs's IPC socket (NULL: the default). It
 * checks for itself that this node is in a quorate cluster (the request
 * comes from another node, whose answer is resp). Fills resp (nodeid,
 * corosync_conf, authkey). Returns 0 or -errno with err saying why.
 */
int cluster_addnode(const char *socket, struct join_request *req, struct join_response *resp,
		    struct drover_err *err);
