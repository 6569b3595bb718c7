/* SPDX-License-Identifier: MIT */
/*
 * The cluster's tasks as every node's droverd (or drover) publishes them in
 * droverfs's status store (TASK_KV_KEY), for `drover task list` and the API.
 */
#pragma once

#include <stdbool.h>

#include "basic/strv.h"
#include "libdrover/cfs/ipc_client.h"
#include "libdrover/error.h"
#include "libdrover/task/task_store.h"

/*
 * Append the task lists the nodes published (only node only's, when only is
 * not NULL) to all. A node that published none is passed over; a list that
 * is not JSON is skipped and its node named in unreadable. Returns 0 or
 * -errno (the nodes or a list could not be read).
 */
int node_task_lists_get(struct ipc_client *c, const char *only, struct task_list *all,
			struct strv *unreadable);

/*
 * The tasks `drover task list` shows (droverfs at socket, NULL: the
 * default): this node's workers that died without ending their task get
 * their end first (into its list, and published), then every node's
 * published list as node_task_lists_get() reads it (only: one node's).
 * When droverfs does not answer, this node's own list (*local_only set;
 * nothing when only names another node). Returns 0 or -errno with err.
 */
int node_tasks_gather(const char *socket, const char *only, struct task_list *all,
		      struct strv *unreadable, bool *local_only, struct drover_err *err);
