/* SPDX-License-Identifier: MIT */
/* drover cluster join-info | nextid | updatecerts: this member and the tree. */
#include <stdio.h>

#include "basic/util.h"
#include "cluster_cli.h"
#include "libdrover/cluster/member.h"
#include "libdrover/cluster/nextid.h"

static int cmd_joininfo(struct cli_context *ctx, int argc, char **argv)
{
	struct join_info info;
	struct drover_err err = { "" };
	struct buf out = BUF_INIT;
	int r;

	if (argc != 1) {
		cli_error("cluster join-info takes no arguments");
		return CLI_EXIT_USAGE;
	}
	r = cluster_join_info(&ctx->cfs, &info, &err);
	if (r == 0)
		r = join_info_encode(&info, &out);
	if (r == 0)
		r = buf_terminate(&out);
	if (r < 0) {
		buf_free(&out);
		return cli_fail(&err, r);
	}
	printf("%s\n", (char *)out.data);
	buf_free(&out);
	return CLI_EXIT_OK;
}

static int cmd_nextid(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	uint32_t id;
	int r;

	if (argc != 1) {
		cli_error("cluster nextid takes no arguments");
		return CLI_EXIT_USAGE;
	}
	r = cluster_nextid(ctx->socket_path, &ctx->cfs, &id, &err);
	if (r < 0)
		return cli_fail(&err, r);
	printf("%u\n", id);
	return CLI_EXIT_OK;
}

const struct cli_command cluster_joininfo_cmd = {
	.name = "join-info",
	.summary = "print the string 'cluster add --join-info' takes",
	.usage = "Usage: drover cluster join-info\n"
		 "\n"
		 "Prints one line to copy to a new node: the cluster's name, this member's\n"
		 "addresses (one per link) and the fingerprint of its SSH host key.\n"
		 "'drover cluster add --join-info STRING' on the new node joins through this\n"
		 "member and refuses any host that shows another key.\n",
	.needs = CLI_NEED_CFS,
	.run = cmd_joininfo,
};

const struct cli_command cluster_nextid_cmd = {
	.name = "nextid",
	.summary = "the next free VMID in the cluster",
	.usage = "Usage: drover cluster nextid\n"
		 "\n"
		 "Prints the lowest VMID that no guest anywhere in the cluster uses, within\n"
		 "the range of 'next-id: lower=N,upper=M' in datacenter.cfg (upper is\n"
		 "exclusive; default 100 to 999999).\n",
	.needs = CLI_NEED_CFS,
	.run = cmd_nextid,
};

static int cmd_updatecerts(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	bool force = argc == 2 && streq(argv[1], "--force");
	int r;

	if (argc > 2 || (argc == 2 && !force)) {
		cli_error("cluster updatecerts takes only --force");
		return CLI_EXIT_USAGE;
	}
	r = cluster_updatecerts(&ctx->cfs, force, &err);
	if (r < 0)
		return cli_fail(&err, r);
	printf("SSH keys and known hosts merged; certificate of %s %s\n", ctx->cfs.node,
	       force ? "renewed" : "checked (renewed if missing or expiring within 30 days)");
	return CLI_EXIT_OK;
}

const struct cli_command cluster_updatecerts_cmd = {
	.name = "updatecerts",
	.summary = "renew this node's certificate, merge SSH keys and known hosts",
	.usage = "Usage: drover cluster updatecerts [--force]\n"
		 "\n"
		 "Puts root's SSH key into the cluster's authorized_keys, this host's SSH key\n"
		 "into the cluster's known_hosts (replacing the node's old key: the fix for\n"
		 "'Host key verification failed' after a node was reinstalled and re-added),\n"
		 "and issues this node's certificate if it is missing or expires within 30\n"
		 "days. Needs quorum.\n"
		 "\n"
		 "Options:\n"
		 "  --force   issue a new certificate even if the current one is valid\n",
	.needs = CLI_NEED_ROOT | CLI_NEED_QUORATE,
	.run = cmd_updatecerts,
};
