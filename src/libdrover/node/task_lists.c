/* SPDX-License-Identifier: MIT */
#include "task_lists.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "libdrover/cfs/kv.h"
#include "libdrover/task/task.h"
#include "libdrover/task/task_json.h"
#include "status.h"

int node_task_lists_get(struct ipc_client *c, const char *only, struct task_list *all,
			struct strv *unreadable)
{
	struct cluster_node *nodes = NULL;
	size_t n = 0;
	int r = cluster_nodes_get(c, &nodes, &n);

	for (size_t i = 0; r == 0 && i < n; i++) {
		struct buf b = BUF_INIT;
		int g;

		if (only && !streq(only, nodes[i].name))
			continue;
		g = cfs_kv_get(c, nodes[i].name, TASK_KV_KEY, &b);
		if (g == 0 && task_list_from_json((char *)b.data, all) < 0)
			r = strv_add(unreadable, nodes[i].name);
		else if (g < 0 && g != -ENOENT)
			r = g;
		buf_free(&b);
	}
	free(nodes);
	return r;
}

int node_tasks_gather(const char *socket, const char *only, struct task_list *all,
		      struct strv *unreadable, bool *local_only, struct drover_err *err)
{
	struct task_store store = { .publish = task_publish_cfs, .ctx = (void *)socket };
	char self[NODE_NAME_MAX + 1];
	struct ipc_client c;
	int r = task_node_name(socket, self, sizeof(self));

	*local_only = false;
	if (r < 0)
		return drover_fail(err, r, "this node's name: %s", strerror(-r));
	/* dead workers of this node first: their end goes into the list (and is published) */
	task_store_sweep(&store, self, now_wall_s(), NULL);
	if (cfs_ipc_connect(&c, socket, 10000) < 0) {
		*local_only = true;
		if (only && !streq(only, self))
			return 0;
		r = task_store_list(&store, false, all);
		return r < 0 ? drover_fail(err, r, "reading this node's tasks: %s", strerror(-r))
			     : 0;
	}
	r = node_task_lists_get(&c, only, all, unreadable);
	ipc_client_close(&c);
	return r < 0 ? drover_fail(err, r, "reading the task lists: %s", strerror(-r)) : 0;
}
