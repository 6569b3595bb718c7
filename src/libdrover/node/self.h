/* SPDX-License-Identifier: MIT */
/*
 * This node's name, as tasks, the status store and the guest lists carry
 * it: droverfs's (the cluster's word for it), else the short host name.
 */
#pragma once

#include <stddef.h>

#include "libdrover/error.h"

/*
 * This node's name into out (len: NODE_NAME_MAX + 1 holds any), asking the
 * droverfs at cfs_socket (NULL: the default). Returns 0, or -errno with err
 * saying why it cannot be told (the host name not a valid node name...).
 */
int node_self_name(const char *cfs_socket, char *out, size_t len, struct drover_err *err);
