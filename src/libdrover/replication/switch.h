/* SPDX-License-Identifier: MIT */
/*
 * Turning replication around when a guest moves (pvesr's
 * switch_replication_job_target and the stolen-guest check of job_status),
 * as pure transformations of the job list and the state; the caller holds
 * the locks and writes the results.
 *
 * A guest on A replicated to B migrates to B: the job A->B becomes B->A,
 * and its state (last_sync, whose snapshot both nodes hold) goes with the
 * guest, so the next run is incremental in the other direction. A job A->C
 * becomes B->C.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libdrover/error.h"
#include "libdrover/replication/job.h"
#include "libdrover/replication/state.h"

/*
 * Every job of guest that targets old_target targets new_target instead,
 * and every job of guest gets source old_target (the node the guest is on
 * now). Returns how many jobs were retargeted, or -EEXIST (and changes
 * nothing) if two jobs of the guest would then have the same target.
 */
int repl_switch_target(struct repl_job *jobs, size_t n, uint32_t guest, const char *old_target,
		       const char *new_target, struct drover_err *err);

/* What repl_adopt_guest did. */
struct repl_adopt {
	bool changed; /* jobs were modified: write replication.cfg */
	bool stolen; /* the guest came here without a migration */
	char old_source[NODE_NAME_MAX + 1]; /* where it was */
};

/*
 * The scheduler's look at a guest that is on local_node: jobs without a
 * source get it; if a job says the guest is elsewhere, the guest was
 * taken over (its config moved off a dead node): the jobs are switched as
 * for a migration from the old source to here. The next run to the old
 * source then rolls back whatever that node wrote after the last common
 * snapshot; the caller says so loudly.
 */
int repl_adopt_guest(struct repl_job *jobs, size_t n, uint32_t guest, const char *local_node,
		     struct repl_adopt *out, struct drover_err *err);

/*
 * The state a migration hands to the target node (pvesr's
 * extract_vmid_tranfer_state): guest's entries, the one for old_target
 * (where the guest goes) under new_target (where it comes from). out is
 * empty on entry. Returns 0 or -ENOMEM.
 */
int repl_state_for_transfer(const struct repl_state *s, uint32_t guest, const char *old_target,
			    const char *new_target, struct repl_state *out);
