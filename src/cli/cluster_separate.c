/* SPDX-License-Identifier: MIT */
/*
 * drover cluster separate: take this node out of its cluster without
 * reinstalling it (the seed's manual procedure as one command). corosync
 * stops, droverfs restarts in local mode so the tree is writable, the
 * cluster configuration goes, the node's own guests stay.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "libdrover/cluster/node_setup.h"
#include "cluster_cli.h"
#include "basic/process.h"
#include "libdrover/sys/service.h"
#include "basic/util.h"

#define LOCAL_TIMEOUT_MS 30000

/* The other nodes' directories: this node no longer shares their guests. */
static void drop_other_nodes(const struct cfs_brief *b)
{
	char dir[4096], path[4096 + 300];
	struct dirent *e;
	DIR *d;

	if (cfs_path(b, "nodes", dir, sizeof(dir)) < 0 || !(d = opendir(dir)))
		return;
	while ((e = readdir(d))) {
		char *argv[] = { "rm", "-rf", path, NULL };

		if (e->d_name[0] == '.' || streq(e->d_name, b->node))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (process_run(argv, NULL, 0, NULL, NULL) == 0)
			cluster_step("removed nodes/%s (the cluster keeps its own copy)", e->d_name);
	}
	closedir(d);
}

static int remove_config(const struct cfs_brief *b)
{
	char path[4096];
	char *clear[] = { "sh", "-c", "rm -rf /var/lib/corosync/*", NULL };

	cluster_step("removing the cluster configuration");
	cfs_path(b, "corosync.conf", path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT) {
		cli_error("%s: %s", path, strerror(errno));
		return -errno;
	}
	unlink(COROSYNC_CONF);
	unlink(COROSYNC_AUTHKEY);
	process_run(clear, NULL, 0, NULL, NULL);
	drop_other_nodes(b);
	return 0;
}

static int cmd_separate(struct cli_context *ctx, int argc, char **argv)
{
	char *local_mode[] = { "-l", NULL };
	struct cfs_brief b;
	char node[64];

	if (argc != 1) {
		cli_error("cluster separate takes no arguments");
		return CLI_EXIT_USAGE;
	}
	if (cluster_require_root("separate") < 0 || cluster_cfs(ctx, &b) < 0)
		return CLI_EXIT_FAIL;
	if (!b.cluster_mode) {
		cli_error("this node is in no cluster");
		return CLI_EXIT_FAIL;
	}
	snprintf(node, sizeof(node), "%s", b.node);
	cluster_step("stopping corosync");
	if (cluster_service(SERVICE_COROSYNC, SERVICE_STOP, NULL) < 0)
		return CLI_EXIT_FAIL;
	cluster_step("restarting droverfs in local mode");
	if (cluster_service(SERVICE_DROVERFS, SERVICE_RESTART, local_mode) < 0 ||
	    cfs_wait_writable(ctx->socket_path, false, LOCAL_TIMEOUT_MS, &b) < 0) {
		cli_error("droverfs did not come back writable in local mode");
		return CLI_EXIT_FAIL;
	}
	if (remove_config(&b) < 0)
		return CLI_EXIT_FAIL;
	cluster_step("restarting droverfs (local mode: no cluster configuration left)");
	if (cluster_service(SERVICE_DROVERFS, SERVICE_RESTART, NULL) < 0 ||
	    cfs_wait_writable(ctx->socket_path, false, LOCAL_TIMEOUT_MS, &b) < 0)
		return CLI_EXIT_FAIL;
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
	.run = cmd_separate,
};
