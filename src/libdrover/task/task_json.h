/* SPDX-License-Identifier: MIT */
/*
 * The task list a node publishes in droverfs's status store under the key
 * "tasklist" (Proxmox's name), for every node to read:
 *
 *   [{"upid": "UPID:node1:...", "status": "running"},
 *    {"upid": "UPID:node1:...", "status": "OK", "endtime": 1700000123}, ...]
 *
 * newest first: the running tasks, then the finished ones as long as the
 * text stays within the size given (a status store value holds 32 KiB).
 * A finished task has an endtime; its status is "OK", "unexpected status"
 * or the error.
 */
#pragma once

#include <stddef.h>

#include "task_store.h"

#define TASK_KV_KEY "tasklist"
#define TASK_JSON_MAX (30u << 10)

/* The JSON text of l (not reordered: the caller's list is left alone). Returns 0 or -errno. */
int task_list_to_json(const struct task_list *l, size_t max_bytes, char **out);

/*
 * Parse a published list into out (appended). Entries that are not a task
 * (a bad UPID, a missing status) are skipped. Returns 0, -EINVAL (not a
 * JSON list) or -ENOMEM.
 */
int task_list_from_json(const char *text, struct task_list *out);

/*
 * A task_store publish callback: the list into droverfs's status store.
 * ctx: the IPC socket (const char *) or NULL for the default. Failures are
 * ignored: droverd publishes again once droverfs answers.
 */
void task_publish_cfs(void *ctx, const struct task_list *active);
