/* SPDX-License-Identifier: MIT */
/* drover cluster delnode: remove a node from the cluster (libdrover/cluster/delnode.h). */
#include <stdio.h>

#include "cluster_cli.h"
#include "libdrover/cluster/delnode.h"

static int cmd_delnode(struct cli_context *ctx, int argc, char **argv)
{
	struct cluster_delnode_result res;
	struct drover_err err = { "" };
	int r;

	if (argc != 2) {
		cli_error("cluster delnode takes one node name (see --help)");
		return CLI_EXIT_USAGE;
	}
	r = cluster_delnode(&ctx->cfs, argv[1], &res, &cli_reporter, &err);
	if (r < 0)
		return cli_fail(&err, r);
	printf("Node %s removed. Its directory nodes/%s and its keys stay in the tree: remove\n"
	       "them when you no longer need them. Never bring the node back as it is: reinstall\n"
	       "it, or run 'drover cluster separate' on it first.\n",
	       res.name, res.name);
	return CLI_EXIT_OK;
}

const struct cli_command cluster_delnode_cmd = {
	.name = "delnode",
	.summary = "remove a node from the cluster",
	.usage = "Usage: drover cluster delnode NODE\n"
		 "\n"
		 "Removes NODE (a name or a link address) from corosync.conf under the\n"
		 "cluster-wide lock, raises config_version, and asks the node's corosync to\n"
		 "stop if it still runs. Needs quorum and refuses this node itself. Power the\n"
		 "node off first (or separate it) and never bring it back unchanged.\n"
		 "Warns about replication jobs that still target the node.\n"
		 "\n"
		 "Refused while a QDevice is configured: run 'drover cluster qdevice remove'\n"
		 "first, then delnode, then 'drover cluster qdevice setup ADDR' again if the\n"
		 "node count is even. When the node is one of two and already gone, removing\n"
		 "the QDevice leaves the other without quorum: 'drover cluster expected 1'\n"
		 "gives it back for the delnode.\n",
	.needs = CLI_NEED_ROOT | CLI_NEED_CLUSTER | CLI_NEED_QUORATE,
	.run = cmd_delnode,
};
