/* SPDX-License-Identifier: MIT */
/*
 * drover sandbox: a whole cluster on one machine, for tests, the demo and
 * trying drover out. The command line only; the namespaces and processes
 * are src/sandbox's.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "basic/util.h"
#include "sandbox/sandbox.h"

#define UP_TIMEOUT_S 60

extern char **environ;

/* What every sandbox command parses: --name, and the operands. */
struct args {
	const char *name;
	unsigned nodes;
	unsigned networks;
	int link; /* -1: all links */
	bool kill9;
	bool all;
	bool bare;
	bool qnetd;
	enum sb_ceph ceph;
	bool ceph_local;
	bool realtime;
	uint64_t disk_size;
	int nops;
	char **ops; /* operands before "--" */
	int nextra;
	char **extra; /* after "--" */
};

enum {
	OPT_NAME = 0x100,
	OPT_NODES,
	OPT_NETWORKS,
	OPT_LINK,
	OPT_KILL,
	OPT_ALL,
	OPT_BARE,
	OPT_QNETD,
	OPT_CEPH,
	OPT_CEPH_LOCAL,
	OPT_REALTIME,
	OPT_QUEUE,
	OPT_DELAY,
	OPT_JITTER,
	OPT_DISK_SIZE,
};

static int parse_uint(const char *opt, const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	uint64_t v;

	if (parse_u64(s, hi, &v) < 0 || v < lo) {
		cli_error("%s: '%s' is not a number from %u to %u", opt, s, lo, hi);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

/*
 * getopt over argv up to a "--" (what follows it is left alone: a command
 * to run, or extra droverfs options). stop_at_operand: options end at the
 * first operand, for exec without "--".
 */
static int parse_args(int argc, char **argv, bool stop_at_operand, struct args *a)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "nodes", required_argument, NULL, OPT_NODES },
		{ "networks", required_argument, NULL, OPT_NETWORKS },
		{ "link", required_argument, NULL, OPT_LINK },
		{ "kill", no_argument, NULL, OPT_KILL },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "bare", no_argument, NULL, OPT_BARE },
		{ "qnetd", no_argument, NULL, OPT_QNETD },
		{ "ceph", optional_argument, NULL, OPT_CEPH },
		{ "ceph-local", no_argument, NULL, OPT_CEPH_LOCAL },
		{ "realtime", no_argument, NULL, OPT_REALTIME },
		{ "queue", required_argument, NULL, OPT_QUEUE },
		{ "delay", required_argument, NULL, OPT_DELAY },
		{ "jitter", required_argument, NULL, OPT_JITTER },
		{ "disk-size", required_argument, NULL, OPT_DISK_SIZE },
		{ NULL, 0, NULL, 0 },
	};
	int end = argc, c;
	unsigned v;

	memset(a, 0, sizeof(*a));
	a->name = getenv("DROVER_SANDBOX");
	if (!a->name || !a->name[0])
		a->name = SANDBOX_DEFAULT_NAME;
	a->nodes = 3;
	a->networks = 1;
	a->link = -1;
	a->disk_size = SB_DISK_SIZE_DEFAULT;
	for (int i = 1; i < argc; i++)
		if (streq(argv[i], "--")) {
			end = i;
			a->extra = argv + i + 1;
			a->nextra = argc - i - 1;
			break;
		}
	optind = 0;
	opterr = 1;
	while ((c = getopt_long(end, argv, stop_at_operand ? "+" : "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_NAME:
			a->name = optarg;
			break;
		case OPT_NODES:
			if (parse_uint("--nodes", optarg, 1, SANDBOX_NODES_MAX, &a->nodes) < 0)
				return -EINVAL;
			break;
		case OPT_NETWORKS:
			if (parse_uint("--networks", optarg, 1, SANDBOX_NETS_MAX, &a->networks) < 0)
				return -EINVAL;
			break;
		case OPT_LINK:
			if (parse_uint("--link", optarg, 0, SANDBOX_NETS_MAX - 1, &v) < 0)
				return -EINVAL;
			a->link = (int)v;
			break;
		case OPT_KILL:
			a->kill9 = true;
			break;
		case OPT_ALL:
			a->all = true;
			break;
		case OPT_BARE:
			a->bare = true;
			break;
		case OPT_QNETD:
			a->qnetd = true;
			break;
		case OPT_CEPH:
			a->ceph = SB_CEPH_MEMSTORE;
			if (optarg && sb_ceph_store_parse(optarg, &a->ceph) < 0) {
				cli_error("--ceph: '%s' is not memstore or bluestore", optarg);
				return -EINVAL;
			}
			break;
		case OPT_CEPH_LOCAL:
			a->ceph_local = true;
			break;
		case OPT_REALTIME:
			a->realtime = true;
			break;
		case OPT_DISK_SIZE:
			if (parse_size(optarg, &a->disk_size) < 0 ||
			    a->disk_size < SB_DISK_SIZE_MIN) {
				cli_error(
					"--disk-size: '%s' is not a size of at least 128M (K, M, G)",
					optarg);
				return -EINVAL;
			}
			break;
		case OPT_QUEUE:
		case OPT_DELAY:
		case OPT_JITTER:
			/* the hidden helper's own options; parsed again by it */
			break;
		default:
			return -EINVAL;
		}
	}
	a->ops = argv + optind;
	a->nops = end - optind;
	if (stop_at_operand && a->nextra == 0 && a->nops > 1) {
		/* exec NODE CMD ARGS... without "--" */
		a->extra = argv + optind + 1;
		a->nextra = argc - optind - 1;
		a->nops = 1;
	}
	return 0;
}

