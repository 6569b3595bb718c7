/* SPDX-License-Identifier: MIT */
/*
 * Running drover on another node of the cluster (`drover task log` and
 * `drover task stop` of another node's task): the node's address as
 * droverfs's members list has it, then "drover ARGS..." there as root
 * over SSH (cluster/ssh.h: root's key, the usual known_hosts).
 */
#pragma once

#include <stddef.h>

#include "libdrover/cfs/ipc_client.h"
#include "libdrover/error.h"

#include "status.h"

/*
 * node's address among the members v: the one .members has, else (local
 * mode has none) the name itself. -ENOENT (with err) when node is not one.
 */
int node_address_of(const struct cluster_node *v, size_t n, const char *node, char *addr,
		    size_t len, struct drover_err *err);

/*
 * node's address from droverfs's members (c connected): the one .members
 * has, else (local mode has none) the name itself. -ENOENT (with err) when
 * node is no node of the cluster, or the members cannot be read.
 */
int node_address(struct ipc_client *c, const char *node, char *addr, size_t len,
		 struct drover_err *err);

/*
 * Run "drover ARGS..." on node (droverfs at socket, NULL: the default),
 * its stdin, stdout and stderr ours. Returns drover's exit status there,
 * or -errno with err: droverfs does not answer, -ENOENT no such node,
 * -EHOSTUNREACH when ssh itself failed.
 */
int node_run_drover(const char *socket, const char *node, char *const args[],
		    struct drover_err *err);
