/* SPDX-License-Identifier: MIT */
/*
 * The jobs this node runs and when (pvesr's job_status): the jobs of
 * replication.cfg whose guest is on this node, with their state here and
 * their next sync (schedule.h). Disabled jobs only when asked (status
 * shows them, the scheduler does not run them); a job being removed is
 * always due, disabled or not.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "libdrover/cluster/cfs.h"
#include "state.h"

struct repl_job_status {
	struct repl_job job;
	struct repl_job_state st; /* all zero when the job never ran here */
	bool has_state;
	bool running; /* a run's process is alive */
	int64_t next_sync; /* REPL_NEXT_NEVER, REPL_NEXT_NOW or a time */
};

/* *out (free()): the jobs of cfg on this node (b->node), sorted by guest and job number. */
int repl_jobs_status(const struct cfs_brief *b, const struct repl_cfg *cfg,
		     const struct repl_state *st, bool with_disabled, struct repl_job_status **out,
		     size_t *n, struct drover_err *err);

/* Is guest's config in this node's directory of droverfs? */
bool repl_guest_is_here(const struct cfs_brief *b, uint32_t vmid);
