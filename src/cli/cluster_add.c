/* SPDX-License-Identifier: MIT */
/* drover cluster add: run on the node that joins (libdrover/cluster/add.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "basic/util.h"
#include "cluster_cli.h"
#include "libdrover/cluster/add.h"

#define OPT_FINGERPRINT 0x200
#define OPT_JOIN_INFO 0x201
#define OPT_FORCE 0x202

struct add_args {
	struct cluster_add_req req;
	struct join_info info;
	bool have_info;
};

static int parse_args(int argc, char **argv, struct add_args *a)
{
	static const struct option longopts[] = {
		CLUSTER_NODE_OPTIONS,
		{ "fingerprint", required_argument, NULL, OPT_FINGERPRINT },
		{ "join-info", required_argument, NULL, OPT_JOIN_INFO },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ NULL, 0, NULL, 0 }
	};
	struct drover_err err;
	int c;

	a->req.node.votes = 1;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		int r = cluster_node_option(c, optarg, &a->req.node);

		if (r < 0)
			return r;
		if (r == 1)
			continue;
		if (c == OPT_FINGERPRINT) {
			if (!str_has_prefix(optarg, "SHA256:") ||
			    strlen(optarg) >= sizeof(a->req.fingerprint)) {
				cli_error(
					"--fingerprint: '%s' is not an SSH fingerprint 'SHA256:...' (see 'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub' on the member)",
					optarg);
				return -EINVAL;
			}
			snprintf(a->req.fingerprint, sizeof(a->req.fingerprint), "%s", optarg);
		} else if (c == OPT_JOIN_INFO) {
			if (join_info_decode(optarg, &a->info, &err) < 0) {
				cli_error("--join-info: %s", err.text);
				return -EINVAL;
			}
			a->have_info = true;
		} else if (c == OPT_FORCE) {
			a->req.force = true;
		} else {
			return -EINVAL;
		}
	}
	if (a->have_info && a->req.fingerprint[0]) {
		cli_error("give --fingerprint or --join-info, not both");
		return -EINVAL;
	}
	if (optind < argc)
		a->req.host = argv[optind++];
	if (optind != argc || (!a->req.host && !a->have_info)) {
		cli_error(
			"cluster add takes the address of a member (or --join-info) (see --help)");
		return -EINVAL;
	}
	if (a->have_info) {
		snprintf(a->req.fingerprint, sizeof(a->req.fingerprint), "%s", a->info.fingerprint);
		if (!a->req.host)
			for (unsigned l = 0; l < CLUSTER_LINKS_MAX && !a->req.host; l++)
				if (a->info.link_mask & (1u << l))
					a->req.host = a->info.addrs[l];
	}
	return 0;
}

static int cmd_add(struct cli_context *ctx, int argc, char **argv)
{
	struct add_args a = { 0 };
	struct cluster_add_result res;
	struct drover_err err = { "" };
	int r;

	if (parse_args(argc, argv, &a) < 0)
		return CLI_EXIT_USAGE;
	r = cluster_add(ctx->socket_path, &ctx->cfs, &a.req, &res, &cli_reporter, &err);
	if (r < 0) {
		cli_fail(&err, r);
		/* in the cluster all the same: only its keys or certificate are missing */
		return res.joined ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	}
	printf("node %s joined the cluster\n", a.req.node.name);
	return CLI_EXIT_OK;
}

const struct cli_command cluster_add_cmd = {
	.name = "add",
	.summary = "join this node to a cluster (run on the new node)",
	.usage =
		"Usage: drover cluster add HOST [--fingerprint FP | --join-info STRING]\n"
		"                         [--link0 ADDR[,priority=N]] ... [--nodeid N] [--votes N]\n"
		"                         [--force]\n"
		"       drover cluster add --join-info STRING [...]\n"
		"\n"
		"Joins this node to the cluster that HOST (a member's address) is in. The\n"
		"member is reached as root over SSH (ssh asks for its password when no key is\n"
		"installed) and adds this node to corosync.conf under the cluster-wide lock.\n"
		"This node then moves its droverfs database to a backup, starts corosync and\n"
		"droverfs with the cluster's tree, waits for quorum and sets up its SSH keys\n"
		"and certificate. Every step is printed.\n"
		"\n"
		"A node is refused when it has a cluster configuration, a corosync authkey or\n"
		"guests; --force joins anyway and says what it discards.\n"
		"\n"
		"The member refuses while the cluster has a QDevice, --force or not: run\n"
		"'drover cluster qdevice remove' on a member first, and 'drover cluster\n"
		"qdevice setup ADDR' again once the node count is even.\n"
		"\n"
		"Options:\n"
		"  --fingerprint FP      the member's SSH host key fingerprint (SHA256:...);\n"
		"                        the join stops if the host offers another key\n"
		"  --join-info STRING    the output of 'drover cluster join-info' on a member:\n"
		"                        address and fingerprint in one string\n"
		"  --linkN ADDR[,priority=P]  this node's address on link N; the links must be\n"
		"                        the cluster's. Default: link0 = the host name's address\n"
		"  --nodeid N            node id (default: the lowest free one)\n"
		"  --votes N             votes (default 1)\n"
		"  --force               join although this node has a configuration or guests\n",
	.needs = CLI_NEED_ROOT | CLI_NEED_CFS,
	.run = cmd_add,
};
