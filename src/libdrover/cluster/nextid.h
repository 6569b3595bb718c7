/* SPDX-License-Identifier: MIT */
/*
 * The next free VMID: the lowest one in the `next-id` range of
 * datacenter.cfg ("next-id: lower=100,upper=1000000", upper exclusive, as
 * Proxmox has it) that no guest anywhere in the cluster uses.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define NEXTID_LOWER 100
#define NEXTID_UPPER 1000000

/*
 * Read the range from datacenter.cfg text (NULL or no next-id line: the
 * defaults). Errors name the line. Returns 0 or -EINVAL.
 */
int nextid_range(const char *text, size_t len, uint32_t *lower, uint32_t *upper,
		 struct drover_err *err);

/* Lowest id in [lower, upper) not in used[0..n) (any order). -ENOSPC when none is free. */
int nextid_pick(uint32_t lower, uint32_t upper, const uint32_t *used, size_t n, uint32_t *id);

struct cfs_brief;

/*
 * The next free VMID of the cluster, end to end: the range from the tree's
 * datacenter.cfg, the used ids from droverfs's .vmlist. Needs
 * DROVER_NEED_CFS (b). socket: droverfs's IPC socket (NULL: the default).
 * Returns 0, or -errno with err saying why (-ENOSPC: the range is full).
 */
int cluster_nextid(const char *socket, const struct cfs_brief *b, uint32_t *id,
		   struct drover_err *err);
