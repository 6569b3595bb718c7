/* SPDX-License-Identifier: MIT */
/*
 * A host's daemons: corosync, droverfs, sshd and (once configured)
 * corosync-qdevice on a node, sshd and corosync-qnetd on the QNetd host,
 * ceph-mon, ceph-osd and ceph-mgr on the Ceph host, each run in the
 * foreground (so the pid we keep is the daemon's own) with its output in
 * the host's /var/log. Pid files live on the host side, in
 * STATE/nodeK/pids, and a pid only counts while the process still sits in
 * the node's network namespace, so a recycled pid is never taken for ours.
 */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libdrover/format/corosync_conf.h"
#include "basic/fusectl.h"
#include "basic/process.h"
#include "libdrover/sys/service.h"
#include "basic/util.h"
#include "sandbox.h"

#define EXTRA_MAX 32

#define QNETD_PORT 5403
#define CEPH_MON_PORT 3300 /* msgr2 */
#define CEPH2_MON_PORT 3301 /* the second cluster's monitor, msgr2 */
#define QDEVICE_SOCKET "run/corosync-qdevice/corosync-qdevice.sock" /* in the node's dir */

static const char *const daemon_names[SB_DAEMONS] = {
	[SB_COROSYNC] = "corosync",   [SB_DROVERFS] = "droverfs",
	[SB_SSHD] = "sshd",	      [SB_QDEVICE] = "corosync-qdevice",
	[SB_DROVERD] = "droverd",     [SB_QNETD] = "corosync-qnetd",
	[SB_CEPH_MON] = "ceph-mon",   [SB_CEPH_OSD] = "ceph-osd",
	[SB_CEPH_MGR] = "ceph-mgr",   [SB_CEPH2_MON] = "ceph2-mon",
	[SB_CEPH2_OSD] = "ceph2-osd", [SB_CEPH2_MGR] = "ceph2-mgr",
};

const char *sb_daemon_name(enum sb_daemon d)
{
	return daemon_names[d];
}

int sb_daemon_parse(const char *s, enum sb_daemon *d)
{
	for (int i = 0; i < SB_DAEMONS; i++)
		if (streq(s, daemon_names[i])) {
			*d = (enum sb_daemon)i;
			return 0;
		}
	return -EINVAL;
}

unsigned sb_host_daemons(unsigned host)
{
	if (host == SB_QNETD_HOST)
		return 1u << SB_SSHD | 1u << SB_QNETD;
	if (host == SB_CEPH_HOST)
		return 1u << SB_CEPH_MON | 1u << SB_CEPH_OSD | 1u << SB_CEPH_MGR |
		       1u << SB_CEPH2_MON | 1u << SB_CEPH2_OSD | 1u << SB_CEPH2_MGR;
	return 1u << SB_COROSYNC | 1u << SB_DROVERFS | 1u << SB_SSHD | 1u << SB_QDEVICE |
	       1u << SB_DROVERD;
}

/* Does the node's corosync.conf have a quorum { device { } } section? */
static bool qdevice_configured(const struct sandbox *sb, unsigned node)
{
	char path[PATH_MAX], *text = NULL;
	struct cc_error err;
	struct cc_node *root;
	size_t len;
	bool found;

	sb_node_path(sb, node, path, sizeof(path), "etc-corosync/corosync.conf");
	if (read_file_max(path, 1u << 20, &text, &len) < 0)
		return false;
	root = cc_parse(text, len, &err);
	found = root && cc_child(cc_child(root, "quorum"), "device");
	cc_free(root);
	free(text);
	return found;
}

