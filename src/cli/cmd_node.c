/* SPDX-License-Identifier: MIT */
/* drover node: the nodes' status as droverd publishes it; startall and stopall (pvenode's). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "cli.h"
#include "libdrover/guest/startall.h"
#include "libdrover/node/status.h"
#include "task_run.h"

struct node_args {
	bool json;
	unsigned timeout_s;
};

static int parse(int argc, char **argv, const char *cmd, struct node_args *a)
{
	static const struct option longs[] = {
		{ "output-format", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	memset(a, 0, sizeof(*a));
	a->timeout_s = GUESTS_STOP_TIMEOUT_DEFAULT;
	optind = 0;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		if (c == 'o' && (streq(optarg, "json") || streq(optarg, "text"))) {
			a->json = streq(optarg, "json");
		} else if (c == 't' && streq(cmd, "stopall") && parse_u64(optarg, 86400, &v) == 0 &&
			   v > 0) {
			a->timeout_s = (unsigned)v;
		} else {
			cli_error("node %s: bad option or value (see 'drover node %s --help')", cmd,
				  cmd);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		cli_error("node %s: unexpected argument '%s'", cmd, argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* ---- status ---- */

static void format_uptime(uint64_t s, char *out, size_t len)
{
	if (s >= 86400)
		snprintf(out, len, "%" PRIu64 "d %" PRIu64 "h", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, len, "%" PRIu64 "h %" PRIu64 "m", s / 3600, s % 3600 / 60);
	else
		snprintf(out, len, "%" PRIu64 "m %" PRIu64 "s", s / 60, s % 60);
}

static void print_text(const struct node_view *v, size_t n, int64_t now)
{
	char up[32], used[32], total[32], mem[80];
	size_t guests = 0;

	printf("%-12s %-9s %-9s %6s  %-16s %-24s %s\n", "NODE", "STATE", "UPTIME", "CPU", "LOAD",
	       "MEMORY", "GUESTS");
	for (size_t i = 0; i < n; i++) {
		unsigned running = 0;

		for (size_t k = 0; k < v[i].ng; k++)
			running += v[i].g[k].running;
		if (v[i].have < 0) {
			printf("%-12s %s\n", v[i].node.name, node_view_state(&v[i], now));
			continue;
		}
		format_uptime(v[i].st.uptime_s, up, sizeof(up));
		snprintf(mem, sizeof(mem), "%s / %s",
			 format_size(v[i].st.mem_used, used, sizeof(used)),
			 format_size(v[i].st.mem_total, total, sizeof(total)));
		printf("%-12s %-9s %-9s %5.1f%%  %4.2f %4.2f %4.2f   %-24s %u of %zu running\n",
		       v[i].node.name, node_view_state(&v[i], now), up, 100 * v[i].st.cpu,
		       v[i].st.load[0], v[i].st.load[1], v[i].st.load[2], mem, running, v[i].ng);
	}
	for (size_t i = 0; i < n; i++)
		guests += v[i].ng;
	if (!guests)
		return;
	printf("\n%-8s %-5s %-12s %-8s %8s %-9s %6s  %s\n", "VMID", "TYPE", "NODE", "STATUS", "PID",
	       "UPTIME", "CPU", "MEMORY");
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < v[i].ng; k++) {
			const struct guest_status *g = &v[i].g[k];

			format_uptime(g->uptime_s, up, sizeof(up));
			if (!g->running)
				printf("%-8" PRIu32 " %-5s %-12s %-8s\n", g->vmid,
				       guest_type_name(g->type), v[i].node.name, "stopped");
			else
				printf("%-8" PRIu32 " %-5s %-12s %-8s %8d %-9s %5.1f%%  %s\n",
				       g->vmid, guest_type_name(g->type), v[i].node.name, "running",
				       g->pid, up, 100 * g->cpu,
				       format_size(g->mem, used, sizeof(used)));
		}
}

static struct json_object *node_json(const struct node_view *v, int64_t now)
{
	struct json_object *o = json_object_new_object(), *guests = json_object_new_array();

	json_object_object_add(o, "node", json_object_new_string(v->node.name));
	json_object_object_add(o, "state", json_object_new_string(node_view_state(v, now)));
	if (v->have == 0) {
		char *text = NULL;

		if (node_status_to_json(&v->st, &text) == 0)
			json_object_object_add(o, "status", json_tokener_parse(text));
		free(text);
		if (guest_status_to_json(v->g, v->ng, &text) == 0) {
			json_object_put(guests);
			guests = json_tokener_parse(text);
		}
		free(text);
	}
	json_object_object_add(o, "guests", guests);
	return o;
}

