/* SPDX-License-Identifier: MIT */
/*
 * drover cluster qdevice _node STEP [ARG]: one step of QDevice setup or
 * remove on this node, run by those commands on the other nodes over SSH
 * (libdrover/cluster/qdevice_step.h).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/util.h"
#include "cluster_cli.h"
#include "libdrover/cluster/qdevice_step.h"

static int cmd_node(struct cli_context *ctx, int argc, char **argv)
{
	struct qdevice_target self = { .local = true };
	struct drover_err err = { "" };
	struct buf in = BUF_INIT;
	int r = 0;

	if (argc < 2 || argc > 3) {
		cli_error("cluster qdevice _node takes a step and its argument");
		return CLI_EXIT_USAGE;
	}
	gethostname(self.name, sizeof(self.name) - 1);
	if (streq(argv[1], "import")) {
		r = cluster_read_stdin(&in, QDEVICE_BUNDLE_MAX);
		if (r < 0)
			drover_fail(&err, r, "%s: reading the bundle: %s", self.name, strerror(-r));
	}
	if (r == 0)
		r = qdevice_node_step(&self, argv[1], argc == 3 ? argv[2] : NULL, &in, &err);
	buf_free(&in);
	return r < 0 ? cli_fail(&err, r) : CLI_EXIT_OK;
}

/* Internal: run by setup and remove over SSH; hidden from the group's help. */
const struct cli_command cluster_qdevice_node_cmd = {
	.name = "_node",
	.summary = "(internal) one QDevice step on this node",
	.usage =
		"Usage: drover cluster qdevice _node check ADDR | import | start VERSION | stop | clean\n"
		"\n"
		"One step of 'drover cluster qdevice setup' or 'remove' on this node; those\n"
		"commands run it on the other nodes over SSH.\n",
	.needs = CLI_NEED_ROOT,
	.run = cmd_node,
};
