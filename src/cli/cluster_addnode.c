/* SPDX-License-Identifier: MIT */
/*
 * drover cluster _addnode: the member's side of a join, run by the joining
 * node over SSH (libdrover/cluster/addnode.h). Reads the request on stdin
 * and answers on stdout, errors included: the joining node shows them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cluster_cli.h"
#include "libdrover/cluster/addnode.h"

#define REQUEST_MAX (64u * 1024)

static int cmd_addnode(struct cli_context *ctx, int argc, char **argv)
{
	struct buf in = BUF_INIT, out = BUF_INIT;
	struct join_request req;
	struct join_response resp;
	struct drover_err err = { "" };
	int r;

	if (argc != 1) {
		cli_error("cluster _addnode takes no arguments: it reads its request on stdin");
		return CLI_EXIT_USAGE;
	}
	join_response_init(&resp);
	r = cluster_read_stdin(&in, REQUEST_MAX);
	if (r < 0)
		drover_fail(&err, r, "reading the request: %s", strerror(-r));
	if (r == 0)
		r = join_request_parse((const char *)in.data, in.len, &req, &err);
	/* checked here, not by the dispatcher: the refusal goes into the answer */
	if (r == 0)
		r = drover_require(DROVER_NEED_ROOT, "cluster _addnode", NULL, NULL, &err);
	if (r == 0)
		r = cluster_addnode(ctx->socket_path, &req, &resp, &err);
	if (r < 0)
		snprintf(resp.error, sizeof(resp.error), "%s",
			 err.text[0] ? err.text : strerror(-r));
	if (join_response_write(&resp, &out) == 0)
		fwrite(out.data, 1, out.len, stdout);
	buf_free(&in);
	buf_free(&out);
	join_response_free(&resp);
	return r < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

const struct cli_command cluster_addnode_cmd = {
	.name = "_addnode",
	.summary = "(internal) the member's side of 'drover cluster add'",
	.usage = "Usage: drover cluster _addnode < REQUEST\n"
		 "\n"
		 "Run by 'drover cluster add' on a member over SSH; not for direct use.\n",
	.run = cmd_addnode,
};
