/* SPDX-License-Identifier: MIT */
/*
 * The directories every node has (as /etc/pve): nodes/<me>/{qemu-server,
 * lxc,priv} and priv/lock, made where missing through the submit path.
 */
#pragma once

#include "context.h"

/* Submit the first missing directory; the next follows once it was applied. */
void cfs_node_dirs_ensure(struct cfs_daemon *d);
