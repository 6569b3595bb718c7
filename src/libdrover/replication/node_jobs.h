/* SPDX-License-Identifier: MIT */
/*
 * This node's replication jobs as the front ends ask for them (drover
 * replication status, run, schedule-now, set-state, metrics; later the
 * API): replication.cfg, the membership and the node's state file read
 * together, the due jobs run one after the other, a job made due, a
 * guest's states taken over, the jobs as Prometheus gauges.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/buf.h"
#include "jobstatus.h"
#include "run.h"

/*
 * The jobs of this node with their state (jobstatus.h), asking droverfs
 * on socket (NULL: the default) and the state file at state_path (NULL:
 * the default). *v: free().
 */
int repl_node_jobs(const char *socket, const char *state_path, bool with_disabled,
		   struct repl_job_status **v, size_t *n, struct drover_err *err);

/*
 * Run every job of this node that is due now and not running (repl_run_id
 * each); failed(ctx, guest, jobnum, err) hears of each that fails. Returns
 * the number of failed jobs, or -errno (err) when the jobs cannot be read.
 */
int repl_run_due(const char *socket, const struct repl_run_opts *o,
		 void (*failed)(void *ctx, uint32_t guest, uint32_t jobnum,
				const struct drover_err *err),
		 void *ctx, struct drover_err *err);

/* Make job guest-jobnum due at once (schedule-now) in the state file at state_path (NULL: default). */
int repl_schedule_now(const char *socket, const char *state_path, uint32_t guest, uint32_t jobnum,
		      struct drover_err *err);

/*
 * Replace guest's job states in the state file at state_path (NULL:
 * default) by json ({"local/NODE": {...}}), as a migration hands them over.
 */
int repl_state_set_guest(const char *state_path, uint32_t guest, const char *json,
			 struct drover_err *err);

/* The jobs v as Prometheus text-format gauges at time now, appended to out. */
int repl_metrics_text(const struct repl_job_status *v, size_t n, int64_t now, struct buf *out);
