/* SPDX-License-Identifier: MIT */
/*
 * Running a long operation as a task, as Proxmox does: the operation runs
 * in a worker process whose UPID (UPID:node:pid:pstart:starttime:type:id:
 * user:) names the task, writes its progress as plain lines into the
 * task's log (DIR/X/UPID) and ends it with "TASK OK" or "TASK ERROR: ...".
 * The node's task store (task_store.h) records it as running and then
 * finished, and publishes the node's tasks in droverfs's status store
 * (key "tasklist", task_json.h), so every node lists every node's tasks.
 *
 * The same code serves the CLI (`drover vm start` forks its worker and
 * prints the log as it grows, as `qm start` does) and droverd (which forks
 * workers for the cold start and, later, the replication scheduler).
 *
 * Stopping a task is a SIGTERM to its worker (task_stop()). The worker
 * notes it (task_interrupted(); blocking calls return EINTR), the
 * operation should give up, and the task ends with "TASK ERROR:
 * interrupted by signal" whatever the operation returned. An operation
 * that does not give up within TASK_STOP_GRACE_S is ended all the same:
 * the end line is written and the worker exits.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "libdrover/error.h"
#include "libdrover/report.h"
#include "task_store.h"
#include "upid.h"

#define TASK_USER_DEFAULT "root@pam"
#define TASK_STOP_GRACE_S 10
#define TASK_INTERRUPTED "interrupted by signal"

/* Where a node keeps its tasks and how it tells the cluster. */
struct task_env {
	const char *dir; /* NULL: TASK_DIR_DEFAULT */
	const char *node; /* this node's name: task_node_name() */
	const char *cfs_socket; /* droverfs's IPC socket for publishing; NULL: the default */
	bool no_publish; /* keep the list to this node (no droverfs: unit tests) */
	unsigned stop_grace_s; /* 0: TASK_STOP_GRACE_S */
};

/* What a task is: the type, id and user of its UPID. */
struct task_spec {
	const char *type; /* "qmstart", "vzshutdown", "startall", ... */
	const char *id; /* "100", a storage, or NULL/"" */
	const char *user; /* NULL: TASK_USER_DEFAULT */
};

struct task;

/*
 * This node's name for tasks: droverfs's (it may run with --nodename),
 * else the host name up to its first dot. Returns 0 or -errno.
 */
int task_node_name(const char *cfs_socket, char *out, size_t len);

/* The store of env (its directory and its publishing to droverfs). */
void task_env_store(const struct task_env *env, struct task_store *store);

/*
 * Begin a task in this process (the worker): its UPID from our pid, our
 * start time and now; its log created; recorded as running. Returns 0 and
 * *out, or -errno with err saying why.
 */
int task_begin(const struct task_env *env, const struct task_spec *spec, struct task **out,
	       struct drover_err *err);

const char *task_upid(const struct task *t);

/*
 * The task's log as a reporter for libdrover operations: log lines (and
 * warnings) become lines of the log, byte counts a "transferred" line now
 * and then.
 */
const struct drover_reporter *task_reporter(struct task *t);

/*
 * End the task: "TASK OK" when r >= 0, else "TASK ERROR: " and err's text
 * (or strerror(-r)); "interrupted by signal" when a stop signal came.
 * Recorded as finished; t is freed. Returns 0 or -errno (the bookkeeping).
 */
int task_end(struct task *t, int r, const struct drover_err *err);

/* A task's operation: progress to log, 0 or -errno with err filled. */
typedef int (*task_fn)(void *arg, const struct drover_reporter *log, struct drover_err *err);

struct task_worker {
	pid_t pid;
	char upid[UPID_MAX];
};

/*
 * Fork a worker that runs fn(arg) as a task and exits (0: TASK OK, 1:
 * TASK ERROR). Returns once the task is recorded, with its pid and UPID in
 * w; the caller reaps the worker. Returns 0 or -errno with err.
 */
int task_fork(const struct task_env *env, const struct task_spec *spec, task_fn fn, void *arg,
	      struct task_worker *w, struct drover_err *err);

/*
 * Wait for worker w (our child) to exit and give its end in status ("OK"
 * or the error). If the worker ended without recording it (killed), the
 * store gets it now: the log's end line, else "unexpected status". When
 * the caller is itself a task worker and is asked to stop while waiting,
 * the stop is passed on to w. Returns 0 or -errno.
 */
int task_wait(const struct task_env *env, const struct task_worker *w, char *status, size_t len);

/*
 * After worker w (not necessarily ours) exited: its end in status, from
 * the log's end line, else "unexpected status"; recorded in the store if
 * the worker did not get to it. Returns 0 or -errno.
 */
int task_record_end(const struct task_env *env, const struct task_worker *w, char *status,
		    size_t len);

/* In a worker: has a stop signal come? Operations that loop ask between steps. */
bool task_interrupted(void);

/*
 * Stop a running task of this node: SIGTERM to its worker if it is still
 * the process that began the task. Returns 0, -ESRCH (not running) or
 * -errno.
 */
int task_stop(const struct upid *u);
