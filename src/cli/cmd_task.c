/* SPDX-License-Identifier: MIT */
/* drover task: the cluster's tasks (list), a task's log and stopping one. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "basic/timefmt.h"
#include "basic/util.h"
#include "cli.h"
#include "libdrover/node/remote.h"
#include "libdrover/node/task_lists.h"
#include "libdrover/node/self.h"
#include "libdrover/task/task.h"
#include "libdrover/task/task_json.h"
#include "libdrover/task/task_log.h"

struct task_args {
	const char *node;
	const char *vmid;
	bool json;
	bool follow;
	int first; /* index of the first operand */
};

static int parse(int argc, char **argv, const char *cmd, struct task_args *a)
{
	static const struct option longs[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "vmid", required_argument, NULL, 'v' },
		{ "output-format", required_argument, NULL, 'o' },
		{ "follow", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 0;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "f", longs, NULL)) != -1) {
		switch (c) {
		case 'n':
			a->node = optarg;
			break;
		case 'v':
			a->vmid = optarg;
			break;
		case 'o':
			if (!streq(optarg, "json") && !streq(optarg, "text")) {
				cli_error("--output-format: '%s' is not one of text, json", optarg);
				return -EINVAL;
			}
			a->json = streq(optarg, "json");
			break;
		case 'f':
			a->follow = true;
			break;
		default:
			cli_error("see 'drover task %s --help'", cmd);
			return -EINVAL;
		}
	}
	a->first = optind;
	return 0;
}

static int usage_error(const char *cmd, const char *what)
{
	cli_error("task %s: %s (see 'drover task %s --help')", cmd, what, cmd);
	return CLI_EXIT_USAGE;
}

/* This node's name as tasks carry it. */
static int local_node(struct cli_context *ctx, char *node, size_t len)
{
	struct drover_err err = { "" };
	int r = node_self_name(ctx->socket_path, node, len, &err);

	if (r < 0)
		cli_error("%s", err.text);
	return r;
}

/* ---- list ---- */

/* Every node's published list (filtered by --node), or this node's own when droverfs is away. */
static int gather(struct cli_context *ctx, const struct task_args *a, struct task_list *all)
{
	struct strv unreadable = STRV_INIT;
	struct drover_err err = { "" };
	bool local_only;
	int r = node_tasks_gather(ctx->socket_path, a->node, all, &unreadable, &local_only, &err);

	if (local_only)
		fprintf(stderr, "drover: droverfs does not answer: this node's tasks only\n");
	for (size_t i = 0; i < unreadable.n; i++)
		fprintf(stderr, "drover: the task list of %s is not readable\n", unreadable.v[i]);
	strv_free(&unreadable);
	if (r < 0)
		cli_fail(&err, r);
	return r;
}

static void format_time(int64_t t, char *out, size_t len)
{
	if (t <= 0 || !*timefmt_local(t, out, len))
		snprintf(out, len, "-");
}

static struct json_object *task_json(const struct task_info *t)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "upid", json_object_new_string(t->upid));
	json_object_object_add(o, "node", json_object_new_string(t->u.node));
	json_object_object_add(o, "pid", json_object_new_int64(t->u.pid));
	json_object_object_add(o, "pstart", json_object_new_uint64(t->u.pstart));
	json_object_object_add(o, "starttime", json_object_new_int64(t->u.starttime));
	json_object_object_add(o, "type", json_object_new_string(t->u.type));
	json_object_object_add(o, "id", json_object_new_string(t->u.id));
	json_object_object_add(o, "user", json_object_new_string(t->u.user));
	json_object_object_add(o, "status",
			       json_object_new_string(t->running ? "running" : "stopped"));
	if (!t->running) {
		json_object_object_add(o, "endtime", json_object_new_int64(t->endtime));
		json_object_object_add(o, "exitstatus", json_object_new_string(t->status));
	}
	return o;
}

