/* SPDX-License-Identifier: MIT */
#include "task_lists.h"

#include <errno.h>
#include <stdlib.h>

#include "basic/util.h"
#include "libdrover/cfs/kv.h"
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
