/* SPDX-License-Identifier: MIT */
/* up and down: making a whole sandbox, and removing every trace of one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "basic/util.h"
#include "sandbox.h"

static bool netns_exists(const struct sandbox *sb, unsigned node)
{
	char ns[64], path[PATH_MAX];

	sb_netns_name(sb, node, ns, sizeof(ns));
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	return access(path, F_OK) == 0;
}

static int fail(const char *what, int r)
{
	fprintf(stderr, "drover: sandbox up: %s: %s\n", what, strerror(-r));
	return r;
}

/* Start d on every host that runs it (and has it configured: not corosync on a bare node). */
static int start_all(const struct sandbox *sb, enum sb_daemon d)
{
	for (unsigned k = 1; k; k = sb_next_host(sb, k)) {
		char what[128], host[16];
		int r;

		if (!sb_daemon_configured(sb, k, d))
			continue;
		r = sb_daemon_start(sb, k, d, NULL);
		if (r < 0) {
			sb_node_name(k, host, sizeof(host));
			snprintf(what, sizeof(what), "starting %s on %s (see %s/log/%s.log)",
				 sb_daemon_name(d), host, host, sb_daemon_name(d));
			return fail(what, r);
		}
	}
	return 0;
}

/*
 * The QNetd host as Debian's corosync-qnetd package leaves it: its CA and
 * server certificate made (the package's postinst runs the same command),
 * so corosync-qnetd can start.
 */
static int qnetd_init(const struct sandbox *sb)
{
	char *argv[] = { "corosync-qnetd-certutil", "-i", NULL };
	char out[4096], dir[PATH_MAX];
	int r;

	/* the package's directory: certutil gives its files the owner of this one */
	sb_node_path(sb, SB_QNETD_HOST, dir, sizeof(dir), "etc-corosync/qnetd");
	r = mkdir_p(dir, 0755);
	if (r == 0)
		r = sb_run_in_node(sb, SB_QNETD_HOST, argv, out, sizeof(out));
	if (r != 0) {
		fprintf(stderr, "drover: sandbox up: corosync-qnetd-certutil -i on %s failed: %s\n",
			SB_QNETD_NAME, r < 0 ? strerror(-r) : out);
		return r < 0 ? r : -EIO;
	}
	return 0;
}

/* Wait until every node's corosync is quorate and its droverfs is mounted. */
static int wait_cluster(const struct sandbox *sb, unsigned timeout_s)
{
	uint64_t deadline = now_monotonic_ns() + timeout_s * 1000000000ull;
	struct timespec ts = { 0, 250 * 1000 * 1000 };

	for (;;) {
		unsigned ok = 0, bad = 0;
		int q = 0;

		for (unsigned k = 1; k <= sb->nodes; k++) {
			q = sb_node_quorate(sb, k);
			if (q == 1 && sb_droverfs_ready(sb, k)) {
				ok++;
				continue;
			}
			bad = k;
			break;
		}
		if (ok == sb->nodes)
			return 0;
		if (now_monotonic_ns() > deadline) {
			fprintf(stderr,
				"drover: sandbox up: node%u is not ready after %u s: %s (see %s/node%u/log)\n",
				bad, timeout_s,
				q < 0	 ? "corosync does not answer"
				: q == 0 ? "corosync is not quorate"
					 : "droverfs is not mounted",
				sb->dir, bad);
			return -ETIMEDOUT;
		}
		nanosleep(&ts, NULL);
	}
}

static int up(struct sandbox *sb, unsigned timeout_s)
{
	int r;

	r = sb_save(sb);
	if (r < 0)
		return fail("writing the state file", r);
	for (unsigned k = 1; k; k = sb_next_host(sb, k)) {
		r = sb_node_dirs_create(sb, k);
		if (r < 0)
			return fail("making the node directories", r);
	}
	r = sb_files_create(sb);
	if (r < 0)
		return fail("writing configuration and keys", r);
	r = sb_net_create(sb);
	if (r < 0)
		return fail("making the networks", r);
	r = sb_nodens_prepare(sb);
	if (r < 0)
		return fail("preparing the namespace directory", r);
	for (unsigned k = 1; k; k = sb_next_host(sb, k)) {
		r = sb_nodens_create(sb, k);
		if (r < 0)
			return fail("making the mount and UTS namespaces", r);
	}
	r = sb_keeper_start(sb);
	if (r < 0)
		return fail("starting the keeper", r);
	r = start_all(sb, SB_DROVERFS);
	if (r == 0)
		r = start_all(sb, SB_SSHD);
	if (r == 0 && sb->qnetd)
		r = qnetd_init(sb);
	if (r == 0)
		r = start_all(sb, SB_QNETD);
	return r;
}

