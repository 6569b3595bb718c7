/* SPDX-License-Identifier: MIT */
/*
 * Running drover on another node of the cluster (`drover task log` and
 * `drover task stop` of another node's task): "drover ARGS..." there as
 * root over SSH, the way replication reaches a node (cluster/ssh.h,
 * ssh_node_run_drover: its link0 address, its host key as droverfs pinned
 * it).
 */
#pragma once

#include "libdrover/error.h"

/*
 * Run "drover ARGS..." on node (droverfs at socket, NULL: the default),
 * its stdin, stdout and stderr ours. Returns drover's exit status there,
 * or -errno with err: droverfs does not answer, -ENOENT no such node,
 * -EHOSTUNREACH when ssh itself failed.
 */
int node_run_drover(const char *socket, const char *node, char *const args[],
		    struct drover_err *err);
