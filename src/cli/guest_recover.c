/* SPDX-License-Identifier: MIT */
/*
 * drover vm recover VMID, drover ct recover CTID: a guest of a failed node
 * taken over on this one from its replicas (libdrover/replication/recover.h
 * does the work); this parses, calls it and prints the data-loss window.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/timefmt.h"
#include "basic/util.h"
#include "cli.h"
#include "libdrover/guest/ops.h"
#include "libdrover/replication/recover.h"

static void print_result(enum guest_type type, uint32_t vmid, const struct repl_recover_result *r)
{
	const char *verb = type == GUEST_QEMU ? "vm" : "ct";
	char when[32], window[48];

	timefmt_local(r->last_sync, when, sizeof(when));
	timefmt_duration(r->now - r->last_sync, window, sizeof(window));
	printf("%s %" PRIu32 " recovered from %s: %s, %zu volume(s) from their replicas\n",
	       guest_kind(type), vmid, r->old_node, r->conf_to, r->n_vols);
	printf("data-loss window: %s (last sync %s, %s): whatever %s wrote after it is lost\n",
	       window, when, r->snap, r->old_node);
	printf("when %s returns, the next replication run makes %s the source and rolls "
	       "%s's volumes back to that snapshot\n",
	       r->old_node, "this node", r->old_node);
	printf("start it with: drover %s start %" PRIu32 "\n", verb, vmid);
}

static int recover(struct cli_context *ctx, int argc, char **argv, enum guest_type type)
{
	const char *verb = type == GUEST_QEMU ? "vm" : "ct";
	struct repl_recover_result res;
	struct drover_err err = { "" };
	uint32_t vmid;
	int r;

	if (argc != 2 || vmid_parse_n(argv[1], strlen(argv[1]), &vmid) < 0) {
		cli_error("%s recover: needs one %s (see 'drover %s recover --help')", verb,
			  type == GUEST_QEMU ? "VMID" : "CTID", verb);
		return CLI_EXIT_USAGE;
	}
	r = repl_recover_guest(ctx->socket_path, type, vmid, &cli_reporter, &res, &err);
	if (r < 0) {
		cli_error("%s recover %" PRIu32 ": %s", verb, vmid, err.text);
		return CLI_EXIT_FAIL;
	}
	print_result(type, vmid, &res);
	return CLI_EXIT_OK;
}

static int cmd_vm_recover(struct cli_context *ctx, int argc, char **argv)
{
	return recover(ctx, argc, argv, GUEST_QEMU);
}

static int cmd_ct_recover(struct cli_context *ctx, int argc, char **argv)
{
	return recover(ctx, argc, argv, GUEST_LXC);
}

#define RECOVER_HELP(verb, ID, what)                                                 \
	"Usage: drover " verb " recover " ID "\n"                                    \
	"\n"                                                                         \
	"Take over " what " " ID " of a failed node on this node, from its\n"        \
	"replicas (drover-replication(1)). Needs quorum: if the other nodes are\n"   \
	"gone for now, 'drover cluster expected 1' gives this node quorum alone\n"   \
	"(change nothing else in the cluster while it is set). Refused while the\n"  \
	"guest's node is online (migrate instead), and when a volume on local\n"     \
	"storage has no replica here, or while an import into a replica still\n"     \
	"runs here. Each replica is rolled back to its newest\n"                     \
	"replication snapshot, the config is renamed into this node's directory\n"   \
	"under the guest's lock, and the data-loss window (now - last sync) is\n"    \
	"printed. Then 'drover " verb " start " ID "'. The next replication run\n"   \
	"switches the jobs' direction: when the old node returns, its volumes are\n" \
	"rolled back to the common snapshot (its later writes are lost).\n"

const struct cli_command vm_recover_cmd = {
	.name = "recover",
	.summary = "take over a VM of a failed node from its replicas",
	.usage = RECOVER_HELP("vm", "VMID", "VM"),
	.needs = CLI_NEED_ROOT | CLI_NEED_CFS,
	.run = cmd_vm_recover,
};

const struct cli_command ct_recover_cmd = {
	.name = "recover",
	.summary = "take over a container of a failed node from its replicas",
	.usage = RECOVER_HELP("ct", "CTID", "container"),
	.needs = CLI_NEED_ROOT | CLI_NEED_CFS,
	.run = cmd_ct_recover,
};
