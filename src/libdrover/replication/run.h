/* SPDX-License-Identifier: MIT */
/*
 * One run of one replication job on the guest's node (pvesr's
 * run_replication and replicate), with drover's changes:
 *
 *   prepare here and on the target (stale snapshots of the job removed,
 *   the target's snapshots listed) -> a base per volume, matched by
 *   identity (GUID, btrfs UUID/received UUID), never by name alone ->
 *   freeze -> snapshot every volume __replicate_JOBID_START__ -> thaw ->
 *   each volume streamed (storage_copy: rate limit, zstd, the target
 *   keeps nothing of a broken stream) -> last_sync recorded -> only then
 *   the older snapshots removed here and on the target (finalize).
 *
 * A failed transfer removes the new snapshots and keeps the old base, so
 * the next run is incremental again. The run records its start and end in
 * the node's state file (fail_count, error, duration, bytes) and logs to
 * the job's log. A job marked remove_job is removed instead.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "job.h"
#include "libdrover/report.h"
#include "libdrover/storage/storage.h"

struct repl_run_opts {
	const char *state_path; /* NULL: repl_state_path(NULL) */
	const char *log_dir; /* NULL: REPL_LOG_DIR_DEFAULT */
	const struct drover_reporter *rep; /* gets the log's lines too (may be NULL) */
	const volatile int *cancel; /* non-zero: stop, as a failure */
	int64_t iteration; /* the scheduler's round (0: the run's start) */
	bool compress; /* zstd on the wire */
	/* the guest was just taken over from this node (adopt.h): the log says what that costs */
	const char *adopted_from;
};

struct repl_run_result {
	uint64_t bytes; /* stream bytes moved */
	double duration; /* seconds */
	bool removed; /* the job was removed (remove_job) */
};

/*
 * Run job (as replication.cfg has it) now. Returns 0, or -errno with err
 * saying why (also recorded as the job's error).
 */
int repl_run_job(struct storage_env *env, const struct repl_job *job, const struct repl_run_opts *o,
		 struct repl_run_result *res, struct drover_err *err);
