/* SPDX-License-Identifier: MIT */
#include "guest_runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "basic/process.h"
#include "basic/procstat.h"
#include "basic/util.h"
#include "libdrover/guest/qemu/runtime.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

int guest_runtime_from_pid(pid_t pid, struct guest_runtime *rt)
{
	struct procstat st;
	uint64_t hz = procstat_hz();
	double up = 0;
	int r = procstat_read(pid, &st);

	if (r < 0)
		return r;
	rt->running = st.state != 'Z';
	rt->pid = pid;
	rt->cpu_ns = (st.utime + st.stime) * (1000000000ull / hz);
	rt->mem_bytes = st.rss_bytes;
	if (procstat_uptime(&up) == 0 && up > (double)st.starttime / (double)hz)
		rt->uptime_s = (uint64_t)(up - (double)st.starttime / (double)hz);
	return 0;
}

static bool is_arg(const char *arg, const char *opt)
{
	/* QEMU takes -opt and --opt alike */
	return streq(arg, opt) || (arg[0] == '-' && streq(arg + 1, opt));
}

/* Is value the -chardev of the QMP socket qmp ("socket,id=qmp,path=P,...", commas doubled)? */
static bool is_qmp_chardev(const char *value, const char *qmp)
{
	const char *v = str_has_prefix(value, "socket,id=qmp,path=") ? value + 19 : NULL;

	if (!v)
		return false;
	for (const char *q = qmp; *q; q++) {
		if (*v++ != *q)
			return false;
		if (*q == ',' && *v++ != ',')
			return false;
	}
	return *v == '\0' || (*v == ',' && v[1] != ',');
}

bool qemu_cmdline_is_vm(const char *cmdline, size_t len, const char *pidfile, const char *qmp)
{
	const char *prev = NULL;

	/* argv as /proc has it: NUL-terminated strings, the last one maybe not */
	for (size_t i = 0; i < len;) {
		const char *arg = cmdline + i;
		size_t n = strnlen(arg, len - i);

		if (n == len - i)
			break; /* cut short: not an argument we can trust */
		if (prev && is_arg(prev, "-pidfile") && streq(arg, pidfile))
			return true;
		if (prev && is_arg(prev, "-chardev") && is_qmp_chardev(arg, qmp))
			return true;
		prev = arg;
		i += n + 1;
	}
	return false;
}

