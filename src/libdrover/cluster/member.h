/* SPDX-License-Identifier: MIT */
/*
 * This node as a member of its cluster, as corosync.conf names it: what a
 * new node needs to join through it (join-info), and renewing its place in
 * the tree (updatecerts: SSH keys, known hosts, its certificate).
 */
#pragma once

#include <stdbool.h>

#include "cfs.h"
#include "join.h"

/*
 * The join information: the cluster's name, this member's address on each
 * link and its SSH host key's fingerprint. Needs DROVER_NEED_CFS (b).
 */
int cluster_join_info(const struct cfs_brief *b, struct join_info *info, struct drover_err *err);

/*
 * Root's SSH key into the cluster's authorized_keys, this host's key into
 * its known_hosts, and this node's certificate issued if missing, expiring
 * within 30 days, or force. Needs DROVER_NEED_ROOT | DROVER_NEED_QUORATE (b).
 */
int cluster_updatecerts(const struct cfs_brief *b, bool force, struct drover_err *err);