bool sb_daemon_configured(const struct sandbox *sb, unsigned host, enum sb_daemon d)
{
	char path[PATH_MAX];

	if (!(sb_host_daemons(host) & (1u << d)))
		return false;
	switch (d) {
	case SB_COROSYNC:
	case SB_DROVERD: /* a cluster node's: `drover cluster create/add` starts it */
		/* a bare node: `drover cluster create/add` has not written it yet */
		sb_node_path(sb, host, path, sizeof(path), "etc-corosync/corosync.conf");
		return access(path, F_OK) == 0;
	case SB_QDEVICE:
		return qdevice_configured(sb, host);
	case SB_CEPH2_MON:
	case SB_CEPH2_OSD:
	case SB_CEPH2_MGR: /* up --ceph-local made the second cluster */
		sb_node_path(sb, host, path, sizeof(path), "etc-ceph/ceph2.conf");
		return access(path, F_OK) == 0;
	default:
		return true;
	}
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A namespace's identity: device and inode of its nsfs file. */
struct ns_id {
	dev_t dev;
	ino_t ino;
};

static int ns_id(const char *path, struct ns_id *id)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return 0;
}

static bool is_nsfs(const char *path)
{
	struct statfs fs;

	return statfs(path, &fs) == 0 && fs.f_type == NSFS_MAGIC;
}

static bool ns_same(const struct ns_id *a, const struct ns_id *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

/*
 * The network namespace of a node. From the host it is /run/netns/NAME;
 * inside a node (drover cluster restarting its daemons) /run is the node's
 * own, and the node's namespace is the caller's when the marker says so.
 */
static int node_netns_id(const struct sandbox *sb, unsigned node, struct ns_id *id)
{
	char ns[64], path[PATH_MAX], name[32];
	unsigned k;

	sb_netns_name(sb, node, ns, sizeof(ns));
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	if (ns_id(path, id) == 0)
		return 0;
	if (service_manager_detect(name, sizeof(name), &k) == SERVICE_MANAGER_SANDBOX &&
	    streq(name, sb->name) && k == node)
		return ns_id("/proc/self/ns/net", id);
	return -ENOENT;
}

bool sb_pid_in_node(const struct sandbox *sb, unsigned node, pid_t pid)
{
	char path[PATH_MAX];
	struct ns_id want = { 0 }, have = { 0 };

	if (node_netns_id(sb, node, &want) < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	return ns_id(path, &have) == 0 && ns_same(&have, &want) && process_alive(pid);
}

static void pid_file(const struct sandbox *sb, unsigned node, const char *tag, char *out,
		     size_t len)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "pids/%s.pid", tag);
	sb_node_path(sb, node, out, len, rel);
}

pid_t sb_daemon_pid(const struct sandbox *sb, unsigned node, const char *tag)
{
	char path[PATH_MAX];
	pid_t pid;

	pid_file(sb, node, tag, path, sizeof(path));
	pid = pid_from_file(path);
	return pid > 0 && sb_pid_in_node(sb, node, pid) ? pid : 0;
}

/*
 * Start argv in the node through the keeper, or ourselves if there is
 * none; record the pid. kept: the keeper starts it again if it dies.
 */
static pid_t start_process(const struct sandbox *sb, unsigned node, const char *tag,
			   char *const argv[], bool kept)
{
	char log[PATH_MAX], rel[64], path[PATH_MAX], text[32];
	pid_t pid;
	int r;

	snprintf(rel, sizeof(rel), "log/%s.log", tag);
	sb_node_path(sb, node, log, sizeof(log), rel);
	pid = kept ? sb_keeper_spawn_kept(sb, node, tag, argv, log)
		   : sb_keeper_spawn(sb, node, argv, log);
	if (pid == -ENOTCONN)
		pid = sb_spawn(sb, node, argv, log);
	if (pid < 0)
		return pid;
	pid_file(sb, node, tag, path, sizeof(path));
	snprintf(text, sizeof(text), "%d\n", (int)pid);
	r = write_file_atomic(path, text, strlen(text), 0644);
	return r < 0 ? r : pid;
}

/*
 * A droverfs killed while a thread of it waited in the kernel cannot end
 * (lib/fusectl.h): after 2 s, abort its connection, as the next droverfs
 * would; that ends it.
 */
static void end_hung_fuse(pid_t pid)
{
	char dir[64], mountinfo[64 + 256 + 16];
	struct dirent *e;
	DIR *d;

	/* the main thread is gone: its mount table is read through a live thread */
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(mountinfo, sizeof(mountinfo), "%s/%s/mountinfo", dir, e->d_name);
		if (fusectl_abort_mount(mountinfo, "/etc/drover") == 0)
			break;
	}
	closedir(d);
}

