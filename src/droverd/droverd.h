/* SPDX-License-Identifier: MIT */
/*
 * droverd, the node agent: one sd-event loop, timers only (nothing polls
 * in a loop), on every node. It
 *
 * - publishes the node's status and its guests' state every --interval
 *   seconds into droverfs's status store (status.c);
 * - keeps the node's task list right: workers that died without their end
 *   are swept, and the list is published again when droverfs comes back
 *   (tick in daemon.c);
 * - cleans up after a guest that powered off or died by itself: its
 *   taps, pid file, sockets and mounts (cleanup.c);
 * - starts the onboot guests once the node is quorate after droverd
 *   started (once per boot), and on SIGTERM shuts every guest down in
 *   reverse order before it exits (coldstart.c);
 * - runs those as tasks in forked workers that it reaps (workers.c);
 * - runs periodic jobs (jobs.c) and the replication scheduler, which
 *   starts due replication jobs as tasks, in parallel (replsched.c).
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "libdrover/cfs/ipc_client.h"
#include "libdrover/guest/ops.h"
#include "libdrover/guest/startall.h"
#include "libdrover/node/status.h"
#include "libdrover/task/task.h"

#define DROVERD_INTERVAL_DEFAULT 5
#define DROVERD_QUORUM_CHECK_MS 1000
/* Written when the cold start begins, removed after the guests were stopped: once per boot. */
#define DROVERD_COLDSTART_MARKER "/run/drover/droverd.onboot-started"

#define DROVERD_JOBS_MAX 8

struct droverd_options {
	bool foreground;
	bool debug;
	bool no_cold_start;
	unsigned interval_s;
	char socket[PATH_MAX]; /* droverfs's IPC socket; "" for the default */
	char task_dir[PATH_MAX]; /* "" for TASK_DIR_DEFAULT */
	char marker[PATH_MAX]; /* the cold start marker */
	char run_dir[PATH_MAX]; /* QEMU's run directory; "" for the default */
	unsigned stop_timeout_s; /* a guest's shutdown during stopall without down= */
};

struct droverd_worker;

/* A guest of this node as the last tick saw it (the CPU figure is a difference). */
struct droverd_guest {
	uint32_t vmid;
	enum guest_type type;
	pid_t pid;
	uint64_t cpu_ns;
	uint64_t sampled_ns;
	bool looked; /* sampled once: a stopped guest is checked for leftovers once */
	/* ticks left to clean up after it ended by itself (a second try if the first failed) */
	unsigned cleanup_ticks;
	bool cleanup_first_look; /* it was never seen running (see cleanup.c) */
};

enum droverd_cold {
	COLD_WAITING, /* for quorum */
	COLD_RUNNING, /* the startall task runs */
	COLD_DONE,
};

struct droverd {
	struct droverd_options opt;
	sd_event *event;
	char node[NODE_NAME_MAX + 1];
	bool node_known; /* from droverfs (else the host name) */

	struct task_env tasks;
	struct guest_ops_table ops;
	struct guest_ops_paths paths;

	struct ipc_client cfs;
	bool cfs_up;

	sd_event_source *tick_timer;
	sd_event_source *quorum_timer;

	/* status.c: the previous sample, for CPU use */
	uint64_t cpu_busy, cpu_total;
	struct droverd_guest *guests;
	size_t nguests;
	uint64_t vmlist_version;
	bool vmlist_known;
	unsigned guest_chunks;

	enum droverd_cold cold;
	struct droverd_worker *startall, *stopall;
	struct droverd_worker *workers; /* every worker still running */
	bool stopping;

	sd_event_source *job_timers[DROVERD_JOBS_MAX]; /* jobs.c */
	struct droverd_repl *repl; /* replsched.c */
};

/* A test program's hook: change the guest operations before the loop starts. */
typedef void (*droverd_setup_fn)(struct guest_ops_table *ops);

/* The whole daemon: options, loop, exit code. */
int droverd_main(int argc, char **argv, droverd_setup_fn setup);

/* options.c */
int droverd_options_parse(int argc, char **argv, struct droverd_options *o);

/* cfs_conn.c */
/* The connection to droverfs, made if needed. NULL while droverfs does not answer. */
struct ipc_client *droverd_cfs(struct droverd *d);
/* After a failed call: drop the connection (the next tick connects again). */
void droverd_cfs_lost(struct droverd *d, int r);

/* daemon.c */
int droverd_run(struct droverd *d);
/* Begin the stop (SIGTERM): stopall, then exit. */
void droverd_begin_stop(struct droverd *d);

/* status.c */
void droverd_status_tick(struct droverd *d);
void droverd_status_free(struct droverd *d);

/*
 * cleanup.c: g ended by itself since the last tick (first_look: g was
 * first seen stopped, as after droverd's start): remove what its start left.
 */
bool droverd_guest_cleanup(struct droverd *d, struct droverd_guest *g, bool first_look);

/* coldstart.c */
int droverd_coldstart_init(struct droverd *d);
void droverd_coldstart_stop(struct droverd *d);

/* workers.c */
typedef void (*droverd_worker_done)(struct droverd *d, struct droverd_worker *w,
				    const char *status);
/*
 * Run fn(arg) as a task in a forked worker; done (may be NULL) is called
 * with its end status once it exited. Returns 0 (and *out if not NULL) or
 * -errno (logged).
 */
int droverd_worker_start(struct droverd *d, const struct task_spec *spec, task_fn fn, void *arg,
			 droverd_worker_done done, struct droverd_worker **out);
/* SIGTERM to a running worker. */
void droverd_worker_stop(struct droverd_worker *w);
const char *droverd_worker_upid(const struct droverd_worker *w);
void droverd_workers_free(struct droverd *d);

/* jobs.c: periodic jobs and the replication scheduler */
int droverd_jobs_start(struct droverd *d);
void droverd_jobs_stop(struct droverd *d);

/* replsched.c: the replication scheduler (started and stopped by jobs.c) */
int droverd_replication_start(struct droverd *d);
void droverd_replication_stop(struct droverd *d);
