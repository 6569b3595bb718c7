/* SPDX-License-Identifier: MIT */
/*
 * The drover command line: a tree of commands. Each group (cfs, and later
 * cluster, replication, vm, ct, storage, mirror, sandbox) is a table of
 * commands; every command has a summary, a usage text for --help and a
 * run function. Exit codes: 0 done, 1 failed, 2 bad usage.
 */
#pragma once

#include <stdbool.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

struct cli_context {
	const char *socket_path; /* --socket, or NULL for the default */
};

struct cli_command {
	const char *name;
	const char *summary;
	const char *usage; /* full help: synopsis, options, description */
	int (*run)(struct cli_context *ctx, int argc, char **argv); /* argv[0]: the command */
	const struct cli_command *const *subcommands; /* a group: NULL-terminated */
};

/* Print "drover: <message>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True if argv holds -h or --help (before a "--"). */
bool cli_wants_help(int argc, char **argv);

/* Dispatch argv (argv[0] names the command or group `cmd`). */
int cli_dispatch(struct cli_context *ctx, const struct cli_command *cmd, const char *prefix,
		 int argc, char **argv);

extern const struct cli_command cli_cfs_group;
extern const struct cli_command cli_sandbox_group;
extern const struct cli_command cli_cluster_group;
extern const struct cli_command cli_replication_group;
extern const struct cli_command cli_node_group;
extern const struct cli_command cli_task_group;
