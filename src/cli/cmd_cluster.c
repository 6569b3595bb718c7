/* SPDX-License-Identifier: MIT */
/* drover cluster: the group, and what its commands share. See drover-cluster(1). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/util.h"
#include "cluster_cli.h"

int cluster_node_option(int c, const char *arg, struct cluster_node_spec *spec)
{
	struct drover_err err;
	uint64_t v;

	if (c >= CLUSTER_OPT_LINK && c < CLUSTER_OPT_LINK + CLUSTER_LINKS_MAX) {
		if (cluster_link_parse(arg, (unsigned)(c - CLUSTER_OPT_LINK), spec, &err) == 0)
			return 1;
		cli_error("%s", err.text);
		return -EINVAL;
	}
	if (c == CLUSTER_OPT_NODEID || c == CLUSTER_OPT_VOTES) {
		bool id = c == CLUSTER_OPT_NODEID;

		if (parse_u64(arg, id ? UINT32_MAX : 255, &v) < 0 || (id && v == 0)) {
			cli_error("--%s: '%s' is not a number from %d to %s",
				  id ? "nodeid" : "votes", arg, id ? 1 : 0,
				  id ? "4294967295" : "255");
			return -EINVAL;
		}
		if (id)
			spec->nodeid = (unsigned)v;
		else
			spec->votes = (unsigned)v;
		return 1;
	}
	return 0;
}

int cluster_read_stdin(struct buf *in, size_t max)
{
	unsigned char chunk[4096];
	ssize_t n;

	while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (in->len + (size_t)n > max || buf_append(in, chunk, (size_t)n) < 0)
			return -EFBIG;
	}
	return 0;
}

static const struct cli_command *const cluster_commands[] = {
	&cluster_create_cmd,
	&cluster_add_cmd,
	&cluster_joininfo_cmd,
	&cluster_status_cmd,
	&cluster_nodes_cmd,
	&cluster_expected_cmd,
	&cluster_delnode_cmd,
	&cluster_nextid_cmd,
	&cluster_updatecerts_cmd,
	&cluster_separate_cmd,
	&cluster_qdevice_group,
	&cluster_addnode_cmd,
	NULL,
};

const struct cli_command cli_cluster_group = {
	.name = "cluster",
	.summary = "create a cluster, add and remove nodes, quorum and membership",
	.usage = "Usage: drover cluster COMMAND [ARGS...]\n"
		 "\n"
		 "The cluster manager: corosync configuration kept in droverfs, nodes\n"
		 "joining over SSH, quorum and membership read from corosync.\n",
	.subcommands = cluster_commands,
};
