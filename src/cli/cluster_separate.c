/* SPDX-License-Identifier: MIT */
/*
 * drover cluster separate: take this node out of its cluster without
 * reinstalling it (libdrover/cluster/separate.h).
 */
#include <stdio.h>

#include "cluster_cli.h"
#include "libdrover/cluster/separate.h"

static int cmd_separate(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	char node[64];
	int r;

	if (argc != 1) {
		cli_error("cluster separate takes no arguments");
		return CLI_EXIT_USAGE;
	}
	snprintf(node, sizeof(node), "%s", ctx->cfs.node);
	r = cluster_separate(ctx->socket_path, &ctx->cfs, &cli_reporter, &err);
	if (r < 0)
		return cli_fail(&err, r);
	printf("Node %s is separated; its guests' configurations are kept.\n"
	       "On the cluster, run:  drover cluster delnode %s\n"
	       "(where the cluster has lost quorum, 'drover cluster expected N' first).\n"
	       "The cluster's SSH keys are still in this node's priv/authorized_keys:\n"
	       "remove the ones you no longer trust.\n",
	       node, node);
	return CLI_EXIT_OK;
}

const struct cli_command cluster_separate_cmd = {
	.name = "separate",
	.summary = "take this node out of its cluster without reinstalling it",
	.usage = "Usage: drover cluster separate\n"
		 "\n"
		 "Stops corosync, restarts droverfs in local mode, removes corosync.conf (from\n"
		 "the tree and /etc/corosync), the authkey and /var/lib/corosync, drops the\n"
		 "other nodes' directories from this node's tree, keeps this node's guest\n"
		 "configurations, and restarts droverfs as a single node. Then run 'drover\n"
		 "cluster delnode NODE' on the cluster. The node can create or join another\n"
		 "cluster afterwards.\n",
	.needs = CLI_NEED_ROOT | CLI_NEED_CLUSTER,
	.run = cmd_separate,
};