/* How long a daemon may take to stop: droverd shuts the node's guests down first. */
static int stop_timeout_ms(const char *tag)
{
	return streq(tag, "droverd") ? 600000 : 15000;
}

int sb_stop_process(const struct sandbox *sb, unsigned node, const char *tag, bool kill9)
{
	char path[PATH_MAX], text[32];
	pid_t pid = sb_daemon_pid(sb, node, tag);
	int r = 0;

	pid_file(sb, node, tag, path, sizeof(path));
	/* first: a pid file that no longer names it tells the keeper not to start it again */
	if (pid > 0)
		unlink(path);
	if (pid > 0) {
		if (kill9) {
			kill(pid, SIGKILL);
			for (int i = 0; i < 500 && process_alive(pid); i++) {
				if (i == 200 && streq(tag, "droverfs"))
					end_hung_fuse(pid);
				sleep_ms(10);
			}
			r = process_alive(pid) ? -ETIMEDOUT : 0;
		} else {
			r = process_stop(pid, stop_timeout_ms(tag));
			if (r == -ESRCH)
				r = 0;
		}
		/* it would not go: it is still ours to find */
		snprintf(text, sizeof(text), "%d\n", (int)pid);
		if (r < 0)
			write_file_atomic(path, text, strlen(text), 0644);
	}
	return pid > 0 ? r : -ESRCH;
}

pid_t sb_start_process(const struct sandbox *sb, unsigned node, const char *tag, char *const argv[])
{
	if (sb_daemon_pid(sb, node, tag) > 0)
		return -EALREADY;
	return start_process(sb, node, tag, argv, false);
}

/* Is anything in the daemon's network namespace listening on this TCP port (IPv4 or IPv6)? */
static bool tcp_listening(pid_t pid, unsigned want)
{
	static const char *const tables[] = { "tcp", "tcp6" };
	char path[64], line[512];
	bool found = false;

	for (size_t i = 0; i < ARRAY_SIZE(tables) && !found; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, tables[i]);
		f = fopen(path, "re");
		if (!f)
			continue;
		/* "  0: 00000000:0016 00000000:0000 0A ...": local port, then the state (0A: LISTEN) */
		while (!found && fgets(line, sizeof(line), f)) {
			unsigned port, state;

			found = sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", &port,
				       &state) == 2 &&
				port == want && state == 0x0A;
		}
		fclose(f);
	}
	return found;
}

bool sb_droverfs_ready(const struct sandbox *sb, unsigned node)
{
	pid_t pid = sb_daemon_pid(sb, node, "droverfs");
	char path[PATH_MAX], line[4096];
	bool mounted = false;
	FILE *f;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], type[64];
		const char *sep = strstr(line, " - ");

		if (sep && sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 &&
		    sscanf(sep + 3, "%63s", type) == 1)
			mounted =
				streq(mnt, "/etc/drover") ? str_has_prefix(type, "fuse") : mounted;
	}
	fclose(f);
	sb_node_path(sb, node, path, sizeof(path), "run/drover/cfs.sock");
	return mounted && access(path, F_OK) == 0;
}

/* Wait until a freshly started daemon can be used, or has died. */
static int wait_ready(const struct sandbox *sb, unsigned node, enum sb_daemon d, pid_t pid)
{
	for (int i = 0; i < 1000; i++) {
		if (!process_alive(pid))
			return -ECHILD;
		switch (d) {
		case SB_DROVERFS:
			if (sb_droverfs_ready(sb, node))
				return 0;
			break;
		case SB_SSHD:
			if (tcp_listening(pid, 22))
				return 0;
			break;
		case SB_QNETD:
			if (tcp_listening(pid, QNETD_PORT))
				return 0;
			break;
		case SB_CEPH_MON:
			if (tcp_listening(pid, CEPH_MON_PORT))
				return 0;
			break;
		case SB_CEPH2_MON:
			if (tcp_listening(pid, CEPH2_MON_PORT))
				return 0;
			break;
		case SB_QDEVICE: {
			/* it answers on its socket once it has read the config and talks to corosync */
			char path[PATH_MAX];

			sb_node_path(sb, node, path, sizeof(path), QDEVICE_SOCKET);
			if (access(path, F_OK) == 0)
				return 0;
			break;
		}
		default:
			/* corosync is ready when quorum says so; up waits for that itself */
			if (i >= 10)
				return 0;
			break;
		}
		sleep_ms(15);
	}
	return -ETIMEDOUT;
}