static void print_list(const struct task_list *l, const struct task_args *a)
{
	struct json_object *arr = a->json ? json_object_new_array() : NULL;

	if (!a->json && l->n)
		printf("%-19s  %-19s  %-10s  %-12s  %-6s  %s\n", "STARTTIME", "ENDTIME", "NODE",
		       "TYPE", "ID", "STATUS / UPID");
	for (size_t i = 0; i < l->n; i++) {
		const struct task_info *t = &l->v[i];
		char start[32], end[32];

		if (a->vmid && !streq(a->vmid, t->u.id))
			continue;
		if (arr) {
			json_object_array_add(arr, task_json(t));
			continue;
		}
		format_time(t->u.starttime, start, sizeof(start));
		format_time(t->running ? 0 : t->endtime, end, sizeof(end));
		printf("%-19s  %-19s  %-10s  %-12s  %-6s  %s\n%46s%s\n", start, end, t->u.node,
		       t->u.type, t->u.id[0] ? t->u.id : "-", t->running ? "running" : t->status,
		       "", t->upid);
	}
	if (arr) {
		printf("%s\n", json_object_to_json_string_ext(
				       arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
		json_object_put(arr);
	}
}

static int cmd_list(struct cli_context *ctx, int argc, char **argv)
{
	struct task_list all = { 0 };
	struct task_args a;
	uint32_t vmid;

	if (parse(argc, argv, "list", &a) < 0)
		return CLI_EXIT_USAGE;
	if (a.first < argc)
		return usage_error("list", "unexpected argument");
	if (a.node && !node_name_valid(a.node))
		return usage_error("list", "--node: not a node name");
	if (a.vmid && vmid_parse_n(a.vmid, strlen(a.vmid), &vmid) < 0)
		return usage_error("list", "--vmid: not a VMID");
	if (gather(ctx, &a, &all) < 0) {
		task_list_free(&all);
		return CLI_EXIT_FAIL;
	}
	task_list_sort_newest(&all);
	print_list(&all, &a);
	task_list_free(&all);
	return CLI_EXIT_OK;
}

/* ---- log and stop: here, or over SSH on the task's node ---- */

/* The UPID operand: parsed, and whether its task is this node's. */
static int upid_operand(struct cli_context *ctx, const char *cmd, int argc, char **argv,
			const struct task_args *a, struct upid *u, bool *local)
{
	char self[NODE_NAME_MAX + 1];

	if (a->first + 1 != argc)
		return usage_error(cmd, "expected one UPID");
	if (upid_parse(argv[a->first], u) < 0) {
		cli_error("'%s' is not a UPID (UPID:node:pid:pstart:starttime:type:id:user:)",
			  argv[a->first]);
		return CLI_EXIT_USAGE;
	}
	if (local_node(ctx, self, sizeof(self)) < 0)
		return CLI_EXIT_FAIL;
	*local = streq(self, u->node);
	return 0;
}

/* Run "drover task ARGS..." on the task's node: its exit status is ours. */
static int on_node(struct cli_context *ctx, const char *node, char *const args[])
{
	struct drover_err err = { "" };
	int r;

	fflush(stdout);
	r = node_run_drover(ctx->socket_path, node, args, &err);
	return r < 0 ? cli_fail(&err, r) : r;
}

static int print_line(void *ctx, const char *line)
{
	if (printf("%s\n", line) < 0 || fflush(stdout) != 0)
		return -EIO;
	return 0;
}

static int cmd_log(struct cli_context *ctx, int argc, char **argv)
{
	struct task_log_follow follow = { 0 };
	char status[TASK_STATUS_MAX];
	struct task_args a;
	struct upid u;
	bool local;
	int r;

	if (parse(argc, argv, "log", &a) < 0)
		return CLI_EXIT_USAGE;
	r = upid_operand(ctx, "log", argc, argv, &a, &u, &local);
	if (r)
		return r;
	if (!local) {
		char *args[] = { "task", "log", argv[a.first], a.follow ? "--follow" : NULL, NULL };

		return on_node(ctx, u.node, args);
	}
	r = task_log_read(TASK_DIR_DEFAULT, argv[a.first], a.follow ? &follow : NULL, print_line,
			  NULL, status, sizeof(status));
	if (r == -ENOENT) {
		cli_error("no log of task %s on this node", argv[a.first]);
		return CLI_EXIT_FAIL;
	}
	if (r < 0) {
		cli_error("reading the log of %s: %s", argv[a.first], strerror(-r));
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

static int cmd_stop(struct cli_context *ctx, int argc, char **argv)
{
	struct task_args a;
	struct upid u;
	bool local;
	int r;

	if (parse(argc, argv, "stop", &a) < 0)
		return CLI_EXIT_USAGE;
	r = upid_operand(ctx, "stop", argc, argv, &a, &u, &local);
	if (r)
		return r;
	if (!local) {
		char *args[] = { "task", "stop", argv[a.first], NULL };

		return on_node(ctx, u.node, args);
	}
	r = task_stop(&u);
	if (r == -ESRCH) {
		cli_error("task %s is not running", argv[a.first]);
		return CLI_EXIT_FAIL;
	}
	if (r < 0) {
		cli_error("stopping task %s: %s", argv[a.first], strerror(-r));
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

static const struct cli_command task_list_cmd = {
	.name = "list",
	.needs = CLI_NEED_CFS,
	.summary = "the tasks of every node: running and recent",
	.usage = "Usage: drover task list [--node NODE] [--vmid VMID] [--output-format text|json]\n"
		 "\n"
		 "The running and recent tasks of every node of the cluster, newest first,\n"
		 "as each node publishes them in droverfs's status store: start and end\n"
		 "time, node, type, ID, status (running, OK, the error, or \"unexpected\n"
		 "status\" for a worker that died without ending its task) and the UPID.\n"
		 "\n"
		 "Options:\n"
		 "  --node NODE            only that node's tasks\n"
		 "  --vmid VMID            only tasks of that guest\n"
		 "  --output-format json   a JSON array (upid, node, pid, pstart, starttime,\n"
		 "                         type, id, user, status, endtime, exitstatus)\n",
	.run = cmd_list,
};

static const struct cli_command task_log_cmd = {
	.name = "log",
	.needs = CLI_NEED_CFS,
	.summary = "print a task's log",
	.usage = "Usage: drover task log UPID [--follow]\n"
		 "\n"
		 "Print the log of the task UPID, ending with TASK OK or TASK ERROR: ...\n"
		 "once the task is over. A task of another node is read there (over SSH).\n"
		 "\n"
		 "Options:\n"
		 "  -f, --follow   keep printing lines as the task writes them, until it ends\n",
	.run = cmd_log,
};

static const struct cli_command task_stop_cmd = {
	.name = "stop",
	.needs = CLI_NEED_ROOT | CLI_NEED_CFS,
	.summary = "stop a running task",
	.usage = "Usage: drover task stop UPID\n"
		 "\n"
		 "Stop the running task UPID (on its node, over SSH if it is another one):\n"
		 "its worker gets SIGTERM, and the task ends with TASK ERROR: interrupted by\n"
		 "signal. Fails if the task is not running.\n",
	.run = cmd_stop,
};

static const struct cli_command *const task_cmds[] = {
	&task_list_cmd,
	&task_log_cmd,
	&task_stop_cmd,
	NULL,
};

const struct cli_command cli_task_group = {
	.name = "task",
	.summary = "list tasks, show a task's log, stop a task",
	.usage = "Usage: drover task COMMAND [ARGS...]\n"
		 "\n"
		 "Long operations (starting and stopping guests, migration, replication)\n"
		 "run as tasks, as in Proxmox VE: each has a UPID, a log and a state every\n"
		 "node of the cluster can see. See drover-task(1).\n",
	.subcommands = task_cmds,
};
