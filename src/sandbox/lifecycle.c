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

/* "sandbox up: WHAT: why" (the step's own words in err, when it left some). */
static int fail(struct drover_err *err, const char *what, int r)
{
	if (err && err->text[0])
		return drover_fail_prefix(err, r, "sandbox up: %s", what);
	return drover_fail(err, r, "sandbox up: %s: %s", what, strerror(-r));
}

/* Start d on every host that runs it (and has it configured: not corosync on a bare node). */
static int start_all(const struct sandbox *sb, enum sb_daemon d, struct drover_err *err)
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
			return fail(err, what, r);
		}
	}
	return 0;
}

/*
 * The QNetd host as Debian's corosync-qnetd package leaves it: its CA and
 * server certificate made (the package's postinst runs the same command),
 * so corosync-qnetd can start.
 */
static int qnetd_init(const struct sandbox *sb, struct drover_err *err)
{
	char *argv[] = { "corosync-qnetd-certutil", "-i", NULL };
	char out[4096], dir[PATH_MAX];
	int r;

	/* the package's directory: certutil gives its files the owner of this one */
	sb_node_path(sb, SB_QNETD_HOST, dir, sizeof(dir), "etc-corosync/qnetd");
	r = mkdir_p(dir, 0755);
	if (r == 0)
		r = sb_run_in_node(sb, SB_QNETD_HOST, argv, out, sizeof(out));
	if (r != 0)
		return drover_fail_run(err, r, out,
				       "sandbox up: corosync-qnetd-certutil -i on %s failed",
				       SB_QNETD_NAME);
	return 0;
}

/* Wait until every node's corosync is quorate and its droverfs is mounted. */
static int wait_cluster(const struct sandbox *sb, unsigned timeout_s, struct drover_err *err)
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
		if (now_monotonic_ns() > deadline)
			return drover_fail(
				err, -ETIMEDOUT,
				"sandbox up: node%u is not ready after %u s: %s (see %s/node%u/log)",
				bad, timeout_s,
				q < 0	 ? "corosync does not answer"
				: q == 0 ? "corosync is not quorate"
					 : "droverfs is not mounted",
				sb->dir, bad);
		nanosleep(&ts, NULL);
	}
}

static int up(struct sandbox *sb, unsigned timeout_s, struct drover_err *err)
{
	int r;

	r = sb_save(sb);
	if (r < 0)
		return fail(err, "writing the state file", r);
	for (unsigned k = 1; k; k = sb_next_host(sb, k)) {
		r = sb_node_dirs_create(sb, k);
		if (r < 0)
			return fail(err, "making the node directories", r);
	}
	r = sb_files_create(sb, err);
	if (r < 0)
		return fail(err, "writing configuration and keys", r);
	r = sb_net_create(sb, err);
	if (r < 0)
		return fail(err, "making the networks", r);
	r = sb_nodens_prepare(sb);
	if (r < 0)
		return fail(err, "preparing the namespace directory", r);
	for (unsigned k = 1; k; k = sb_next_host(sb, k)) {
		r = sb_nodens_create(sb, k, err);
		if (r < 0)
			return fail(err, "making the mount and UTS namespaces", r);
	}
	r = sb_storage_create(sb, err);
	if (r < 0)
		return fail(err, "making the nodes' storage", r);
	r = sb_keeper_start(sb);
	if (r < 0)
		return fail(err, "starting the keeper", r);
	r = start_all(sb, SB_DROVERFS, err);
	if (r == 0)
		r = start_all(sb, SB_SSHD, err);
	if (r == 0 && sb->qnetd)
		r = qnetd_init(sb, err);
	if (r == 0)
		r = start_all(sb, SB_QNETD, err);
	if (r == 0 && sb->ceph)
		r = sb_ceph_init(sb, err);
	return r;
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

static int form_cluster(struct sandbox *sb, unsigned timeout_s, struct drover_err *err)
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
	r = sb_run_drover(sb, 1, argv, err);
	sb_address(1, 0, first, sizeof(first));
	for (unsigned k = 2; r == 0 && k <= sb->nodes; k++) {
		n = 0;
		argv[n++] = "cluster";
		argv[n++] = "add";
		argv[n++] = first;
		n += link_args(sb, k, argv + n, addrs);
		argv[n] = NULL;
		r = sb_run_drover(sb, k, argv, err);
	}
	if (r == 0)
		r = wait_cluster(sb, timeout_s, err);
	if (r == 0)
		r = sb_storage_configure(sb, false, err);
	return r;
}

