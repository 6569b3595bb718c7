/* SPDX-License-Identifier: MIT */
/*
 * Delay and loss on a node's links. The kernel here has no netem qdisc,
 * so loss is an iptables statistic match that drops, and delay sends the
 * node's outgoing packets to an NFQUEUE where a helper (netem_helper.c)
 * holds each one for the delay before accepting it. The settings are kept
 * in STATE/nodeK/netem-ethL; the rules of a node are always rebuilt from
 * all of its links' settings, so clearing one link never disturbs another.
 * The rules live in the node's own network namespace, in chains of ours
 * (DSB-IN, DSB-OUT), and use --queue-bypass: if the helper dies, packets
 * flow undelayed rather than vanish.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/util.h"
#include "sandbox.h"

static void state_path(const struct sandbox *sb, unsigned node, unsigned net, char *out, size_t len)
{
	char rel[32];

	snprintf(rel, sizeof(rel), "netem-eth%u", net);
	sb_node_path(sb, node, out, len, rel);
}

int sb_netem_get(const struct sandbox *sb, unsigned node, unsigned net, struct sb_netem *n)
{
	char path[PATH_MAX];
	FILE *f;

	memset(n, 0, sizeof(*n));
	state_path(sb, node, net, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	if (fscanf(f, "%u %u %lf", &n->delay_ms, &n->jitter_ms, &n->loss_pct) != 3)
		memset(n, 0, sizeof(*n));
	fclose(f);
	return 0;
}

/* iptables -w A ... in the node; err NULL: a failure that is expected (a test, a cleanup). */
static int iptables(const struct sandbox *sb, unsigned node, struct drover_err *err, const char *a,
		    ...)
{
	char *argv[32] = { "iptables", "-w" };
	char out[1024];
	size_t n = 2;
	va_list ap;
	int r;

	argv[n++] = (char *)a;
	va_start(ap, a);
	while (n < ARRAY_SIZE(argv) - 1 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	r = sb_run_in_netns(sb, node, argv, out, sizeof(out));
	if (r != 0)
		return drover_fail_run(err, r, out, "iptables %s %s in node%u failed", a, argv[3],
				       node);
	return 0;
}

static int rules_for_link(const struct sandbox *sb, unsigned node, unsigned net,
			  const struct sb_netem *n, struct drover_err *err)
{
	char eth[24], prob[32], queue[16];
	int r = 0;

	/* the node's own packets on network 0 leave and arrive through vmbr0, eth0's bridge */
	if (net == 0)
		snprintf(eth, sizeof(eth), "%s", SB_VM_BRIDGE);
	else
		snprintf(eth, sizeof(eth), "eth%u", net);
	snprintf(queue, sizeof(queue), "%u", net);
	if (n->loss_pct >= 100.0) {
		r = iptables(sb, node, err, "-A", "DSB-OUT", "-o", eth, "-j", "DROP", NULL);
		if (r == 0)
			r = iptables(sb, node, err, "-A", "DSB-IN", "-i", eth, "-j", "DROP", NULL);
	} else if (n->loss_pct > 0) {
		snprintf(prob, sizeof(prob), "%.6f", n->loss_pct / 100.0);
		r = iptables(sb, node, err, "-A", "DSB-OUT", "-o", eth, "-m", "statistic", "--mode",
			     "random", "--probability", prob, "-j", "DROP", NULL);
		if (r == 0)
			r = iptables(sb, node, err, "-A", "DSB-IN", "-i", eth, "-m", "statistic",
				     "--mode", "random", "--probability", prob, "-j", "DROP", NULL);
	}
	if (r == 0 && n->delay_ms > 0)
		r = iptables(sb, node, err, "-A", "DSB-OUT", "-o", eth, "-j", "NFQUEUE",
			     "--queue-num", queue, "--queue-bypass", NULL);
	return r;
}

static int rebuild_rules(const struct sandbox *sb, unsigned node, struct drover_err *err)
{
	struct sb_netem n[SANDBOX_NETS_MAX];
	bool any = false;
	int r = 0;

	for (unsigned l = 0; l < sb->networks; l++) {
		sb_netem_get(sb, node, l, &n[l]);
		any = any || n[l].delay_ms > 0 || n[l].loss_pct > 0;
	}
	iptables(sb, node, NULL, "-N", "DSB-IN", NULL);
	iptables(sb, node, NULL, "-N", "DSB-OUT", NULL);
	iptables(sb, node, NULL, "-F", "DSB-IN", NULL);
	iptables(sb, node, NULL, "-F", "DSB-OUT", NULL);
	if (!any) {
		iptables(sb, node, NULL, "-D", "INPUT", "-j", "DSB-IN", NULL);
		iptables(sb, node, NULL, "-D", "OUTPUT", "-j", "DSB-OUT", NULL);
		iptables(sb, node, NULL, "-X", "DSB-IN", NULL);
		iptables(sb, node, NULL, "-X", "DSB-OUT", NULL);
		return 0;
	}
	if (iptables(sb, node, NULL, "-C", "INPUT", "-j", "DSB-IN", NULL) < 0)
		r = iptables(sb, node, err, "-I", "INPUT", "1", "-j", "DSB-IN", NULL);
	if (r == 0 && iptables(sb, node, NULL, "-C", "OUTPUT", "-j", "DSB-OUT", NULL) < 0)
		r = iptables(sb, node, err, "-I", "OUTPUT", "1", "-j", "DSB-OUT", NULL);
	for (unsigned l = 0; r == 0 && l < sb->networks; l++)
		r = rules_for_link(sb, node, l, &n[l], err);
	return r;
}

static int start_helper(const struct sandbox *sb, unsigned node, unsigned net,
			const struct sb_netem *n)
{
	char self[PATH_MAX], tag[32], queue[16], delay[16], jitter[16];
	char *argv[] = { self,	    "sandbox", "_netem",   "--queue", queue,
			 "--delay", delay,     "--jitter", jitter,    NULL };
	pid_t pid;
	int r = self_exe_path(self, sizeof(self));

	if (r < 0)
		return r;
	snprintf(tag, sizeof(tag), "netem-eth%u", net);
	snprintf(queue, sizeof(queue), "%u", net);
	snprintf(delay, sizeof(delay), "%u", n->delay_ms);
	snprintf(jitter, sizeof(jitter), "%u", n->jitter_ms);
	pid = sb_start_process(sb, node, tag, argv);
	if (pid < 0)
		return pid;
	/* Give it a moment to bind its queue, so the first packets are delayed too. */
	usleep(100 * 1000);
	return sb_daemon_pid(sb, node, tag) > 0 ? 0 : -ECHILD;
}

int sb_netem_set(const struct sandbox *sb, unsigned node, unsigned net, const struct sb_netem *n,
		 struct drover_err *err)
{
	char path[PATH_MAX], tag[32], text[64];
	int r;

	state_path(sb, node, net, path, sizeof(path));
	snprintf(tag, sizeof(tag), "netem-eth%u", net);
	if (n->delay_ms == 0 && n->loss_pct <= 0) {
		unlink(path);
	} else {
		snprintf(text, sizeof(text), "%u %u %.6f\n", n->delay_ms, n->jitter_ms,
			 n->loss_pct);
		r = write_file_atomic(path, text, strlen(text), 0644);
		if (r < 0)
			return drover_fail(err, r, "%s: %s", path, strerror(-r));
	}
	/* Rules first when removing (nothing is queued any more), helper first when adding. */
	if (n->delay_ms == 0) {
		r = rebuild_rules(sb, node, err);
		sb_stop_process(sb, node, tag, false);
		return r;
	}
	sb_stop_process(sb, node, tag, false);
	r = start_helper(sb, node, net, n);
	if (r < 0)
		return drover_fail(err, r, "starting the delay helper: %s", strerror(-r));
	return rebuild_rules(sb, node, err);
}
