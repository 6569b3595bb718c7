/* SPDX-License-Identifier: MIT */
/*
 * Take this node out of its cluster without reinstalling it (the manual
 * procedure as one operation): corosync stops, droverfs restarts in local
 * mode so the tree is writable, the cluster configuration and the other
 * nodes' directories go, the node's own guests stay, and droverfs starts
 * again as a single node.
 */
#pragma once

#include "cfs.h"
#include "libdrover/report.h"

/*
 * Needs DROVER_NEED_ROOT | DROVER_NEED_CLUSTER: b is droverfs's state and
 * holds it in local mode on success. socket: droverfs's IPC socket (NULL:
 * the default). Each step is reported.
 */
int cluster_separate(const char *socket, struct cfs_brief *b, const struct drover_reporter *rep,
		     struct drover_err *err);