static int usage_error(const char *cmd, const char *msg)
{
	cli_error("%s (see 'drover sandbox %s --help')", msg, cmd);
	return CLI_EXIT_USAGE;
}

/* The sandbox named in args, loaded; prints why not. */
static int open_sandbox(const struct args *a, struct sandbox *sb)
{
	int r = sb_init(sb, a->name);

	if (r < 0) {
		cli_error("'%s' is not a valid sandbox name (a-z, 0-9 and '-', starting with a "
			  "letter, at most %d characters)",
			  a->name, SANDBOX_NAME_MAX);
		return r;
	}
	r = sb_load(sb);
	if (r == -ENOENT)
		cli_error("no sandbox '%s' (see 'drover sandbox list')", a->name);
	else if (r < 0)
		cli_error("sandbox '%s': %s", a->name, strerror(-r));
	return r;
}

/* A host's name, or why not: "'x' is not a node of sandbox s (node1 to node3, qnetd)". */
static int parse_host(const struct sandbox *sb, const char *s, bool all_ok, unsigned *host)
{
	if (sb_parse_node(sb, s, host) == 0)
		return 0;
	cli_error("'%s' is not a node of sandbox %s (node1 to node%u%s%s%s)", s, sb->name,
		  sb->nodes, sb->qnetd ? ", " SB_QNETD_NAME : "", sb->ceph ? ", " SB_CEPH_NAME : "",
		  all_ok ? ", or all" : "");
	return -EINVAL;
}

/* NODE, qnetd, ceph or "all" (every node; not those hosts): the first and last host number. */
static int parse_nodes(const struct sandbox *sb, const char *s, unsigned *first, unsigned *last)
{
	if (streq(s, "all")) {
		*first = 1;
		*last = sb->nodes;
		return 0;
	}
	if (parse_host(sb, s, true, first) < 0)
		return -EINVAL;
	*last = *first;
	return 0;
}

static int cmd_up(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	struct sandbox sb;
	struct args a;
	int r;

	if (parse_args(argc, argv, false, &a) < 0)
		return CLI_EXIT_USAGE;
	if (a.nops > 0)
		return usage_error("up", "unexpected argument");
	if (sb_init(&sb, a.name) < 0) {
		cli_error("'%s' is not a valid sandbox name (a-z, 0-9 and '-', starting with a "
			  "letter, at most %d characters)",
			  a.name, SANDBOX_NAME_MAX);
		return CLI_EXIT_USAGE;
	}
	sb.nodes = a.nodes;
	sb.networks = a.networks;
	sb.qnetd = a.qnetd;
	sb.ceph = a.ceph;
	/* the second cluster lives on the Ceph host: --ceph-local brings it */
	if (a.ceph_local && !sb.ceph)
		sb.ceph = SB_CEPH_MEMSTORE;
	sb.ceph_local = a.ceph_local;
	sb.realtime = a.realtime;
	sb.disk_size = a.disk_size;
	r = sb_create(&sb, a.bare, UP_TIMEOUT_S, &err);
	if (r < 0)
		return cli_fail(&err, r);
	if (a.bare)
		printf("Sandbox %s is up: %u bare node%s (droverfs in local mode, sshd; no cluster yet).\n",
		       sb.name, sb.nodes, sb.nodes == 1 ? "" : "s");
	else
		printf("Sandbox %s is up: %u node%s, corosync quorate, droverfs mounted.\n",
		       sb.name, sb.nodes, sb.nodes == 1 ? "" : "s");
	for (unsigned k = 1; k; k = sb_next_host(&sb, k)) {
		char addr[32], host[16];

		sb_node_name(k, host, sizeof(host));
		printf("  %-7s", host);
		for (unsigned l = 0; l < sb.networks; l++) {
			sb_address(k, l, addr, sizeof(addr));
			printf(" eth%u %-12s", l, addr);
		}
		if (k == SB_CEPH_HOST)
			printf(" (ceph-mon, ceph-osd on %s, ceph-mgr; pool rbd%s)\n",
			       sb_ceph_store_name(sb.ceph),
			       sb.ceph_local ? "; and cluster ceph2, mon on :3301" : "");
		else
			printf("%s\n",
			       k == SB_QNETD_HOST ? " (sshd, corosync-qnetd on TCP 5403)" : "");
	}
	if (sb.ceph)
		printf("Storage:        rbd storage 'ceph' on every node (pool rbd, keyring in\n"
		       "                /etc/drover/priv/ceph/ceph.keyring)\n");
	if (sb.ceph_local)
		printf("                rbd storage 'ceph-local' (shared 0): each node's own\n"
		       "                /etc/ceph, odd nodes cluster ceph, even nodes ceph2\n");
	printf("State and logs: %s\n", sb.dir);
	printf("Enter a node:   drover sandbox shell%s%s node1\n",
	       streq(sb.name, SANDBOX_DEFAULT_NAME) ? "" : " --name ",
	       streq(sb.name, SANDBOX_DEFAULT_NAME) ? "" : sb.name);
	printf("Remove it:      drover sandbox down%s%s\n",
	       streq(sb.name, SANDBOX_DEFAULT_NAME) ? "" : " --name ",
	       streq(sb.name, SANDBOX_DEFAULT_NAME) ? "" : sb.name);
	return CLI_EXIT_OK;
}

