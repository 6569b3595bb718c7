/* SPDX-License-Identifier: MIT */
/* drover cluster create: make this node the first of a new cluster. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cluster_cli.h"
#include "libdrover/cluster/create.h"
#include "libdrover/storage/storage.h"

static int parse_args(int argc, char **argv, struct cluster_create_req *a)
{
	static const struct option longopts[] = { CLUSTER_NODE_OPTIONS, { NULL, 0, NULL, 0 } };
	int c;

	a->node.votes = 1;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		int r = cluster_node_option(c, optarg, &a->node);

		if (r <= 0)
			return -EINVAL;
	}
	if (optind != argc - 1) {
		cli_error("cluster create takes one cluster name (see --help)");
		return -EINVAL;
	}
	a->name = argv[optind];
	if (!cluster_name_valid(a->name)) {
		cli_error(
			"'%s' is not a valid cluster name: letters, digits and '-' (not first or last), at most %d characters",
			a->name, CLUSTER_NAME_MAX);
		return -EINVAL;
	}
	if (a->node.votes == 0) {
		cli_error("--votes: the first node needs at least 1 vote");
		return -EINVAL;
	}
	return 0;
}

static int cmd_create(struct cli_context *ctx, int argc, char **argv)
{
	struct cluster_create_req req = { 0 };
	struct drover_err err = { "" };
	int r;

	if (parse_args(argc, argv, &req) < 0)
		return CLI_EXIT_USAGE;
	r = cluster_create(ctx->socket_path, &ctx->cfs, &req, &cli_reporter, &err);
	/* A fresh cluster has the `local` dir storage (an existing storage.cfg is kept). */
	if (r == 0) {
		drover_report_log(&cli_reporter, "storage.cfg: the local dir storage (%s), unless there is one",
				  STORAGE_LOCAL_PATH);
		r = storage_cfg_ensure(&ctx->cfs, &err);
	}
	if (r < 0)
		return cli_fail(&err, r);
	printf("cluster %s created: add nodes with 'drover cluster add %s' on them\n", req.name,
	       req.node.links[0].addr[0] ? req.node.links[0].addr : req.node.name);
	return CLI_EXIT_OK;
}

const struct cli_command cluster_create_cmd = {
	.name = "create",
	.summary = "make this node the first node of a new cluster",
	.usage = "Usage: drover cluster create NAME [--link0 ADDR[,priority=N]] ... [--link7 ...]\n"
		 "                            [--nodeid N] [--votes N]\n"
		 "\n"
		 "Creates cluster NAME (letters, digits, '-', at most 15 characters) with this\n"
		 "node as its only member: generates the corosync authkey, writes\n"
		 "corosync.conf (knet, encrypted, one interface per link, config_version 1)\n"
		 "into droverfs and /etc/corosync, creates the cluster CA and this node's\n"
		 "certificate, shares root's SSH key and this host's key through droverfs\n"
		 "(priv/authorized_keys, priv/known_hosts), then starts corosync and\n"
		 "restarts droverfs in cluster mode and waits for quorum.\n"
		 "\n"
		 "Options:\n"
		 "  --linkN ADDR[,priority=P]  address of knet link N (0-7) on this node; it must\n"
		 "                         be configured on a local interface. A higher\n"
		 "                         priority carries the traffic (passive mode).\n"
		 "                         Default: link0 = the address the host name resolves to\n"
		 "  --nodeid N             this node's corosync node id (default 1)\n"
		 "  --votes N              this node's votes (default 1)\n",
	.needs = CLI_NEED_ROOT | CLI_NEED_CFS,
	.run = cmd_create,
};
