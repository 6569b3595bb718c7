/* SPDX-License-Identifier: MIT */
/* drover cluster: the group, and what its commands share. See drover-cluster(1). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cluster_cli.h"
#include "libdrover/cluster/localnet.h"
#include "libdrover/cfs/ipc_client.h"
#include "libdrover/sys/service.h"
#include "basic/util.h"

void cluster_step(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

int cluster_require_root(const char *command)
{
	if (geteuid() == 0)
		return 0;
	cli_error("cluster %s changes this node's configuration: run it as root", command);
	return -EPERM;
}

int cluster_service(int unit, int action, char *const extra[])
{
	char err[512];
	int r = service_control(unit, action, extra, err, sizeof(err));

	if (r < 0)
		cli_error("%s %s: %s",
			  action == SERVICE_STOP || action == SERVICE_DISABLE ? "stopping"
									      : "starting",
			  service_unit_name(unit), err[0] ? err : strerror(-r));
	return r;
}

int cluster_cfs(struct cli_context *ctx, struct cfs_brief *b)
{
	int r = cfs_brief_get(ctx->socket_path, b);

	if (r < 0)
		cli_error("cannot reach droverfs at %s: %s%s",
			  ctx->socket_path ? ctx->socket_path : ipc_client_default_path(),
			  strerror(-r),
			  r == -ENOENT || r == -ECONNREFUSED ? " (is droverfs running?)" : "");
	return r;
}

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

int cluster_local_links(struct cluster_node_spec *spec)
{
	if (!spec->link_mask) {
		if (localnet_hostname_address(spec->links[0].addr, sizeof(spec->links[0].addr)) <
		    0) {
			cli_error(
				"the host name does not resolve to an address of this host: give --link0 ADDRESS");
			return -EADDRNOTAVAIL;
		}
		spec->link_mask = 1;
	}
	for (unsigned l = 0; l < CLUSTER_LINKS_MAX; l++) {
		if ((spec->link_mask & (1u << l)) && !localnet_has_address(spec->links[l].addr)) {
			cli_error("link%u: %s is not an address of this host (see 'ip address')", l,
				  spec->links[l].addr);
			return -EADDRNOTAVAIL;
		}
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