static int down_one(const char *name)
{
	struct drover_err err = { "" };
	int r = sb_destroy(name, &err);

	if (r < 0)
		cli_fail(&err, r);
	return r;
}

static int cmd_down(struct cli_context *ctx, int argc, char **argv)
{
	char names[64][SANDBOX_NAME_MAX + 1];
	struct args a;
	int n, failed = 0;

	if (parse_args(argc, argv, false, &a) < 0)
		return CLI_EXIT_USAGE;
	if (a.nops > 0)
		return usage_error("down", "unexpected argument");
	if (!a.all) {
		if (!sb_name_valid(a.name))
			return usage_error("down", "invalid sandbox name");
		return down_one(a.name) < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	}
	n = sb_list(names, (int)ARRAY_SIZE(names));
	for (int i = 0; i < n; i++)
		failed |= down_one(names[i]) < 0;
	return failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static int cmd_list(struct cli_context *ctx, int argc, char **argv)
{
	char names[64][SANDBOX_NAME_MAX + 1];
	struct args a;
	int n;

	if (parse_args(argc, argv, false, &a) < 0)
		return CLI_EXIT_USAGE;
	n = sb_list(names, (int)ARRAY_SIZE(names));
	if (n < 0) {
		cli_error("%s: %s", SANDBOX_ROOT, strerror(-n));
		return CLI_EXIT_FAIL;
	}
	for (int i = 0; i < n; i++) {
		struct sandbox sb;

		sb_init(&sb, names[i]);
		if (sb_load(&sb) == 0)
			printf("%-16s %u node%s, %u network%s\n", names[i], sb.nodes,
			       sb.nodes == 1 ? "" : "s", sb.networks, sb.networks == 1 ? "" : "s");
		else
			printf("%-16s broken (remove it with 'drover sandbox down --name %s')\n",
			       names[i], names[i]);
	}
	return CLI_EXIT_OK;
}

static void print_netem(const struct sb_netem *n)
{
	if (!n->delay_ms && n->loss_pct <= 0) {
		printf("-");
		return;
	}
	if (n->delay_ms) {
		printf("delay %ums", n->delay_ms);
		if (n->jitter_ms)
			printf(" +-%ums", n->jitter_ms);
	}
	if (n->loss_pct > 0)
		printf("%sloss %g%%", n->delay_ms ? ", " : "", n->loss_pct);
}

static int cmd_status(struct cli_context *ctx, int argc, char **argv)
{
	struct sandbox sb;
	struct args a;
	pid_t keeper;

	if (parse_args(argc, argv, false, &a) < 0)
		return CLI_EXIT_USAGE;
	if (a.nops > 0)
		return usage_error("status", "unexpected argument");
	if (open_sandbox(&a, &sb) < 0)
		return CLI_EXIT_FAIL;
	keeper = sb_keeper_pid(&sb);
	printf("Sandbox %s: %u node%s, %u network%s, state in %s\n", sb.name, sb.nodes,
	       sb.nodes == 1 ? "" : "s", sb.networks, sb.networks == 1 ? "" : "s", sb.dir);
	if (keeper > 0)
		printf("Keeper: pid %d\n", (int)keeper);
	else
		printf("Keeper: stopped\n");
	for (unsigned k = 1; k; k = sb_next_host(&sb, k)) {
		char host[16];

		sb_node_name(k, host, sizeof(host));
		printf("\n%s\n", host);
		for (int d = 0; d < SB_DAEMONS; d++) {
			pid_t pid = sb_daemon_pid(&sb, k, sb_daemon_name(d));

			if (!(sb_host_daemons(k) & (1u << d)))
				continue;
			/* corosync-qdevice only where it is configured: most clusters have none */
			if (pid > 0)
				printf("  %-16s running  pid %d\n", sb_daemon_name(d), (int)pid);
			else if ((d != SB_QDEVICE && d != SB_DROVERD && d < SB_CEPH2_MON) ||
				 sb_daemon_configured(&sb, k, d))
				printf("  %-16s stopped\n", sb_daemon_name(d));
		}
		for (unsigned l = 0; l < sb.networks; l++) {
			struct sb_netem n;
			char addr[32];
			int up = sb_link_up(&sb, k, l);

			sb_address(k, l, addr, sizeof(addr));
			sb_netem_get(&sb, k, l, &n);
			printf("  eth%u       %-8s %-12s netem: ", l,
			       up == 1	 ? "up"
			       : up == 0 ? "down"
					 : "missing",
			       addr);
			print_netem(&n);
			printf("\n");
		}
	}
	return CLI_EXIT_OK;
}

/* Become a process inside the node (exec and shell): never returns on success. */
static int enter_and_exec(const struct sandbox *sb, unsigned node, char **cmd)
{
	char **env;
	int r = sb_node_enter(sb, node);

	if (r < 0) {
		cli_error("entering node%u of %s: %s", node, sb->name, strerror(-r));
		return CLI_EXIT_FAIL;
	}
	env = sb_node_environ(sb, node, true);
	if (!env || chdir("/root") < 0) {
		cli_error("preparing node%u: %s", node, strerror(env ? errno : ENOMEM));
		return CLI_EXIT_FAIL;
	}
	environ = env;
	execvp(cmd[0], cmd);
	cli_error("%s: %s", cmd[0], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

static int cmd_exec(struct cli_context *ctx, int argc, char **argv)
{
	struct sandbox sb;
	struct args a;
	unsigned node;

	if (parse_args(argc, argv, true, &a) < 0)
		return CLI_EXIT_USAGE;
	if (a.nops != 1 || a.nextra < 1)
		return usage_error("exec", "expected NODE -- COMMAND [ARGS...]");
	if (open_sandbox(&a, &sb) < 0)
		return CLI_EXIT_FAIL;
	if (parse_host(&sb, a.ops[0], false, &node) < 0)
		return CLI_EXIT_USAGE;
	return enter_and_exec(&sb, node, a.extra);
}

static int cmd_shell(struct cli_context *ctx, int argc, char **argv)
{
	char *shell[] = { "bash", "-i", NULL };
	struct sandbox sb;
	struct args a;
	unsigned node;

	if (parse_args(argc, argv, false, &a) < 0)
		return CLI_EXIT_USAGE;
	if (a.nops != 1)
		return usage_error("shell", "expected NODE");
	if (open_sandbox(&a, &sb) < 0)
		return CLI_EXIT_FAIL;
	if (parse_host(&sb, a.ops[0], false, &node) < 0)
		return CLI_EXIT_USAGE;
	/* bash's own startup files would set PS1 again: the prompt comes from debian_chroot */
	return enter_and_exec(&sb, node, shell);
}

static int set_link(const struct sandbox *sb, unsigned node, unsigned net, bool up)
{
	struct drover_err err = { "" };
	int r = sb_link_set(sb, node, net, up, &err);

	if (r < 0)
		cli_fail(&err, r);
	return r;
}

static int set_links(int argc, char **argv, const char *cmd, bool up)
{
	struct sandbox sb;
	struct args a;
	unsigned first, last;
	int failed = 0;

	if (parse_args(argc, argv, false, &a) < 0)
		return CLI_EXIT_USAGE;
	if (a.nops != 1)
		return usage_error(cmd, "expected NODE");
	if (open_sandbox(&a, &sb) < 0)
		return CLI_EXIT_FAIL;
	if (parse_nodes(&sb, a.ops[0], &first, &last) < 0)
		return CLI_EXIT_USAGE;
	if (a.link >= (int)sb.networks) {
		cli_error("--link %d: sandbox %s has %u network%s", a.link, sb.name, sb.networks,
			  sb.networks == 1 ? "" : "s");
		return CLI_EXIT_USAGE;
	}
	for (unsigned k = first; k <= last; k++)
		for (unsigned l = 0; l < sb.networks; l++)
			if (a.link < 0 || (unsigned)a.link == l)
				failed |= set_link(&sb, k, l, up) < 0;
	return failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static int cmd_cut(struct cli_context *ctx, int argc, char **argv)
{
	return set_links(argc, argv, "cut", false);
}

static int cmd_heal(struct cli_context *ctx, int argc, char **argv)
{
	return set_links(argc, argv, "heal", true);
}

static int parse_number(const char *what, const char *s, double max, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || v < 0 || v > max) {
		cli_error("%s: '%s' is not a number from 0 to %g", what, s, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int cmd_netem(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	struct sandbox sb;
	struct args a;
	unsigned first, last;
	const char *action;
	double v = 0, j = 0;
	int failed = 0;

	if (parse_args(argc, argv, false, &a) < 0)
		return CLI_EXIT_USAGE;
	if (a.nops < 2)
		return usage_error("netem", "expected NODE delay|loss|clear");
	action = a.ops[1];
	if (!(streq(action, "delay") && (a.nops == 3 || a.nops == 4)) &&
	    !(streq(action, "loss") && a.nops == 3) && !(streq(action, "clear") && a.nops == 2))
		return usage_error("netem",
				   "expected NODE delay MS [JITTER_MS] | loss PERCENT | clear");
	if (streq(action, "delay") &&
	    (parse_number("delay", a.ops[2], 60000, &v) < 0 ||
	     (a.nops == 4 && parse_number("jitter", a.ops[3], 60000, &j) < 0)))
		return CLI_EXIT_USAGE;
	if (streq(action, "loss") && parse_number("loss", a.ops[2], 100, &v) < 0)
		return CLI_EXIT_USAGE;
	if (open_sandbox(&a, &sb) < 0)
		return CLI_EXIT_FAIL;
	if (parse_nodes(&sb, a.ops[0], &first, &last) < 0)
		return CLI_EXIT_USAGE;
	if (a.link >= (int)sb.networks) {
		cli_error("--link %d: sandbox %s has %u network%s", a.link, sb.name, sb.networks,
			  sb.networks == 1 ? "" : "s");
		return CLI_EXIT_USAGE;
	}
	for (unsigned k = first; k <= last; k++)
		for (unsigned l = 0; l < sb.networks; l++) {
			struct sb_netem n;
			int r;

			if (a.link >= 0 && (unsigned)a.link != l)
				continue;
			/* delay and loss combine; each replaces only its own setting */
			sb_netem_get(&sb, k, l, &n);
			if (streq(action, "delay")) {
				n.delay_ms = (unsigned)v;
				n.jitter_ms = MIN((unsigned)j, n.delay_ms);
			} else if (streq(action, "loss")) {
				n.loss_pct = v;
			} else {
				memset(&n, 0, sizeof(n));
			}
			r = sb_netem_set(&sb, k, l, &n, &err);
			if (r < 0) {
				char host[16];

				sb_node_name(k, host, sizeof(host));
				cli_error("netem on %s eth%u: %s", host, l,
					  err.text[0] ? err.text : strerror(-r));
				failed = 1;
			}
		}
	return failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* DAEMON... operands (after NODE) as a mask; none named: 0 (all the host runs). */
static int parse_daemons(const struct args *a, const char *cmd, unsigned *mask)
{
	*mask = 0;
	for (int i = 1; i < a->nops; i++) {
		enum sb_daemon d;

		if (sb_daemon_parse(a->ops[i], &d) < 0) {
			cli_error(
				"'%s' is not a daemon: corosync, droverfs, sshd, corosync-qdevice, droverd, "
				"corosync-qnetd, ceph-mon, ceph-osd, ceph-mgr, ceph2-mon, ceph2-osd or "
				"ceph2-mgr (see 'drover "
				"sandbox %s --help')",
				a->ops[i], cmd);
			return -EINVAL;
		}
		*mask |= 1u << d;
	}
	return 0;
}

enum daemon_action { DO_START = 1, DO_STOP = 2, DO_RESTART = 3 };

static int daemons(int argc, char **argv, const char *cmd, enum daemon_action what)
{
	struct sandbox sb;
	struct args a;
	unsigned first, last, named;
	int failed = 0, lock;

	if (parse_args(argc, argv, false, &a) < 0)
		return CLI_EXIT_USAGE;
	if (a.nops < 1)
		return usage_error(cmd, "expected NODE [DAEMON...]");
	if (a.nextra > 0 && what == DO_STOP)
		return usage_error(cmd, "extra droverfs arguments only go with start and restart");
	if (open_sandbox(&a, &sb) < 0)
		return CLI_EXIT_FAIL;
	if (parse_nodes(&sb, a.ops[0], &first, &last) < 0 || parse_daemons(&a, cmd, &named) < 0)
		return CLI_EXIT_USAGE;
	if (named & ~sb_host_daemons(first)) {
		cli_error("%s does not run %s (see 'drover sandbox %s --help')", a.ops[0],
			  first == SB_QNETD_HOST ? "that daemon: it has sshd and corosync-qnetd"
			  : first == SB_CEPH_HOST
				  ? "that daemon: it has ceph-mon, ceph-osd and ceph-mgr (and "
				    "ceph2-mon, ceph2-osd, ceph2-mgr with --ceph-local)"
				  : "that daemon: the QNetd or Ceph host does",
			  cmd);
		return CLI_EXIT_USAGE;
	}
	lock = sb_lock(&sb);
	if (lock < 0) {
		cli_error("locking sandbox %s: %s", sb.name, strerror(-lock));
		return CLI_EXIT_FAIL;
	}
	for (unsigned k = first; k <= last; k++) {
		unsigned mask = named ? named : sb_host_daemons(k);

		if ((what & DO_STOP) && sb_daemons_stop(&sb, k, mask, a.kill9, &cli_reporter) < 0)
			failed = 1;
		if ((what & DO_START) && sb_daemons_start(&sb, k, mask, !named, what == DO_RESTART,
							  a.extra, &cli_reporter) < 0)
			failed = 1;
	}
	close(lock);
	return failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static int cmd_start(struct cli_context *ctx, int argc, char **argv)
{
	return daemons(argc, argv, "start", DO_START);
}

static int cmd_stop(struct cli_context *ctx, int argc, char **argv)
{
	return daemons(argc, argv, "stop", DO_STOP);
}

static int cmd_restart(struct cli_context *ctx, int argc, char **argv)
{
	return daemons(argc, argv, "restart", DO_RESTART);
}

static int cmd_keeper(struct cli_context *ctx, int argc, char **argv)
{
	struct args a;

	if (parse_args(argc, argv, false, &a) < 0)
		return CLI_EXIT_USAGE;
	return sb_keeper_main(a.name) < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static int cmd_netem_helper(struct cli_context *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "queue", required_argument, NULL, 'q' },
		{ "delay", required_argument, NULL, 'd' },
		{ "jitter", required_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned queue = 0, delay = 0, jitter = 0;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int r = c == 'q'   ? parse_uint("--queue", optarg, 0, 65535, &queue)
			: c == 'd' ? parse_uint("--delay", optarg, 0, 600000, &delay)
			: c == 'j' ? parse_uint("--jitter", optarg, 0, 600000, &jitter)
				   : -EINVAL;

		if (r < 0)
			return CLI_EXIT_USAGE;
	}
	return sb_netem_helper_main(queue, delay, jitter) < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

#define NAME_OPT "  --name NAME      the sandbox (default: $DROVER_SANDBOX or \"default\")\n"

static const struct cli_command cmd_up_def = {
	.name = "up",
	.summary = "make a sandbox cluster and start its daemons",
	.usage =
		"Usage: drover sandbox up [--nodes N] [--networks 1|2] [--bare] [--qnetd]\n"
		"                         [--ceph[=memstore|bluestore]] [--ceph-local] [--realtime]\n"
		"                         [--disk-size SIZE] [--name NAME]\n"
		"\n"
		"Make N nodes (default 3, at most 16), each in its own network, mount and\n"
		"UTS namespaces, wired to a bridge; start droverfs (local mode) and sshd on\n"
		"each, then build the cluster as a user would: 'drover cluster create NAME'\n"
		"on node1 and 'drover cluster add 10.99.0.1' on every other node, one after\n"
		"the other, and wait until all are quorate (at most 60 s).\n"
		"\n"
		"Every node gets a btrfs file system of its own on a sparse loop file\n"
		"(STATE/nodeK/btrfs.img), mounted at " SB_BTRFS_PATH " in the node and\n"
		"configured as storage '" SB_BTRFS_STORAGE "'; one directory of the host\n"
		"(STATE/shared) is mounted at " SB_SHARED_PATH " in every node as storage\n"
		"'" SB_SHARED_STORAGE
		"' (shared, as NFS would be). down detaches the loop devices.\n"
		"\n"
		"Options:\n"
		"  --nodes N        number of nodes, node1..nodeN (default 3)\n"
		"  --bare           stop before the cluster: no corosync, droverfs in local mode\n"
		"  --networks 1|2   networks per node: eth0 10.99.0.K, eth1 10.99.1.K\n"
		"  --qnetd          also a QNetd host 'qnetd' (10.99.L.254) running sshd and\n"
		"                   corosync-qnetd, for 'drover cluster qdevice setup 10.99.0.254'\n"
		"  --ceph[=STORE]   also a Ceph host 'ceph' (10.99.L.253): one ceph-mon, one\n"
		"                   ceph-osd (STORE memstore, the default, or bluestore on a\n"
		"                   sparse file), a ceph-mgr and pool 'rbd'; every node gets the\n"
		"                   rbd storage 'ceph' in storage.cfg, its keyring in\n"
		"                   /etc/drover/priv/ceph/ceph.keyring\n"
		"  --ceph-local     --ceph and a second Ceph cluster 'ceph2' on the Ceph host\n"
		"                   (own fsid, mon on ports 3301/6790, its own OSD and mgr,\n"
		"                   daemons ceph2-mon, ceph2-osd, ceph2-mgr); each node's\n"
		"                   /etc/ceph/ceph.conf and ceph.client.admin.keyring name one\n"
		"                   of them (odd nodes ceph, even nodes ceph2), behind the rbd\n"
		"                   storage 'ceph-local' (pool rbd, no monhost, shared 0)\n"
		"  --realtime       run corosync with its realtime priority, as on real hosts\n"
		"                   (by default it runs without: the nodes share this machine's\n"
		"                   CPUs, and a realtime corosync under load starves the others)\n"
		"  --disk-size SIZE each node's btrfs file system (default 4G, at least 128M)\n" NAME_OPT,
	.needs = CLI_NEED_ROOT,
	.run = cmd_up,
};

static const struct cli_command cmd_down_def = {
	.name = "down",
	.summary = "stop and remove a sandbox",
	.usage = "Usage: drover sandbox down [--name NAME | --all]\n"
		 "\n"
		 "Stop every process of the sandbox, unmount everything, delete its namespaces\n"
		 "and its state directory. Works on half-broken sandboxes too.\n"
		 "\n"
		 "Options:\n" NAME_OPT "  --all            every sandbox\n",
	.needs = CLI_NEED_ROOT,
	.run = cmd_down,
};

static const struct cli_command cmd_status_def = {
	.name = "status",
	.summary = "show nodes, daemons, links and faults",
	.usage =
		"Usage: drover sandbox status [--name NAME]\n"
		"\n"
		"Per node: corosync, droverfs, sshd and, once configured, corosync-qdevice\n"
		"and droverd (pid, running or stopped); sshd and corosync-qnetd on the QNetd host;\n"
		"ceph-mon, ceph-osd and ceph-mgr on the Ceph host; and\n"
		"each link's address, state (up or down) and the netem fault in force.\n"
		"\n"
		"Options:\n" NAME_OPT,
	.needs = CLI_NEED_ROOT,
	.run = cmd_status,
};

static const struct cli_command cmd_list_def = {
	.name = "list",
	.summary = "list the sandboxes",
	.usage = "Usage: drover sandbox list\n"
		 "\n"
		 "The sandboxes that exist, with their number of nodes and networks.\n",
	.run = cmd_list,
};

static const struct cli_command cmd_shell_def = {
	.name = "shell",
	.summary = "an interactive shell in a node",
	.usage = "Usage: drover sandbox shell [--name NAME] NODE\n"
		 "\n"
		 "Run bash inside NODE's namespaces, in /root. The prompt names the sandbox\n"
		 "and the node.\n"
		 "\n"
		 "Options:\n" NAME_OPT,
	.needs = CLI_NEED_ROOT,
	.run = cmd_shell,
};

static const struct cli_command cmd_exec_def = {
	.name = "exec",
	.summary = "run a command in a node",
	.usage = "Usage: drover sandbox exec [--name NAME] NODE [--] COMMAND [ARGS...]\n"
		 "\n"
		 "Run COMMAND inside NODE's namespaces, in /root, with standard input, output\n"
		 "and error inherited; exits with COMMAND's exit status. PATH starts with the\n"
		 "directories of drover and droverfs.\n"
		 "\n"
		 "Options:\n" NAME_OPT,
	.needs = CLI_NEED_ROOT,
	.run = cmd_exec,
};

static const struct cli_command cmd_cut_def = {
	.name = "cut",
	.summary = "take a node's links down",
	.usage = "Usage: drover sandbox cut [--name NAME] [--link 0|1] NODE|all\n"
		 "\n"
		 "Set the node's eth0 (--link 0), eth1 (--link 1) or all links down. NODE\n"
		 "may be qnetd or ceph (the QNetd or Ceph host); all means every node.\n"
		 "\n"
		 "Options:\n" NAME_OPT "  --link L         only ethL\n",
	.needs = CLI_NEED_ROOT,
	.run = cmd_cut,
};

static const struct cli_command cmd_heal_def = {
	.name = "heal",
	.summary = "bring a node's links up again",
	.usage = "Usage: drover sandbox heal [--name NAME] [--link 0|1] NODE|all\n"
		 "\n"
		 "Set the node's eth0 (--link 0), eth1 (--link 1) or all links up. NODE\n"
		 "may be qnetd or ceph (the QNetd or Ceph host); all means every node.\n"
		 "\n"
		 "Options:\n" NAME_OPT "  --link L         only ethL\n",
	.needs = CLI_NEED_ROOT,
	.run = cmd_heal,
};

static const struct cli_command cmd_netem_def = {
	.name = "netem",
	.summary = "delay or lose a node's packets",
	.usage =
		"Usage: drover sandbox netem [--name NAME] [--link 0|1] NODE|all delay MS [JITTER_MS]\n"
		"       drover sandbox netem [--name NAME] [--link 0|1] NODE|all loss PERCENT\n"
		"       drover sandbox netem [--name NAME] [--link 0|1] NODE|all clear\n"
		"\n"
		"delay holds every packet the node sends for MS milliseconds (plus or minus\n"
		"up to JITTER_MS); loss drops PERCENT of the packets it sends and of those\n"
		"it receives; clear removes both. Delay and loss combine.\n"
		"\n"
		"Options:\n" NAME_OPT "  --link L         only ethL (default: all links)\n",
	.needs = CLI_NEED_ROOT,
	.run = cmd_netem,
};

#define DAEMON_HELP                                                                     \
	"DAEMON is corosync, droverfs, sshd, corosync-qdevice or droverd on a node,\n"  \
	"sshd or corosync-qnetd on the QNetd host (NODE qnetd), ceph-mon, ceph-osd\n"   \
	"or ceph-mgr on the Ceph host (NODE ceph). None named means all of the\n"       \
	"host's daemons (start: corosync, corosync-qdevice and droverd only once\n"     \
	"configured). The keeper restarts a droverd that dies unless it was stopped.\n" \
	"NODE may be all: every node.\n"

static const struct cli_command cmd_start_def = {
	.name = "start",
	.summary = "start daemons of a node",
	.usage =
		"Usage: drover sandbox start [--name NAME] NODE|all [DAEMON...] [-- DROVERFS ARGS...]\n"
		"\n"
		"Start the daemons that are not running and wait until they serve.\n"
		"Arguments after -- are added to droverfs's command line (e.g. -l).\n" DAEMON_HELP
		"\n"
		"Options:\n" NAME_OPT,
	.needs = CLI_NEED_ROOT,
	.run = cmd_start,
};

static const struct cli_command cmd_stop_def = {
	.name = "stop",
	.summary = "stop daemons of a node",
	.usage = "Usage: drover sandbox stop [--name NAME] [--kill] NODE|all [DAEMON...]\n"
		 "\n"
		 "SIGTERM and wait for the daemons to end, or SIGKILL with --kill. The node's\n"
		 "data stays: start brings the daemons back on it.\n" DAEMON_HELP "\n"
		 "Options:\n" NAME_OPT "  --kill           SIGKILL, as a crash would\n",
	.needs = CLI_NEED_ROOT,
	.run = cmd_stop,
};

static const struct cli_command cmd_restart_def = {
	.name = "restart",
	.summary = "stop and start daemons of a node",
	.usage =
		"Usage: drover sandbox restart [--name NAME] [--kill] NODE|all [DAEMON...] [-- DROVERFS ARGS...]\n"
		"\n"
		"stop, then start.\n" DAEMON_HELP "\n"
		"Options:\n" NAME_OPT "  --kill           stop with SIGKILL\n",
	.needs = CLI_NEED_ROOT,
	.run = cmd_restart,
};

/* Hidden: the keeper and the netem helper are this same binary, started by the sandbox. */
static const struct cli_command cmd_keeper_def = {
	.name = "_keeper",
	.summary = "(internal) the sandbox's process keeper",
	.usage = "Usage: drover sandbox _keeper --name NAME\n",
	.run = cmd_keeper,
};

static const struct cli_command cmd_netem_helper_def = {
	.name = "_netem",
	.summary = "(internal) the NFQUEUE delay helper",
	.usage = "Usage: drover sandbox _netem --queue N --delay MS [--jitter MS]\n",
	.run = cmd_netem_helper,
};

static const struct cli_command *const sandbox_commands[] = {
	&cmd_up_def,   &cmd_down_def,	 &cmd_status_def, &cmd_list_def,	 &cmd_shell_def,
	&cmd_exec_def, &cmd_cut_def,	 &cmd_heal_def,	  &cmd_netem_def,	 &cmd_start_def,
	&cmd_stop_def, &cmd_restart_def, &cmd_keeper_def, &cmd_netem_helper_def, NULL,
};

const struct cli_command cli_sandbox_group = {
	.name = "sandbox",
	.summary = "a whole cluster on one machine",
	.usage = "Usage: drover sandbox COMMAND [ARGS...]\n"
		 "\n"
		 "A cluster of nodes in namespaces on this machine, each running corosync,\n"
		 "droverfs and sshd, for trying drover out and for tests. Needs root.\n",
	.subcommands = sandbox_commands,
};