/* Is pid running a QEMU (qemu-system-*, " (deleted)" after an upgrade too)? */
static bool is_qemu(const char *proc, pid_t pid)
{
	char path[PATH_MAX], exe[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%d/exe", proc, (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return false; /* gone, a zombie or a kernel thread */
	exe[n] = '\0';
	base = strrchr(exe, '/');
	return str_has_prefix(base ? base + 1 : exe, "qemu-system-");
}

/* The first len bytes of proc/pid/cmdline into buf: their count, or -errno. */
static ssize_t read_cmdline(const char *proc, pid_t pid, char *buf, size_t len)
{
	char path[PATH_MAX];
	size_t have = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%d/cmdline", proc, (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (have < len) {
		ssize_t n = read(fd, buf + have, len - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	return (ssize_t)have;
}

/*
 * Does pid see run_dir where we do? A sandbox node has a /run of its own
 * (its mount namespace) and the same paths in it: the QEMU of another
 * node's VM with the same VMID names the same pid file. proc/PID/root
 * walks the process's own mounts. Both missing (/run wiped) counts as the
 * same: a QEMU that may be ours is taken for ours.
 */
static bool same_run_dir(const char *proc, pid_t pid, const char *run_dir)
{
	char path[PATH_MAX];
	struct stat ours, theirs;
	int a, b;

	snprintf(path, sizeof(path), "%s/%d/root%s", proc, (int)pid, run_dir);
	a = stat(run_dir, &ours) < 0 ? -errno : 0;
	b = stat(path, &theirs) < 0 ? -errno : 0;
	if (a == 0 && b == 0)
		return ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino;
	if ((a == -ENOENT) != (b == -ENOENT))
		return false;
	return true; /* could not tell (not allowed to look): ours, to be safe */
}

#define CMDLINE_MAX (256 * 1024)

bool qemu_pid_is_vm(const char *proc, pid_t pid, const struct qemu_paths *p, const char *run_dir)
{
	char *buf;
	ssize_t n;
	bool yes;

	proc = proc ? proc : "/proc";
	if (pid <= 0 || !is_qemu(proc, pid))
		return false;
	buf = malloc(CMDLINE_MAX);
	if (!buf)
		return true; /* a QEMU at that pid, and no memory to be sure: ours, to be safe */
	n = read_cmdline(proc, pid, buf, CMDLINE_MAX);
	yes = n > 0 && qemu_cmdline_is_vm(buf, (size_t)n, p->pid, p->qmp) &&
	      same_run_dir(proc, pid, run_dir);
	free(buf);
	return yes;
}

/* The process listening on the QMP socket (SO_PEERCRED of a connection to it), or 0. */
static pid_t qmp_listener(const char *qmp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	pid_t pid = 0;
	int fd;

	if (strlen(qmp) >= sizeof(sa.sun_path))
		return 0;
	memcpy(sa.sun_path, qmp, strlen(qmp) + 1);
	/*
	 * Non-blocking: a QMP client already connected keeps QEMU from
	 * accepting us; the connection still carries QEMU's credentials (the
	 * listener's, given at connect), and a full backlog is EAGAIN, not a wait.
	 */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
		pid = cred.pid;
	close(fd);
	return pid;
}

pid_t qemu_vm_pid(const char *proc, const char *run_dir, uint32_t vmid)
{
	const char *d = run_dir ? run_dir : QEMU_RUN_DIR;
	struct qemu_paths p;
	struct dirent *de;
	pid_t pid;
	DIR *dir;

	if (qemu_paths_init(d, vmid, &p, NULL) < 0)
		return 0;
	/* the pid file: where a VM stopped or running as started is told at once */
	pid = pid_from_file(p.pid);
	if (qemu_pid_is_vm(proc, pid, &p, d))
		return pid;
	/* the pid file deleted, or its pid reused: the QMP socket's listener */
	pid = qmp_listener(p.qmp);
	if (qemu_pid_is_vm(proc, pid, &p, d))
		return pid;
	/* both gone (/run wiped): a QEMU that names them on its command line */
	dir = opendir(proc ? proc : "/proc");
	if (!dir)
		return 0;
	pid = 0;
	while (!pid && (de = readdir(dir))) {
		char *end;
		long n = strtol(de->d_name, &end, 10);

		if (*end == '\0' && n > 0 && n <= INT_MAX && qemu_pid_is_vm(proc, (pid_t)n, &p, d))
			pid = (pid_t)n;
	}
	closedir(dir);
	return pid;
}

int qemu_runtime_read(const char *run_dir, uint32_t vmid, struct guest_runtime *rt)
{
	pid_t pid = qemu_vm_pid(NULL, run_dir, vmid);

	memset(rt, 0, sizeof(*rt));
	if (pid <= 0)
		return 0;
	if (guest_runtime_from_pid(pid, rt) < 0)
		memset(rt, 0, sizeof(*rt)); /* it went while we looked */
	return 0;
}

/* The first number in a small file (0 when missing). */
static uint64_t read_u64(const char *path, const char *key)
{
	char line[256];
	unsigned long long v = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!key) {
			sscanf(line, "%llu", &v);
			break;
		}
		if (str_has_prefix(line, key) && line[strlen(key)] == ' ') {
			sscanf(line + strlen(key), " %llu", &v);
			break;
		}
	}
	fclose(f);
	return v;
}

int lxc_runtime_read(const char *cgroup_root, uint32_t vmid, struct guest_runtime *rt)
{
	const char *root = cgroup_root ? cgroup_root : CGROUP_ROOT;
	char path[PATH_MAX], procs[PATH_MAX];
	bool v2;
	pid_t init;

	memset(rt, 0, sizeof(*rt));
	snprintf(path, sizeof(path), "%s/cgroup.controllers", root);
	v2 = access(path, F_OK) == 0;
	/* the container's processes: its init is the first in its cgroup */
	snprintf(procs, sizeof(procs),
		 v2 ? "%s/lxc.payload.%" PRIu32 "/cgroup.procs"
		    : "%s/pids/lxc.payload.%" PRIu32 "/cgroup.procs",
		 root, vmid);
	init = (pid_t)read_u64(procs, NULL);
	if (init <= 0 || !process_alive(init))
		return 0;
	guest_runtime_from_pid(init, rt);
	rt->running = true;
	rt->pid = init;
	if (v2) {
		snprintf(path, sizeof(path), "%s/lxc.payload.%" PRIu32 "/cpu.stat", root, vmid);
		rt->cpu_ns = read_u64(path, "usage_usec") * 1000;
		snprintf(path, sizeof(path), "%s/lxc.payload.%" PRIu32 "/memory.current", root,
			 vmid);
		rt->mem_bytes = read_u64(path, NULL);
	} else {
		snprintf(path, sizeof(path), "%s/cpuacct/lxc.payload.%" PRIu32 "/cpuacct.usage",
			 root, vmid);
		rt->cpu_ns = read_u64(path, NULL);
		snprintf(path, sizeof(path),
			 "%s/memory/lxc.payload.%" PRIu32 "/memory.usage_in_bytes", root, vmid);
		rt->mem_bytes = read_u64(path, NULL);
	}
	return 0;
}
