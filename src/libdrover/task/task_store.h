/* SPDX-License-Identifier: MIT */
/*
 * A node's record of its tasks, in its task directory (Proxmox's layout,
 * /var/log/drover/tasks by default):
 *
 *   DIR/active   running tasks and the recent finished ones, in start order
 *   DIR/index    older finished tasks (the archive), in the order they ended
 *   DIR/X/UPID   each task's log (upid_log_path())
 *   DIR/.lock    held (flock) around every change of active and index
 *
 * A line of active or index is "UPID" for a running task and
 * "UPID ENDTIME STATUS" for a finished one: ENDTIME in 8 hex digits,
 * STATUS "OK", "unexpected status" (the worker died without writing its
 * end) or the error text. Lines that are not a task are skipped when read
 * and dropped at the next change.
 *
 * active keeps every running task and the newest TASK_RECENT_MAX finished
 * ones; the next finished task moves the oldest to index, which keeps the
 * newest TASK_INDEX_MAX (their logs go with them).
 *
 * After every change, while the lock is still held, the store hands the
 * new list to its publish callback (droverfs's status store, so that every
 * node sees every node's tasks): the last list published is always the
 * newest.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "task_log.h"
#include "upid.h"

#define TASK_DIR_DEFAULT "/var/log/drover/tasks"
#define TASK_STATUS_MAX 256
#define TASK_RECENT_MAX 50
#define TASK_INDEX_MAX 1000
#define TASK_STATUS_UNEXPECTED "unexpected status"

struct task_info {
	char upid[UPID_MAX];
	struct upid u;
	bool running;
	int64_t endtime; /* finished tasks: epoch seconds */
	char status[TASK_STATUS_MAX]; /* finished tasks: "OK" or the error; "" while running */
};

struct task_list {
	struct task_info *v;
	size_t n;
	size_t cap;
};

/* Append a copy of t. Returns 0 or -ENOMEM. */
int task_list_push(struct task_list *l, const struct task_info *t);

void task_list_free(struct task_list *l);

/* Sort newest first (by start time, then UPID): how lists are shown. */
void task_list_sort_newest(struct task_list *l);

struct task_store {
	const char *dir; /* NULL: TASK_DIR_DEFAULT */
	/* Called under the lock after every change with what active now holds (may be NULL). */
	void (*publish)(void *ctx, const struct task_list *active);
	void *ctx;
};

/* Make the store's directory (and its parents) if missing. Returns 0 or -errno. */
int task_store_prepare(const struct task_store *s);

/* Record upid as running. Returns 0 or -errno. */
int task_store_add(const struct task_store *s, const char *upid);

/*
 * Record upid as finished at endtime with status ("OK" or the error). A
 * task that is not (or no longer) in active is added finished; one that
 * is finished already keeps its first status. Returns 0 or -errno.
 */
int task_store_finish(const struct task_store *s, const char *upid, int64_t endtime,
		      const char *status);

/*
 * Give every running task of node whose worker is gone its end: the
 * status of the end line in its log, else "unexpected status". *changed
 * (may be NULL) tells whether anything was. Returns 0 or -errno.
 */
int task_store_sweep(const struct task_store *s, const char *node, int64_t now, bool *changed);

/* What active holds (archive: and index too), in file order. Returns 0 or -errno. */
int task_store_list(const struct task_store *s, bool archive, struct task_list *out);

/* Hand the current list to the publish callback (droverd, after droverfs came back). */
int task_store_publish(const struct task_store *s);

/* Parse one line of active/index (no newline). Returns 0 or -EINVAL. */
int task_line_parse(const char *line, struct task_info *t);

/* A task's line, with its newline. Returns 0 or -ENOSPC. */
int task_line_format(const struct task_info *t, char *out, size_t len);
