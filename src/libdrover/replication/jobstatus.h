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
#include "libdrover/node/status.h"
#include "state.h"

struct repl_job_status {
	struct repl_job job;
	struct repl_job_state st; /* all zero when the job never ran here */
	bool has_state;
	bool running; /* a run's process is alive */
	int64_t next_sync; /* REPL_NEXT_NEVER, REPL_NEXT_NOW or a time */
	/*
	 * The target is not an online member: the job waits for it (not run,
	 * fail_count untouched), as pvesr waits only once a job is in error.
	 */
	bool target_offline;
	/* the guest was taken over (the job's source is another node): due, to be adopted */
	bool adopt;
};

/* The cluster's nodes and whether they are online (NULL, 0: all are taken as online). */
struct repl_members {
	const struct cluster_node *nodes;
	size_t n;
};

/* Is node an online member? (Unknown membership: yes.) */
bool repl_member_online(const struct repl_members *m, const char *node);

/*
 * Does job need its target to run? Not when it only removes its snapshots
 * here (remove_job=local).
 */
bool repl_job_needs_target(const struct repl_job *job);

/* *out (free()): the jobs of cfg on this node (b->node), sorted by guest and job number. */
int repl_jobs_status(const struct cfs_brief *b, const struct repl_cfg *cfg,
		     const struct repl_state *st, const struct repl_members *members,
		     bool with_disabled, struct repl_job_status **out, size_t *n,
		     struct drover_err *err);

/*
 * The membership as droverfs sees it, asked on socket (NULL: the default);
 * m->nodes: free(). On failure m is empty (everyone online) and -errno returned.
 */
int repl_members_get(const char *socket, struct repl_members *m);

/* Is guest's config in this node's directory of droverfs? */
bool repl_guest_is_here(const struct cfs_brief *b, uint32_t vmid);
