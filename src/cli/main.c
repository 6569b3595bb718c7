/* SPDX-License-Identifier: MIT */
/* drover: the command line of the drover cluster manager. See drover(1). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "cli.h"
#include "config.h"

/* The command groups, one a line, in the order of 'drover --help'. */
static const struct cli_command *const groups[] = {
	&cli_cluster_group,
	&cli_storage_group,
	&cli_vm_group,
	&cli_cfs_group,
	&cli_replication_group,
	&cli_ct_group,
	&cli_node_group,
	&cli_task_group,
	&cli_sandbox_group,
	NULL,
};

static const struct cli_command top = {
	.name = "drover",
	.summary = "manage a drover cluster of KVM/QEMU and LXC hosts",
	.usage = "Usage: drover [--socket PATH] COMMAND [ARGS...]\n"
		 "       drover COMMAND --help\n"
		 "\n"
		 "Options:\n"
		 "  --socket PATH   droverfs IPC socket (default: $DROVER_CFS_SOCKET or\n"
		 "                  /run/drover/cfs.sock)\n"
		 "  -h, --help      show this help\n"
		 "  --version       show the version\n",
	.subcommands = groups,
};

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

static void group_help(const struct cli_command *cmd, const char *prefix, FILE *f)
{
	fputs(cmd->usage, f);
	fprintf(f, "\nCommands:\n");
	for (const struct cli_command *const *c = cmd->subcommands; *c; c++)
		if ((*c)->name[0] != '_') /* internal: started by drover itself */
			fprintf(f, "  %-12s %s\n", (*c)->name, (*c)->summary);
	fprintf(f, "\nRun '%s COMMAND --help' for the options of a command.\n", prefix);
}

/* The command's preconditions, once for all commands (prefix: "drover cluster add"). */
static int check_needs(struct cli_context *ctx, const struct cli_command *cmd, const char *prefix)
{
	struct drover_err err = { "" };
	const char *what = str_has_prefix(prefix, "drover ") ? prefix + 7 : prefix;
	int r = drover_require(cmd->needs, what, ctx->socket_path, &ctx->cfs, &err);

	return r < 0 ? cli_fail(&err, r) : 0;
}

int cli_dispatch(struct cli_context *ctx, const struct cli_command *cmd, const char *prefix,
		 int argc, char **argv)
{
	char sub_prefix[256];

	if (!cmd->subcommands) {
		if (cli_wants_help(argc, argv)) {
			fputs(cmd->usage, stdout);
			return CLI_EXIT_OK;
		}
		if (cmd->needs && check_needs(ctx, cmd, prefix) != 0)
			return CLI_EXIT_FAIL;
		return cmd->run(ctx, argc, argv);
	}
	if (argc < 2) {
		group_help(cmd, prefix, stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		group_help(cmd, prefix, stdout);
		return CLI_EXIT_OK;
	}
	for (const struct cli_command *const *c = cmd->subcommands; *c; c++) {
		if (strcmp((*c)->name, argv[1]) != 0)
			continue;
		snprintf(sub_prefix, sizeof(sub_prefix), "%s %s", prefix, (*c)->name);
		return cli_dispatch(ctx, *c, sub_prefix, argc - 1, argv + 1);
	}
	cli_error("unknown command '%s %s' (see '%s --help')", prefix, argv[1], prefix);
	return CLI_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct cli_context ctx = { .socket_path = NULL };
	int i = 1;

	/* Global options come before the command. */
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--version") == 0) {
			printf("drover %s\n", DROVER_VERSION);
			return CLI_EXIT_OK;
		}
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
			ctx.socket_path = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--socket=", 9) == 0) {
			ctx.socket_path = argv[i] + 9;
			i++;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			group_help(&top, "drover", stdout);
			return CLI_EXIT_OK;
		} else {
			cli_error("unknown option '%s' (see 'drover --help')", argv[i]);
			return CLI_EXIT_USAGE;
		}
	}
	argv[i - 1] = "drover";
	return cli_dispatch(&ctx, &top, "drover", argc - i + 1, argv + i - 1);
}