/*
 * Does the node's corosync listen on its votequorum socket yet? Read from
 * /proc, which works from the host and from inside a node alike (entering
 * the node's namespaces does not: inside it, /run/netns is not there).
 */
static bool corosync_answers(const struct sandbox *sb, unsigned node)
{
	pid_t pid = sb_daemon_pid(sb, node, "corosync");
	char path[64], line[512], name[256];
	bool found = false;
	unsigned flags;
	FILE *f;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/net/unix", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	/* "...: 00000002 00000000 00010000 0001 01 377808 @votequorum@@@...": a listening abstract socket */
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %*s %x %*s %*s %*s %255s", &flags, name) == 2 &&
			(flags & 0x10000) && str_has_prefix(name, "@votequorum") &&
			(name[11] == '@' || name[11] == '\0');
	fclose(f);
	return found;
}

/*
 * corosync-qdevice gives up at once when corosync does not answer, and
 * corosync just started takes a moment: wait for it, as systemd's
 * After=corosync.service (corosync is Type=notify) does for the unit.
 */
static int wait_corosync(const struct sandbox *sb, unsigned node)
{
	for (int i = 0; i < 100; i++) {
		if (corosync_answers(sb, node))
			return 0;
		sleep_ms(100);
	}
	return -ENOTCONN;
}

/*
 * corosync makes itself (and so its knet threads) realtime at start; in the
 * sandbox, that lets one node starve the others (see struct sandbox). Once
 * it listens, its threads all exist: give each the normal policy back.
 * Threads made later inherit it.
 */
static int corosync_without_realtime(const struct sandbox *sb, unsigned node, pid_t pid)
{
	const struct sched_param normal = { .sched_priority = 0 };
	char path[64];
	struct dirent *e;
	DIR *dir;
	int r = wait_corosync(sb, node);

	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((e = readdir(dir))) {
		pid_t tid = (pid_t)strtol(e->d_name, NULL, 10);

		if (tid > 0 && sched_setscheduler(tid, SCHED_OTHER, &normal) < 0 &&
		    errno != ESRCH) {
			r = -errno;
			break;
		}
	}
	closedir(dir);
	return r;
}

/*
 * argv of a Ceph daemon (foreground, its own config); -EINVAL for another
 * daemon. The second cluster's are the same programs with --cluster ceph2:
 * /etc/ceph/ceph2.conf, /var/lib/ceph/mon/ceph2-a, ... (Ceph's $cluster).
 */
static int ceph_argv(enum sb_daemon d, char *argv[], size_t max)
{
	static const char *const daemons[][2] = {
		[SB_CEPH_MON] = { "ceph-mon", "a" },  [SB_CEPH_OSD] = { "ceph-osd", "0" },
		[SB_CEPH_MGR] = { "ceph-mgr", "x" },  [SB_CEPH2_MON] = { "ceph-mon", "a" },
		[SB_CEPH2_OSD] = { "ceph-osd", "0" }, [SB_CEPH2_MGR] = { "ceph-mgr", "x" },
	};
	size_t n = 0;

	if (d < SB_CEPH_MON || d > SB_CEPH2_MGR || max < 7)
		return -EINVAL;
	argv[n++] = (char *)daemons[d][0];
	argv[n++] = "-f"; /* foreground, logging to /var/log/ceph */
	if (d >= SB_CEPH2_MON) {
		argv[n++] = "--cluster";
		argv[n++] = "ceph2";
	}
	argv[n++] = "-i";
	argv[n++] = (char *)daemons[d][1];
	argv[n] = NULL;
	return (int)n;
}

