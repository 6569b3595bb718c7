/* SPDX-License-Identifier: MIT */
/*
 * A task's log (DIR/X/UPID): plain lines as the operation reported them,
 * no time stamps, and at the end one of Proxmox's end lines:
 *
 *   TASK OK
 *   TASK ERROR: <what went wrong>
 *
 * A log without an end line belongs to a task that still runs or whose
 * worker died ("unexpected status").
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define TASK_END_OK "TASK OK"
#define TASK_END_ERROR "TASK ERROR: "
/* The status of a task whose log ends with TASK_END_OK. */
#define TASK_STATUS_OK "OK"

/* Is line an end line? 1 with its status ("OK" or the error text) in status, else 0. */
int task_end_line(const char *line, char *status, size_t len);

/*
 * The status of the end line that closes upid's log in dir: 1 (status
 * filled), 0 (no end line), or -errno (-ENOENT: no log).
 */
int task_log_end_status(const char *dir, const char *upid, char *status, size_t len);

/* A log line for a reader; a negative return stops the reading with that error. */
typedef int (*task_line_fn)(void *ctx, const char *line);

struct task_log_follow {
	/* Is the worker still there? NULL: task_worker_alive() of the UPID. */
	bool (*alive)(void *ctx);
	void *ctx;
};

/*
 * Pass each line of upid's log in dir to fn (end line included). With
 * follow (not NULL), wait for more lines as they are written (inotify, no
 * polling of the file) until the end line arrives or the worker is gone.
 * Returns 1 with the end's status in status, 0 when the log has no end
 * line, or -errno (-ENOENT: no such log, -EINVAL: not a UPID).
 */
int task_log_read(const char *dir, const char *upid, const struct task_log_follow *follow,
		  task_line_fn fn, void *ctx, char *status, size_t len);
