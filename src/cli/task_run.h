/* SPDX-License-Identifier: MIT */
/*
 * Running a libdrover operation as a task from the command line, as
 * Proxmox's qm/pct do: the operation runs in a forked worker (a task with
 * a UPID, a log and a place in the cluster's task list), and the command
 * prints the log as it grows, ending with "TASK OK" or "TASK ERROR: ...".
 * Ctrl-C (or SIGTERM, SIGHUP) stops the task: the worker gets the signal,
 * and the command prints the log to its end.
 */
#pragma once

#include "cli.h"
#include "libdrover/task/task.h"

/*
 * Run fn(arg) as a task of type and id (a VMID, or NULL). Returns the exit
 * code: CLI_EXIT_OK for TASK OK, CLI_EXIT_FAIL otherwise (the worker's
 * error, or one that kept it from starting, printed).
 */
int cli_run_task(struct cli_context *ctx, const char *type, const char *id, task_fn fn, void *arg);
