/* SPDX-License-Identifier: MIT */
/* drover cluster create: make this node the first of a new cluster. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "libdrover/cluster/corosync_info.h"
#include "libdrover/cluster/node_setup.h"
#include "cluster_cli.h"
#include "libdrover/sys/service.h"
#include "basic/util.h"

#define QUORUM_TIMEOUT_MS 60000

struct create_args {
	const char *name;
	struct cluster_node_spec node;
};

static int parse_args(int argc, char **argv, struct create_args *a)
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
		cli_error("'%s' is not a valid cluster name: letters, digits and '-' (not first or last), at most %d characters",
			  a->name, CLUSTER_NAME_MAX);
		return -EINVAL;
	}
	if (a->node.votes == 0) {
		cli_error("--votes: the first node needs at least 1 vote");
		return -EINVAL;
	}
	return 0;
}

/* A node that is in a cluster, or runs corosync, must not be made the first of another. */
static int check_free(const struct cfs_brief *b)
{
	char path[4096];

	cfs_path(b, "corosync.conf", path, sizeof(path));
	if (b->cluster_mode || access(path, F_OK) == 0) {
		cli_error("this node is in a cluster already (%s exists); 'drover cluster separate' leaves it",
			  path);
		return -EEXIST;
	}
	if (cs_running()) {
		cli_error("corosync is running on this node: stop it first");
		return -EBUSY;
	}
	return 0;
}

static int write_config(const struct create_args *a, const struct cfs_brief *b)
{
	unsigned char key[COROSYNC_AUTHKEY_SIZE];
	struct cc_node *conf = cluster_conf_new(a->name, &a->node);
	struct buf text = BUF_INIT;
	struct drover_err err = { "" };
	int r = conf ? cc_write(conf, &text) : -ENOMEM;

	if (r == 0)
		r = node_make_authkey(key, sizeof(key));
	if (r < 0)
		snprintf(err.text, sizeof(err.text), "%s", strerror(-r));
	if (r == 0) {
		cluster_step("writing the corosync authkey and corosync.conf (config_version 1)");
		r = node_install_corosync(text.data, text.len, key, sizeof(key), &err);
	}
	if (r == 0) {
		r = cfs_write(b, "corosync.conf", text.data, text.len, 0640);
		if (r < 0)
			snprintf(err.text, sizeof(err.text), "writing corosync.conf into %.200s: %s",
				 b->mountpoint, strerror(-r));
	}
	if (r < 0)
		cli_error("%s", err.text);
	cc_free(conf);
	buf_free(&text);
	return r;
}

static int setup_tree(const struct create_args *a, const struct cfs_brief *b)
{
	const char *addrs[CLUSTER_LINKS_MAX];
	struct drover_err err = { "" };
	size_t n = cluster_node_spec_addrs(&a->node, addrs);
	int r;

	cluster_step("setting up SSH keys, known hosts, the cluster CA and this node's certificate");
	r = node_setup_tree(b, a->name, addrs, n, true, false, &err);
	if (r < 0)
		cli_error("%s", err.text);
	return r;
}

/* corosync first, then droverfs anew: it finds corosync.conf and starts in cluster mode. */
static int start_cluster(struct cli_context *ctx, struct cfs_brief *b)
{
	int r;

	cluster_step("starting corosync");
	r = cluster_service(SERVICE_COROSYNC, SERVICE_RESTART, NULL);
	if (r == 0) {
		cluster_step("restarting droverfs in cluster mode");
		r = cluster_service(SERVICE_DROVERFS, SERVICE_RESTART, NULL);
	}
	if (r < 0)
		return r;
	cluster_step("waiting for quorum");
	r = cfs_wait_writable(ctx->socket_path, true, QUORUM_TIMEOUT_MS, b);
	if (r < 0)
		cli_error("no quorum after %d s (droverfs: %s, %s): see 'drover cluster status' and the corosync log",
			  QUORUM_TIMEOUT_MS / 1000, b->cluster_mode ? "cluster mode" : "local mode",
			  b->quorate ? "quorate" : "not quorate");
	if (r == 0) {
		cluster_step("starting droverd");
		r = cluster_service(SERVICE_DROVERD, SERVICE_ENABLE, NULL);
	}
	return r;
}

static int cmd_create(struct cli_context *ctx, int argc, char **argv)
{
	struct create_args a = { 0 };
	struct cfs_brief b;

	if (parse_args(argc, argv, &a) < 0)
		return CLI_EXIT_USAGE;
	if (cluster_require_root("create") < 0 || cluster_cfs(ctx, &b) < 0 || check_free(&b) < 0)
		return CLI_EXIT_FAIL;
	snprintf(a.node.name, sizeof(a.node.name), "%s", b.node);
	if (a.node.nodeid == 0)
		a.node.nodeid = 1;
	if (cluster_local_links(&a.node) < 0)
		return CLI_EXIT_FAIL;
	cluster_step("creating cluster %s: node %s, node id %u, link0 %s", a.name, a.node.name,
		     a.node.nodeid, a.node.links[0].addr[0] ? a.node.links[0].addr : "-");
	if (setup_tree(&a, &b) < 0 || write_config(&a, &b) < 0 || start_cluster(ctx, &b) < 0)
		return CLI_EXIT_FAIL;
	cluster_step("cluster %s created: add nodes with 'drover cluster add %s' on them", a.name,
		     a.node.links[0].addr[0] ? a.node.links[0].addr : a.node.name);
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
	.run = cmd_create,
};