static int cmd_status(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	struct node_view *v = NULL;
	struct node_args a;
	size_t n = 0;
	int64_t now = now_wall_s();
	int r;

	if (parse(argc, argv, "status", &a) < 0)
		return CLI_EXIT_USAGE;
	r = node_views_read(ctx->socket_path, &v, &n, &err);
	if (r < 0)
		return cli_fail(&err, r);
	if (a.json) {
		struct json_object *arr = json_object_new_array();

		for (size_t i = 0; i < n; i++)
			json_object_array_add(arr, node_json(&v[i], now));
		printf("%s\n", json_object_to_json_string_ext(
				       arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
		json_object_put(arr);
	} else {
		print_text(v, n, now);
	}
	node_views_free(v, n);
	return CLI_EXIT_OK;
}

/* ---- startall and stopall, as tasks ---- */

struct all_ctx {
	struct cli_context *cli;
	struct task_env env;
	char node[NODE_NAME_MAX + 1];
	struct guest_ops_table ops;
	unsigned timeout_s;
	bool stop;
};

/* In the worker: this node's guests from droverfs, then all of them started or stopped. */
static int run_all(void *arg, const struct drover_reporter *log, struct drover_err *err)
{
	struct all_ctx *a = arg;
	struct guests_task_ctx tasks = { &a->env, &a->ops };
	struct guests_all_run run = {
		.tasks = &tasks, .node = a->node, .stop = a->stop, .stop_timeout_s = a->timeout_s
	};

	return guests_all_run(&run, log, err);
}

static int all(struct cli_context *ctx, int argc, char **argv, bool stop)
{
	const char *cmd = stop ? "stopall" : "startall";
	struct all_ctx a = { .cli = ctx, .stop = stop };
	struct node_args args;
	int r;

	if (parse(argc, argv, cmd, &args) < 0)
		return CLI_EXIT_USAGE;
	r = task_node_name(ctx->socket_path, a.node, sizeof(a.node));
	if (r < 0) {
		cli_error("this node's name: %s", strerror(-r));
		return CLI_EXIT_FAIL;
	}
	a.env = (struct task_env){ .node = a.node, .cfs_socket = ctx->socket_path };
	a.timeout_s = args.timeout_s;
	guest_ops_defaults(&a.ops, NULL);
	return cli_run_task(ctx, cmd, NULL, run_all, &a);
}

static int cmd_startall(struct cli_context *ctx, int argc, char **argv)
{
	return all(ctx, argc, argv, false);
}

static int cmd_stopall(struct cli_context *ctx, int argc, char **argv)
{
	return all(ctx, argc, argv, true);
}

static const struct cli_command node_status_cmd = {
	.name = "status",
	.needs = CLI_NEED_CFS,
	.summary = "every node's load, memory and guests, as droverd publishes them",
	.usage = "Usage: drover node status [--output-format text|json]\n"
		 "\n"
		 "The status droverd publishes every few seconds on each node: uptime, CPU\n"
		 "use, load, memory and the state, CPU and memory use of each guest, for\n"
		 "every node of the cluster. A node is \"offline\" when it is not a member,\n"
		 "\"stale\" when its status is older than 60 s (its droverd is not running),\n"
		 "\"no-status\" when it never published one.\n"
		 "\n"
		 "Options:\n"
		 "  --output-format json   a JSON array: node, state, status, guests\n",
	.run = cmd_status,
};

static const struct cli_command node_startall_cmd = {
	.name = "startall",
	.needs = CLI_NEED_ROOT | CLI_NEED_CFS,
	.summary = "start this node's onboot guests in startup order (a task)",
	.usage = "Usage: drover node startall\n"
		 "\n"
		 "Start the guests of this node that have onboot: 1, in startup order,\n"
		 "waiting each one's up= seconds before the next, each start a task of its\n"
		 "own; locked guests are skipped. What droverd does once after the node\n"
		 "booted and became quorate. Runs as a task: its log is printed.\n",
	.run = cmd_startall,
};

static const struct cli_command node_stopall_cmd = {
	.name = "stopall",
	.needs = CLI_NEED_ROOT | CLI_NEED_CFS,
	.summary = "shut down every guest of this node in reverse startup order (a task)",
	.usage = "Usage: drover node stopall [--timeout SECONDS]\n"
		 "\n"
		 "Shut down every running guest of this node in reverse startup order,\n"
		 "giving each its startup down= seconds (else --timeout, default 180)\n"
		 "before it is stopped hard. What droverd does when it is stopped. Runs as\n"
		 "a task: its log is printed.\n",
	.run = cmd_stopall,
};

static const struct cli_command *const node_cmds[] = {
	&node_status_cmd,
	&node_startall_cmd,
	&node_stopall_cmd,
	NULL,
};

const struct cli_command cli_node_group = {
	.name = "node",
	.summary = "node status, start or stop all guests of a node",
	.usage = "Usage: drover node COMMAND [ARGS...]\n"
		 "\n"
		 "What droverd, the node agent, publishes and does on each node (the\n"
		 "habits of Proxmox's pvenode). See drover-node(1) and droverd(8).\n",
	.subcommands = node_cmds,
};
