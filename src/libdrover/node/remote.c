/* SPDX-License-Identifier: MIT */
#include "remote.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "libdrover/cfs/kv.h"
#include "libdrover/cluster/ssh.h"

#define CFS_TIMEOUT_MS 10000

int node_address_of(const struct cluster_node *v, size_t n, const char *node, char *addr,
		    size_t len, struct drover_err *err)
{
	for (size_t i = 0; i < n; i++)
		if (streq(v[i].name, node)) {
			snprintf(addr, len, "%s", v[i].addr[0] ? v[i].addr : node);
			return 0;
		}
	return drover_fail(err, -ENOENT, "%s is not a node of this cluster", node);
}

int node_address(struct ipc_client *c, const char *node, char *addr, size_t len,
		 struct drover_err *err)
{
	struct cluster_node *nodes = NULL;
	size_t n = 0;
	int r = cluster_nodes_get(c, &nodes, &n);

	/* members that cannot be read name no node either */
	if (r < 0)
		n = 0;
	r = node_address_of(nodes, n, node, addr, len, err);
	free(nodes);
	return r;
}

int node_run_drover(const char *socket, const char *node, char *const args[],
		    struct drover_err *err)
{
	struct ipc_client c;
	char addr[64];
	int r = cfs_ipc_open(&c, socket, CFS_TIMEOUT_MS, err);

	if (r < 0)
		return r;
	r = node_address(&c, node, addr, sizeof(addr), err);
	ipc_client_close(&c);
	if (r < 0)
		return r;
	r = ssh_run_drover(addr, NULL, args, NULL, 0, NULL);
	if (r < 0 || r == 255)
		return drover_fail(err, r < 0 ? r : -EHOSTUNREACH, "ssh to %s (%s) failed%s%s",
				   node, addr, r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
	return r;
}