/* After a failed up: what was made goes, unless DROVER_SANDBOX_KEEP_FAILED keeps it to look at. */
static int undo_up(struct sandbox *sb, int r, struct drover_err *err)
{
	if (getenv("DROVER_SANDBOX_KEEP_FAILED"))
		return drover_fail_append(err, r, " (kept as it is: DROVER_SANDBOX_KEEP_FAILED)");
	sb_down(sb, NULL);
	return drover_fail_append(err, r, " (what was made is removed)");
}

int sb_form_cluster(struct sandbox *sb, unsigned timeout_s, struct drover_err *err)
{
	int r;

	if (err)
		err->text[0] = '\0';
	r = form_cluster(sb, timeout_s, err);
	return r < 0 ? undo_up(sb, r, err) : 0;
}

int sb_up(struct sandbox *sb, unsigned timeout_s, struct drover_err *err)
{
	int r;

	if (err)
		err->text[0] = '\0';
	if (sb_exists(sb) || netns_exists(sb, 0) || netns_exists(sb, 1))
		return drover_fail(
			err, -EEXIST,
			"sandbox %s exists already (remove it with 'drover sandbox down --name %s')",
			sb->name, sb->name);
	r = mkdir_p(SANDBOX_ROOT, 0755);
	if (r == 0 && mkdir(sb->dir, 0755) < 0)
		r = -errno;
	if (r < 0)
		return fail(err, sb->dir, r);
	r = up(sb, timeout_s, err);
	return r < 0 ? undo_up(sb, r, err) : 0;
}

int sb_create(struct sandbox *sb, bool bare, unsigned timeout_s, struct drover_err *err)
{
	int lock = sb_lock(sb), r;

	if (lock < 0)
		return drover_fail(err, lock, "locking sandbox %s: %s", sb->name, strerror(-lock));
	r = sb_up(sb, timeout_s, err);
	close(lock);
	/* unlocked: cluster create/add inside the nodes restart daemons through us */
	if (r == 0 && !bare)
		r = sb_form_cluster(sb, timeout_s, err);
	if (r == 0 && bare)
		r = sb_storage_configure(sb, true, err);
	if (r == 0 && sb->ceph)
		r = sb_ceph_storage(sb, bare, err);
	if (r == 0 && sb->ceph_local)
		r = sb_ceph_local_storage(sb, bare, err);
	return r;
}

int sb_destroy(const char *name, struct drover_err *err)
{
	struct sandbox sb;
	int lock, r;

	if (sb_init(&sb, name) < 0)
		return drover_fail(err, -EINVAL, "'%s' is not a valid sandbox name", name);
	lock = sb_lock(&sb);
	if (lock < 0)
		return drover_fail(err, lock, "locking sandbox %s: %s", name, strerror(-lock));
	r = sb_down(&sb, err);
	sb_lock_remove(&sb, lock);
	return r;
}

int sb_down(struct sandbox *sb, struct drover_err *err)
{
	struct drover_err umount_err = { "" };
	int r;

	/* What we know of: with no state file, the most a sandbox can have. */
	if (sb_load(sb) < 0) {
		sb->nodes = SANDBOX_NODES_MAX;
		sb->networks = SANDBOX_NETS_MAX;
		sb->qnetd = true;
		sb->ceph = SB_CEPH_MEMSTORE;
	}
	/* its data goes anyway: spare a memstore OSD writing all of it out at SIGTERM */
	if (sb->ceph) {
		sb_stop_process(sb, SB_CEPH_HOST, sb_daemon_name(SB_CEPH_OSD), true);
		sb_stop_process(sb, SB_CEPH_HOST, sb_daemon_name(SB_CEPH2_OSD), true);
	}
	sb_kill_all(sb);
	sb_nodens_destroy(sb, &umount_err);
	sb_storage_destroy(sb);
	sb_net_destroy(sb);
	r = sb_rm_rf(sb->dir);
	if (r < 0 && umount_err.text[0])
		return drover_fail(err, r, "sandbox down: %s", umount_err.text);
	if (r < 0)
		return drover_fail(err, r, "sandbox down: removing %s: %s", sb->dir, strerror(-r));
	return 0;
}
