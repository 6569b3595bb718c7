/* SPDX-License-Identifier: MIT */
#include "remote.h"

#include <errno.h>
#include <string.h>

#include "libdrover/cluster/cfs.h"
#include "libdrover/cluster/ssh.h"

int node_run_drover(const char *socket, const char *node, char *const args[],
		    struct drover_err *err)
{
	struct cfs_brief b;
	char addr[64] = "";
	int r = cfs_brief_get(socket, &b);

	if (r < 0)
		return drover_fail(err, r, "cannot reach droverfs: %s", strerror(-r));
	/* replication's way to the node: its link0 address, its pinned host key */
	r = ssh_node_run_drover(&b, node, args, NULL, 0, NULL, addr, sizeof(addr), err);
	if (r == 255)
		return drover_fail(err, -EHOSTUNREACH, "ssh to %s (%s) failed", node, addr);
	return r;
}
