/* SPDX-License-Identifier: MIT */
/*
 * A guest taken over: its config now lives on this node, but its jobs say
 * it is on another (the source), because the config was moved off a dead
 * node (drover vm recover, or by hand as pvesr's manual says) instead of
 * migrated. The next run here adopts the guest's jobs: source := this
 * node, and the job that fed this node feeds the old source instead
 * (pvesr's stolen-guest switch). The old node's job state cannot be
 * reached, so this node starts without one: the base is the newest
 * replication snapshot both sides hold, matched by identity, and the first
 * run back into the old node rolls back whatever that node wrote after it.
 * That is data loss on the old node when it returns, and the job log and
 * the task log say so loudly.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libdrover/cluster/cfs.h"
#include "libdrover/error.h"
#include "libdrover/replication/job.h"

/* What repl_adopt_guest did. */
struct repl_adopt {
	bool changed; /* jobs were modified: write replication.cfg */
	bool stolen; /* the guest came here without a migration */
	char old_source[NODE_NAME_MAX + 1]; /* where it was */
};

/*
 * Does a job of guest (whose config is on local_node) name another node as
 * its source? Then the guest was taken over and its jobs wait to be adopted.
 */
bool repl_adopt_pending(const struct repl_job *jobs, size_t n, uint32_t guest,
			const char *local_node);

/*
 * The decision on guest, whose config is on local_node: jobs without a
 * source get it; if a job says the guest is elsewhere, the guest was taken
 * over and the jobs are switched as for a migration from the old source to
 * here (a job to local_node now goes to the old source, every job leaves
 * from local_node). Returns 0, -EEXIST (nothing changed) when two jobs
 * would then share a target, or -EINVAL (nothing changed) when a job
 * without a source targets local_node (it would become source = target).
 */
int repl_adopt_guest(struct repl_job *jobs, size_t n, uint32_t guest, const char *local_node,
		     struct repl_adopt *out, struct drover_err *err);

/*
 * The loud line for the logs after guest was stolen from a->old_source
 * onto local_node.
 */
void repl_adopt_warning(const struct repl_adopt *a, uint32_t guest, const char *local_node,
			char *out, size_t len);

/*
 * Adopt guest's jobs on this node (b->node) if they are pending: the
 * decision above applied to replication.cfg under the cluster lock, and
 * the guest's job states on this node (state_path, NULL: the default)
 * dropped when it was stolen, as they are older than the old node's. Does
 * nothing when the guest's config is not on this node. Returns 0 or -errno.
 */
int repl_adopt_apply(const struct cfs_brief *b, const char *state_path, uint32_t guest,
		     struct repl_adopt *out, struct drover_err *err);
