/* SPDX-License-Identifier: MIT */
/*
 * The job edits of `drover replication` (pvesr's create-local-job, update,
 * enable, disable, delete) as operations on replication.cfg under the
 * cluster lock, for every front end. Each has a pure half that changes a
 * repl_cfg in memory (unit-tested) and the locked edit around it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "libdrover/cluster/cfs.h"
#include "libdrover/error.h"
#include "config.h"
#include "job.h"

/* An edit of job (job.guest, job.jobnum): the fields whose has_ is set take job's values. */
struct repl_job_edit {
	struct repl_job job;
	bool has_schedule, has_rate, has_comment, has_disable, has_source, has_remove;
	const char *deletes; /* properties to remove, "KEY,KEY" (NULL: none) */
	const char *digest; /* refuse with -ESTALE unless replication.cfg has it (NULL: any) */
};

/*
 * The nodes of a new job of a guest on guest_node: target must be a
 * member (target_member) and not guest_node; a given source (has_source)
 * must be guest_node. Sets job->source to guest_node.
 */
int repl_job_place(struct repl_job *job, bool has_source, const char *guest_node,
		   bool target_member, struct drover_err *err);

/* Apply e's changes and deletions to its job in cfg (-ENOENT: no such job). */
int repl_job_edit_apply(struct repl_cfg *cfg, const struct repl_job_edit *e,
			struct drover_err *err);

enum repl_delete_mode {
	REPL_DELETE_FULL, /* remove_job=full: the scheduler cleans up both sides */
	REPL_DELETE_KEEP, /* remove_job=local: the target keeps its volumes */
	REPL_DELETE_FORCE, /* the entry goes at once, no cleanup */
};

/* Mark (or with FORCE remove) job guest-jobnum in cfg (-ENOENT: no such job). */
int repl_job_delete_apply(struct repl_cfg *cfg, uint32_t guest, uint32_t jobnum,
			  enum repl_delete_mode mode, struct drover_err *err);

/*
 * create-local-job: the guest exists, its config has no lock: (-EBUSY)
 * and it has replicatable volumes, the target is a member other than the
 * guest's node (repl_job_place), and the job is added with e's values
 * (only e->job, e->has_source and e->digest count). All under the guest's
 * cluster lock priv/lock/guest-VMID (waited for, -EBUSY when another
 * operation keeps it), so a destroy cannot go on meanwhile.
 */
int repl_job_create(const struct cfs_brief *b, const struct repl_job_edit *e,
		    struct drover_err *err);

/* update, enable, disable: repl_job_edit_apply under the lock. */
int repl_job_update(const struct cfs_brief *b, const struct repl_job_edit *e,
		    struct drover_err *err);

/* delete: repl_job_delete_apply under the lock. */
int repl_job_delete(const struct cfs_brief *b, uint32_t guest, uint32_t jobnum,
		    enum repl_delete_mode mode, struct drover_err *err);
