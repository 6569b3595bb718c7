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

/*
 * The state a migration hands to the target node (pvesr's
 * extract_vmid_tranfer_state): guest's entries, the one for old_target
 * (where the guest goes) under new_target (where it comes from). out is
 * empty on entry. Returns 0 or -ENOMEM.
 */
int repl_state_for_transfer(const struct repl_state *s, uint32_t guest, const char *old_target,
			    const char *new_target, struct repl_state *out);