/* Run a drover command in a node; its output is shown only when it fails. */
static int run_drover(const struct sandbox *sb, unsigned node, char *const args[])
{
	char self[PATH_MAX], out[16384];
	char *argv[24];
	size_t n = 0;
	int r;

	if (self_exe_path(self, sizeof(self)) < 0)
		return -ENOEXEC;
	argv[n++] = self;
	for (; *args && n < ARRAY_SIZE(argv) - 1; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	r = sb_run_in_node(sb, node, argv, out, sizeof(out));
	if (r != 0) {
		fprintf(stderr, "drover: sandbox up: on node%u, '", node);
		for (size_t i = 1; i < n; i++)
			fprintf(stderr, "%s%s", i > 1 ? " " : "", argv[i]);
		fprintf(stderr, "' failed:\n%s", out);
		return r < 0 ? r : -EIO;
	}
	return 0;
}

/* The --linkN options of a node: one per sandbox network. */
static size_t link_args(const struct sandbox *sb, unsigned node, char *argv[], char addrs[][32])
{
	static char *const opts[] = { "--link0", "--link1" };
	size_t n = 0;

	for (unsigned l = 0; l < sb->networks && l < ARRAY_SIZE(opts); l++) {
		sb_address(node, l, addrs[l], 32);
		argv[n++] = opts[l];
		argv[n++] = addrs[l];
	}
	return n;
}

static int form_cluster(struct sandbox *sb, unsigned timeout_s)
{
	char addrs[SANDBOX_NETS_MAX][32], first[32];
	char *argv[16];
	size_t n = 0;
	int r;

	argv[n++] = "cluster";
	argv[n++] = "create";
	argv[n++] = sb->name;
	n += link_args(sb, 1, argv + n, addrs);
	argv[n] = NULL;
	r = run_drover(sb, 1, argv);
	sb_address(1, 0, first, sizeof(first));
	for (unsigned k = 2; r == 0 && k <= sb->nodes; k++) {
		n = 0;
		argv[n++] = "cluster";
		argv[n++] = "add";
		argv[n++] = first;
		n += link_args(sb, k, argv + n, addrs);
		argv[n] = NULL;
		r = run_drover(sb, k, argv);
	}
	if (r == 0)
		r = wait_cluster(sb, timeout_s);
	return r;
}

int sb_form_cluster(struct sandbox *sb, unsigned timeout_s)
{
	int r = form_cluster(sb, timeout_s);

	if (r < 0 && !getenv("DROVER_SANDBOX_KEEP_FAILED")) {
		fprintf(stderr, "drover: sandbox up failed: removing what was made\n");
		sb_down(sb);
	}
	return r;
}

int sb_up(struct sandbox *sb, unsigned timeout_s)
{
	int r;

	if (sb_exists(sb) || netns_exists(sb, 0) || netns_exists(sb, 1)) {
		fprintf(stderr,
			"drover: sandbox %s exists already (remove it with 'drover sandbox down --name %s')\n",
			sb->name, sb->name);
		return -EEXIST;
	}
	r = mkdir_p(SANDBOX_ROOT, 0755);
	if (r == 0 && mkdir(sb->dir, 0755) < 0)
		r = -errno;
	if (r < 0)
		return fail(sb->dir, r);
	r = up(sb, timeout_s);
	if (r < 0) {
		if (getenv("DROVER_SANDBOX_KEEP_FAILED"))
			return r;
		fprintf(stderr, "drover: sandbox up failed: removing what was made\n");
		sb_down(sb);
	}
	return r;
}

int sb_down(struct sandbox *sb)
{
	int r;

	/* What we know of: with no state file, the most a sandbox can have. */
	if (sb_load(sb) < 0) {
		sb->nodes = SANDBOX_NODES_MAX;
		sb->networks = SANDBOX_NETS_MAX;
		sb->qnetd = true;
	}
	sb_kill_all(sb);
	sb_nodens_destroy(sb);
	sb_net_destroy(sb);
	r = sb_rm_rf(sb->dir);
	if (r < 0)
		fprintf(stderr, "drover: sandbox down: removing %s: %s\n", sb->dir, strerror(-r));
	return r;
}
