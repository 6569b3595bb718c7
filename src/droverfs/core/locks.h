/* SPDX-License-Identifier: MIT */
/*
 * Ages of the cluster-wide locks (directories in priv/lock/).
 *
 * A lock expires when its holder has not refreshed it for 120 s. Ages are
 * measured on this node's monotonic clock from the moment it saw the lock's
 * last change (clocks of different nodes need not agree). An age belongs to
 * one (inode, version) of the lock, so reloading the tree or a resync does
 * not restart it, while taking the lock again or refreshing it does.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "basic/hmap.h"
#include "tree.h"

#define CFS_LOCK_LIFETIME_NS (120ull * 1000000000ull)

typedef uint64_t (*cfs_clock_fn)(void *ctx);

struct cfs_locks {
	struct hmap by_inode;
	cfs_clock_fn clock;
	void *clock_ctx;
	uint64_t lifetime_ns;
};

/* clock NULL: the monotonic clock. */
void cfs_locks_init(struct cfs_locks *l, cfs_clock_fn clock, void *clock_ctx);
void cfs_locks_destroy(struct cfs_locks *l);

/* A lock directory was created or refreshed: its age starts now. */
int cfs_locks_observe(struct cfs_locks *l, uint64_t inode, uint64_t version);

/* A lock directory went away. */
void cfs_locks_forget(struct cfs_locks *l, uint64_t inode);

/* Has this lock, at this version, gone unrefreshed for the whole lifetime? */
bool cfs_locks_expired(struct cfs_locks *l, uint64_t inode, uint64_t version);

/* Seconds since the lock's last change, as this node saw it (-1: unknown). */
int64_t cfs_locks_age_s(struct cfs_locks *l, uint64_t inode, uint64_t version);

/*
 * Bring the table in line with a tree loaded anew: keep the ages of locks
 * that are unchanged, start new ones, drop those that are gone.
 */
int cfs_locks_sync(struct cfs_locks *l, const struct cfs_tree *t);
