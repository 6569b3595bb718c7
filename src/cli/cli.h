/* SPDX-License-Identifier: MIT */
/*
 * The drover command line: a tree of commands. Each group (cluster, cfs,
 * sandbox, ...) is a table of commands; every command has a summary, a
 * usage text for --help, what it needs before it runs (checked once by the
 * dispatcher) and a run function that parses its arguments, makes one
 * libdrover call and prints. Exit codes: 0 done, 1 failed, 2 bad usage.
 */
#pragma once

#include <stdbool.h>

#include "libdrover/cluster/cfs.h"
#include "libdrover/cluster/require.h"
#include "libdrover/error.h"
#include "libdrover/report.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* A command's preconditions (libdrover's), checked by the dispatcher before run(). */
#define CLI_NEED_ROOT DROVER_NEED_ROOT /* only root may run it */
#define CLI_NEED_CFS DROVER_NEED_CFS /* droverfs answers: ctx->cfs holds its state */
#define CLI_NEED_CLUSTER (DROVER_NEED_CLUSTER | DROVER_NEED_CFS) /* this node is in a cluster */
#define CLI_NEED_QUORATE (DROVER_NEED_QUORATE | DROVER_NEED_CFS) /* the tree is writable */

struct cli_context {
	const char *socket_path; /* --socket, or NULL for the default */
	struct cfs_brief cfs; /* droverfs's state, for a command that needs it */
};

struct cli_command {
	const char *name;
	const char *summary;
	const char *usage; /* full help: synopsis, options, description */
	unsigned needs; /* CLI_NEED_* */
	int (*run)(struct cli_context *ctx, int argc, char **argv); /* argv[0]: the command */
	const struct cli_command *const *subcommands; /* a group: NULL-terminated */
};

/* Print "drover: <message>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print a libdrover error (err's text, else strerror(-r)); returns CLI_EXIT_FAIL. */
int cli_fail(const struct drover_err *err, int r);

/* --output-format text|json|json-pretty: 0 text, 1 json, 2 pretty; -1 (printed) when bad. */
int cli_output_format(const char *arg);

/*
 * What libdrover reports, printed: progress lines on stdout (flushed at
 * once), warnings ("warning: ..."), notes and errors ("drover: ...") on
 * stderr.
 */
extern const struct drover_reporter cli_reporter;

/* True if argv holds -h or --help (before a "--"). */
bool cli_wants_help(int argc, char **argv);

/* Dispatch argv (argv[0] names the command or group `cmd`). */
int cli_dispatch(struct cli_context *ctx, const struct cli_command *cmd, const char *prefix,
		 int argc, char **argv);

/* The groups, one a line. */
extern const struct cli_command cli_cfs_group;
extern const struct cli_command cli_sandbox_group;
extern const struct cli_command cli_cluster_group;
extern const struct cli_command cli_replication_group;
extern const struct cli_command cli_storage_group;
extern const struct cli_command cli_node_group;
extern const struct cli_command cli_task_group;
extern const struct cli_command cli_vm_group;
/* guest_recover.c: drover vm recover, drover ct recover */
extern const struct cli_command vm_recover_cmd;
extern const struct cli_command ct_recover_cmd;
extern const struct cli_command cli_ct_group;
