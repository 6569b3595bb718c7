/* SPDX-License-Identifier: MIT */
/* drover cluster delnode: remove a node from the cluster's corosync.conf. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libdrover/cluster/corosync_info.h"
#include "cluster_cli.h"
#include "basic/util.h"

/* Replication jobs that still name the node as target would stay behind for ever. */
static void warn_replication(const struct cfs_brief *b, const char *node)
{
	struct buf cfg = BUF_INIT;
	char needle[128];

	if (cfs_read(b, "replication.cfg", &cfg) < 0 || buf_terminate(&cfg) < 0) {
		buf_free(&cfg);
		return;
	}
	snprintf(needle, sizeof(needle), "target %s\n", node);
	if (strstr((char *)cfg.data, needle))
		fprintf(stderr,
			"warning: replication jobs in replication.cfg still target %s: remove them (they cannot run, and cannot be removed once the node is gone)\n",
			node);
	buf_free(&cfg);
}

static int remove_locked(const struct cfs_brief *b, const char *who, char *name, size_t len,
			 unsigned *nodeid)
{
	struct drover_err err = { "" };
	struct cc_node *conf = cfs_read_corosync_conf(b, &err);
	uint64_t version = 0;
	int r;

	if (!conf) {
		cli_error("%s", err.text);
		return -EINVAL;
	}
	r = cluster_conf_remove_node(conf, who, name, len, nodeid);
	if (r == -ENOENT)
		cli_error("no node '%s' in corosync.conf (give its name or an address)", who);
	else if (streq(name, b->node)) {
		cli_error("%s is this node: run delnode on another member", name);
		r = -EINVAL;
	} else if (cluster_conf_node_count(conf) == 0) {
		cli_error("that would leave no node in the cluster");
		r = -EINVAL;
	}
	if (r == 0) {
		char change[128];

		snprintf(change, sizeof(change), "cannot delete node %s", name);
		r = cluster_conf_check_no_qdevice(conf, change, &err);
		if (r < 0)
			cli_error("%s", err.text);
	}
	if (r == 0) {
		char cerr[256];

		cluster_step("deleting node %s (node id %u) from the cluster", name, *nodeid);
		/* it may be off already: then there is nobody to ask */
		if (cs_kill_node(*nodeid, "removed from the cluster by drover cluster delnode",
				 cerr, sizeof(cerr)) == 0)
			cluster_step("asked the corosync of %s to stop", name);
		version = cluster_conf_bump_version(conf);
		r = version ? cfs_write_corosync_conf(b, conf) : -ENOMEM;
		if (r < 0)
			cli_error("writing corosync.conf: %s", strerror(-r));
		else
			cluster_step("corosync.conf config_version %llu written",
				     (unsigned long long)version);
	}
	cc_free(conf);
	return r;
}

static int cmd_delnode(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	struct cfs_brief b;
	char name[64] = "";
	unsigned nodeid = 0;
	int r;

	if (argc != 2) {
		cli_error("cluster delnode takes one node name (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (cluster_require_root("delnode") < 0 || cluster_cfs(ctx, &b) < 0)
		return CLI_EXIT_FAIL;
	if (!b.cluster_mode || !b.writable) {
		cli_error(
			"%s",
			!b.cluster_mode
				? "this node is in no cluster"
				: "no quorum: a node can only be deleted by a quorate cluster (see 'drover cluster expected')");
		return CLI_EXIT_FAIL;
	}
	if (streq(argv[1], b.node)) {
		cli_error("%s is this node: run delnode on another member", argv[1]);
		return CLI_EXIT_FAIL;
	}
	r = cfs_lock_corosync_conf(&b, &err);
	if (r < 0) {
		cli_error("%s", err.text);
		return CLI_EXIT_FAIL;
	}
	r = remove_locked(&b, argv[1], name, sizeof(name), &nodeid);
	cfs_unlock_corosync_conf(&b);
	if (r < 0)
		return CLI_EXIT_FAIL;
	warn_replication(&b, name);
	printf("Node %s removed. Its directory nodes/%s and its keys stay in the tree: remove\n"
	       "them when you no longer need them. Never bring the node back as it is: reinstall\n"
	       "it, or run 'drover cluster separate' on it first.\n",
	       name, name);
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
	.run = cmd_delnode,
};