int sb_daemon_start(const struct sandbox *sb, unsigned node, enum sb_daemon d, char *const extra[])
{
	char path[PATH_MAX];
	char *argv[8 + EXTRA_MAX];
	size_t n = 0;
	pid_t pid;
	int r;

	if (!(sb_host_daemons(node) & (1u << d)))
		return -EINVAL;
	switch (d) {
	case SB_COROSYNC:
		if (!sb_daemon_configured(sb, node, d))
			return -ENOENT;
		argv[n++] = "corosync";
		argv[n++] = "-f";
		argv[n++] = "-c";
		argv[n++] = "/etc/corosync/corosync.conf";
		break;
	case SB_DROVERFS:
		r = sb_droverfs_path(path, sizeof(path));
		if (r < 0)
			return -ENOEXEC;
		argv[n++] = path;
		argv[n++] = "-f";
		argv[n++] = "--mount";
		argv[n++] = "/etc/drover";
		argv[n++] = "--db";
		argv[n++] = "/var/lib/drover/config.db";
		for (; extra && *extra && n < ARRAY_SIZE(argv) - 1; extra++)
			argv[n++] = *extra;
		break;
	case SB_QDEVICE:
		if (sb_daemon_pid(sb, node, daemon_names[d]) > 0)
			return -EALREADY;
		r = wait_corosync(sb, node);
		if (r < 0)
			return r;
		/* a socket left by a killed one would look ready at once */
		if (sb_node_path(sb, node, path, sizeof(path), QDEVICE_SOCKET) == 0)
			unlink(path);
		argv[n++] = "corosync-qdevice";
		argv[n++] = "-f";
		break;
	case SB_QNETD:
		argv[n++] = "corosync-qnetd";
		argv[n++] = "-f";
		break;
	case SB_DROVERD:
		if (!sb_daemon_configured(sb, node, d))
			return -ENOENT;
		r = sb_droverd_path(path, sizeof(path));
		if (r < 0)
			return -ENOEXEC;
		argv[n++] = path;
		argv[n++] = "-f";
		break;
	case SB_CEPH_MON:
	case SB_CEPH_OSD:
	case SB_CEPH_MGR:
	case SB_CEPH2_MON:
	case SB_CEPH2_OSD:
	case SB_CEPH2_MGR:
		r = ceph_argv(d, argv, ARRAY_SIZE(argv));
		if (r < 0)
			return r;
		n = (size_t)r;
		break;
	default:
		/* sshd re-executes itself and so wants an absolute path */
		argv[n++] = "/usr/sbin/sshd";
		argv[n++] = "-D";
		argv[n++] = "-e";
		argv[n++] = "-f";
		argv[n++] = "/etc/ssh/sshd_config";
		break;
	}
	argv[n] = NULL;
	if (sb_daemon_pid(sb, node, daemon_names[d]) > 0)
		return -EALREADY;
	pid = start_process(sb, node, daemon_names[d], argv, d == SB_DROVERD);
	if (pid < 0)
		return pid;
	r = wait_ready(sb, node, d, pid);
	if (r == 0 && d == SB_COROSYNC && !sb->realtime)
		r = corosync_without_realtime(sb, node, pid);
	return r;
}

int sb_daemon_stop(const struct sandbox *sb, unsigned node, enum sb_daemon d, bool kill9)
{
	return sb_stop_process(sb, node, daemon_names[d], kill9);
}

int sb_node_quorate(const struct sandbox *sb, unsigned node)
{
	char *argv[] = { "corosync-quorumtool", "-s", NULL };
	char out[4096];
	const char *q;

	sb_run_in_node(sb, node, argv, out, sizeof(out));
	q = strstr(out, "Quorate:");
	if (!q)
		return -ENOTCONN;
	q += strlen("Quorate:");
	q += strspn(q, " \t");
	return str_has_prefix(q, "Yes") ? 1 : 0;
}

