/* SPDX-License-Identifier: MIT */
/*
 * The per-node state of replication jobs (pvesr's
 * pve-replication-state.json): for each guest and target, when the job last
 * ran and last succeeded, its failures, what it moved, and whether it runs
 * now. Not cluster-wide: every node keeps the state of the jobs it runs.
 * This file is the model and its transitions; state_json.h reads and
 * writes it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libdrover/error.h"
#include "libdrover/format/names.h"
#include "libdrover/storage/plugin.h"

#define REPL_STOREIDS_MAX 32
#define REPL_ERROR_MAX 1024

struct repl_job_state {
	int64_t last_iteration; /* the scheduler round that last ran the job */
	int64_t last_try; /* start of the last run (0: never; the schedule counts from it) */
	int64_t last_sync; /* start of the last successful run = its snapshot's epoch */
	uint32_t fail_count; /* failed runs since the last success */
	double duration; /* seconds the last run took */
	uint64_t bytes; /* bytes the last run moved (drover; pvesr has none) */
	char error[REPL_ERROR_MAX]; /* the last run's error, "" after a success */
	char last_node[NODE_NAME_MAX + 1]; /* the node that ran it last */
	/* the storages of the job's volumes, sorted: where the target looks for stale ones */
	char storeids[REPL_STOREIDS_MAX][STORAGE_ID_MAX];
	size_t n_storeids;
	/* while a run is in progress: its process and that process's start time */
	int32_t pid;
	uint64_t ptime;
};

/* One job's state, keyed as pvesr keys it: guest and "local/TARGET". */
struct repl_state_entry {
	uint32_t guest;
	char target[NODE_NAME_MAX + 1];
	struct repl_job_state st;
};

/* All jobs' state on a node, sorted by guest, then target. */
struct repl_state {
	struct repl_state_entry *entries;
	size_t n, cap;
};

void repl_state_init(struct repl_state *s);
void repl_state_free(struct repl_state *s);

/* The state of guest's job to target, or NULL. */
struct repl_job_state *repl_state_find(const struct repl_state *s, uint32_t guest,
				       const char *target);

/* The same, created (all zero) if missing. Returns 0, -EINVAL (bad target) or -ENOMEM. */
int repl_state_get(struct repl_state *s, uint32_t guest, const char *target,
		   struct repl_job_state **out);

/* Forget one job's state; forget all of a guest's (a new or restored guest). */
void repl_state_remove(struct repl_state *s, uint32_t guest, const char *target);
void repl_state_remove_guest(struct repl_state *s, uint32_t guest);

/*
 * Forget the states of jobs that `keep` says are not configured for this
 * node (pvesr's purge_old_states). Returns how many were dropped.
 */
size_t repl_state_purge(struct repl_state *s,
			bool (*keep)(uint32_t guest, const char *target, void *ctx), void *ctx);

/*
 * A run starts (pvesr's record_job_start): start is its time and the time
 * of its snapshot, iteration the scheduler round; pid/ptime the process
 * doing it.
 */
void repl_job_started(struct repl_job_state *js, int64_t start, int64_t iteration, const char *node,
		      int32_t pid, uint64_t ptime);

/*
 * The storages of the run's volumes: sorted, duplicates dropped. Returns 0
 * or -E2BIG (more than REPL_STOREIDS_MAX) / -EINVAL (not a storage ID).
 */
int repl_job_set_storeids(struct repl_job_state *js, const char *const *ids, size_t n,
			  struct drover_err *err);

/*
 * Every volume arrived: last_sync becomes the run's start (the epoch of
 * its snapshots). Called before any older snapshot is removed, so a crash
 * in between loses no base (pvesr's record_sync_end).
 */
void repl_job_synced(struct repl_job_state *js, int64_t start);

/*
 * The run that began at start ended (pvesr's record_job_end): with error
 * NULL a success (last_sync = start, no failures, no error), else one
 * failure more and the error kept (its last line break dropped). Either way
 * not running any more.
 */
void repl_job_finished(struct repl_job_state *js, int64_t start, double duration, uint64_t bytes,
		       const char *error);

/* schedule-now: due at once (the schedule counts from a last try of 0). */
void repl_job_schedule_now(struct repl_job_state *js);

/*
 * Running: a run recorded its process and that process still exists with
 * the same start time (ptime_now: the start time of js->pid now, 0 if there
 * is no such process).
 */
bool repl_job_running(const struct repl_job_state *js, uint64_t ptime_now);

/* A storage ID: [a-z][a-z0-9._-]*, at most 63 characters (pvesm's rule). */
bool repl_storage_id_valid(const char *id);