/* Every process in one of the sandbox's namespaces gets sig; returns how many there were. */
static int signal_all(const struct sandbox *sb, int sig)
{
	struct ns_id ns[2 * SANDBOX_NODES_MAX + 5], proc_ns = { 0 };
	size_t nns = 0;
	struct dirent *e;
	char path[PATH_MAX], name[64];
	int count = 0;
	DIR *d;

	/* every node there may be, and the QNetd and Ceph hosts */
	for (unsigned k = 0; k <= SB_QNETD_HOST && nns < ARRAY_SIZE(ns); k++) {
		if (k > SANDBOX_NODES_MAX && k != SB_QNETD_HOST && k != SB_CEPH_HOST)
			continue;
		sb_netns_name(sb, k, name, sizeof(name));
		snprintf(path, sizeof(path), "/run/netns/%s", name);
		if (ns_id(path, &ns[nns]) == 0)
			nns++;
		if (k == 0)
			continue;
		/* only while it is bound: the bare file under it is no namespace */
		sb_path(sb, path, sizeof(path), "ns/node%u.mnt", k);
		if (nns < ARRAY_SIZE(ns) && is_nsfs(path) && ns_id(path, &ns[nns]) == 0)
			nns++;
	}
	d = opendir("/proc");
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		pid_t pid = (pid_t)atoi(e->d_name);
		bool ours = false;

		if (pid <= 1 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
		for (size_t i = 0; !ours && ns_id(path, &proc_ns) == 0 && i < nns; i++)
			ours = ns_same(&ns[i], &proc_ns);
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
		for (size_t i = 0; !ours && ns_id(path, &proc_ns) == 0 && i < nns; i++)
			ours = ns_same(&ns[i], &proc_ns);
		if (ours) {
			kill(pid, sig);
			count++;
		}
	}
	closedir(d);
	return count;
}

/*
 * Down: every process in the sandbox's namespaces, whoever started it
 * (daemons, netem helpers, shells, ssh sessions), then the keeper. Polite
 * first, so droverfs can unmount and flush; then SIGKILL.
 */
void sb_kill_all(const struct sandbox *sb)
{
	pid_t keeper = sb_keeper_pid(sb);
	char path[PATH_MAX];

	/* without their pid files the keeper lets its kept daemons die */
	for (unsigned k = 1; k <= SANDBOX_NODES_MAX; k++) {
		pid_file(sb, k, daemon_names[SB_DROVERD], path, sizeof(path));
		unlink(path);
	}

	if (signal_all(sb, SIGTERM) > 0)
		for (int i = 0; i < 300 && signal_all(sb, 0) > 0; i++)
			sleep_ms(10);
	for (int i = 0; i < 100 && signal_all(sb, SIGKILL) > 0; i++)
		sleep_ms(20);
	if (keeper > 0)
		process_stop(keeper, 2000);
}

int sb_daemons_stop(const struct sandbox *sb, unsigned host, unsigned mask, bool kill9,
		    const struct drover_reporter *rep)
{
	char name[16];
	int failed = 0;

	sb_node_name(host, name, sizeof(name));
	for (int d = SB_DAEMONS - 1; d >= 0; d--) {
		int r;

		if (!(mask & (1u << d)))
			continue;
		r = sb_daemon_stop(sb, host, (enum sb_daemon)d, kill9);
		if (r < 0 && r != -ESRCH) {
			drover_report_error(rep, "stopping %s on %s: %s", sb_daemon_name(d), name,
					    strerror(-r));
			failed = r;
		}
	}
	return failed;
}

int sb_daemons_start(const struct sandbox *sb, unsigned host, unsigned mask, bool configured_only,
		     bool restart, char *const extra[], const struct drover_reporter *rep)
{
	char name[16];
	int failed = 0;

	sb_node_name(host, name, sizeof(name));
	for (int d = 0; d < SB_DAEMONS; d++) {
		int r;

		if (!(mask & (1u << d)) || (configured_only && !sb_daemon_configured(sb, host, d)))
			continue;
		r = sb_daemon_start(sb, host, (enum sb_daemon)d, d == SB_DROVERFS ? extra : NULL);
		if (r == -EALREADY && !restart)
			continue;
		if (r < 0) {
			drover_report_error(rep, "starting %s on %s: %s (see %s/%s/log/%s.log)",
					    sb_daemon_name(d), name, strerror(-r), sb->dir, name,
					    sb_daemon_name(d));
			failed = r;
		}
	}
	return failed;
}
