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

#include "basic/array.h"
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

/*
 * The QMP socket's path in a -chardev value ("socket,id=qmp,path=P,...",
 * a comma in P doubled) into buf, or NULL when value is no QMP socket or P
 * does not fit.
 */
static const char *qmp_chardev_path(const char *value, char *buf, size_t size)
{
	const char *v = str_has_prefix(value, "socket,id=qmp,path=") ? value + 19 : NULL;
	size_t n = 0;

	if (!v)
		return NULL;
	/* a single comma ends the path, a doubled one is a comma in it */
	for (; *v && !(v[0] == ',' && v[1] != ','); v += v[0] == ',' ? 2 : 1) {
		if (n + 1 >= size)
			return NULL;
		buf[n++] = *v;
	}
	buf[n] = '\0';
	return buf;
}

enum cmdline_path { CMDLINE_PIDFILE, CMDLINE_QMP };

/*
 * Call fn for each path the argv cmdline (len bytes, as /proc has it)
 * names: every -pidfile and every QMP -chardev socket. Stops at the first
 * fn that returns true, and says so. The one reading of a command line for
 * qemu_cmdline_is_vm() and the process index alike.
 */
static bool cmdline_each_path(const char *cmdline, size_t len,
			      bool (*fn)(void *ctx, enum cmdline_path kind, const char *path),
			      void *ctx)
{
	const char *prev = NULL;
	char qmp[PATH_MAX];

	/* argv as /proc has it: NUL-terminated strings, the last one maybe not */
	for (size_t i = 0; i < len;) {
		const char *arg = cmdline + i, *path;
		size_t n = strnlen(arg, len - i);

		if (n == len - i)
			break; /* cut short: not an argument we can trust */
		if (prev && is_arg(prev, "-pidfile") && fn(ctx, CMDLINE_PIDFILE, arg))
			return true;
		if (prev && is_arg(prev, "-chardev") &&
		    (path = qmp_chardev_path(arg, qmp, sizeof(qmp))) && fn(ctx, CMDLINE_QMP, path))
			return true;
		prev = arg;
		i += n + 1;
	}
	return false;
}

struct vm_paths {
	const char *pidfile, *qmp;
};

static bool names_vm(void *ctx, enum cmdline_path kind, const char *path)
{
	const struct vm_paths *p = ctx;

	return streq(path, kind == CMDLINE_PIDFILE ? p->pidfile : p->qmp);
}

bool qemu_cmdline_is_vm(const char *cmdline, size_t len, const char *pidfile, const char *qmp)
{
	struct vm_paths p = { pidfile, qmp };

	return cmdline_each_path(cmdline, len, names_vm, &p);
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

/* A pid of proc's directory entry, or 0 when it is no process. */
static pid_t proc_entry_pid(const struct dirent *de)
{
	char *end;
	long n = strtol(de->d_name, &end, 10);

	return *end == '\0' && n > 0 && n <= INT_MAX ? (pid_t)n : 0;
}

/* Every process of proc, one at a time: the scan a stopped VM ends in without an index. */
static pid_t scan_for_vm(const char *proc, const struct qemu_paths *p, const char *run_dir)
{
	struct dirent *de;
	pid_t pid = 0;
	DIR *dir = opendir(proc ? proc : "/proc");

	if (!dir)
		return 0;
	while (!pid && (de = readdir(dir))) {
		pid_t n = proc_entry_pid(de);

		if (n > 0 && qemu_pid_is_vm(proc, n, p, run_dir))
			pid = n;
	}
	closedir(dir);
	return pid;
}

/* A path a QEMU names on its command line, and which QEMU. */
struct qemu_proc_entry {
	char *path;
	enum cmdline_path kind;
	pid_t pid;
	size_t order; /* in the scan: the first of several matches wins, as without an index */
};

struct qemu_proc_index {
	char *proc; /* NULL: /proc */
	bool scanned;
	int error; /* of the scan: callers look by themselves then */
	struct qemu_proc_entry *v;
	size_t n, cap;
};

int qemu_proc_index_new(const char *proc, struct qemu_proc_index **out)
{
	struct qemu_proc_index *ix = calloc(1, sizeof(*ix));

	*out = NULL;
	if (!ix)
		return -ENOMEM;
	if (proc && !(ix->proc = strdup(proc))) {
		free(ix);
		return -ENOMEM;
	}
	*out = ix;
	return 0;
}

static void entries_free(struct qemu_proc_index *ix)
{
	for (size_t i = 0; i < ix->n; i++)
		free(ix->v[i].path);
	free(ix->v);
	ix->v = NULL;
	ix->n = ix->cap = 0;
}

void qemu_proc_index_free(struct qemu_proc_index *ix)
{
	if (!ix)
		return;
	entries_free(ix);
	free(ix->proc);
	free(ix);
}

struct index_add {
	struct qemu_proc_index *ix;
	pid_t pid;
	int error;
};

static bool index_add(void *ctx, enum cmdline_path kind, const char *path)
{
	struct index_add *a = ctx;
	struct qemu_proc_index *ix = a->ix;
	char *copy;

	if (ARRAY_GROW(ix->v, ix->cap, ix->n + 1) < 0 || !(copy = strdup(path))) {
		a->error = -ENOMEM;
		return true;
	}
	ix->v[ix->n] = (struct qemu_proc_entry){ copy, kind, a->pid, ix->n };
	ix->n++;
	return false;
}

static int entry_cmp(const void *x, const void *y)
{
	const struct qemu_proc_entry *a = x, *b = y;
	int c = strcmp(a->path, b->path);

	if (c)
		return c;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

/*
 * Read every QEMU's command line once: is_qemu() (one readlink) sorts out
 * the others, whose command lines are never read. What was named where is
 * kept sorted, for many VMs to look up.
 */
static int index_scan(struct qemu_proc_index *ix)
{
	const char *proc = ix->proc ? ix->proc : "/proc";
	struct index_add a = { ix, 0, 0 };
	struct dirent *de;
	char *buf;
	DIR *dir;

	ix->scanned = true;
	buf = malloc(CMDLINE_MAX);
	if (!buf)
		return ix->error = -ENOMEM;
	dir = opendir(proc);
	if (!dir) {
		ix->error = -errno;
		free(buf);
		return ix->error;
	}
	while (!a.error && (de = readdir(dir))) {
		ssize_t n;

		a.pid = proc_entry_pid(de);
		if (a.pid <= 0 || !is_qemu(proc, a.pid))
			continue;
		n = read_cmdline(proc, a.pid, buf, CMDLINE_MAX);
		if (n > 0)
			cmdline_each_path(buf, (size_t)n, index_add, &a);
	}
	closedir(dir);
	free(buf);
	if (a.error) {
		entries_free(ix);
		return ix->error = a.error;
	}
	qsort(ix->v, ix->n, sizeof(*ix->v), entry_cmp);
	return 0;
}

/* The first entry naming path as kind, or NULL. */
static const struct qemu_proc_entry *index_first(const struct qemu_proc_index *ix,
						 enum cmdline_path kind, const char *path)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct qemu_proc_entry *e = &ix->v[mid];
		int c = strcmp(e->path, path);

		if (c < 0 || (c == 0 && e->kind < kind))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ix->n && ix->v[lo].kind == kind && streq(ix->v[lo].path, path))
		return &ix->v[lo];
	return NULL;
}

/*
 * The QEMU of the VM among the indexed ones. Each candidate is looked at
 * again now (qemu_pid_is_vm): the index only says where to look, so a
 * QEMU gone since the scan and its pid reused, or a neighbour's with the
 * same paths, is not taken.
 */
static pid_t index_find(const struct qemu_proc_index *ix, const struct qemu_paths *p,
			const char *run_dir)
{
	static const enum cmdline_path kinds[] = { CMDLINE_PIDFILE, CMDLINE_QMP };
	const struct qemu_proc_entry *best = NULL;

	for (size_t k = 0; k < 2; k++) {
		const char *path = kinds[k] == CMDLINE_PIDFILE ? p->pid : p->qmp;
		const struct qemu_proc_entry *e = index_first(ix, kinds[k], path);

		for (; e && e < ix->v + ix->n && e->kind == kinds[k] && streq(e->path, path); e++) {
			if (best && best->order < e->order)
				break;
			if (qemu_pid_is_vm(ix->proc, e->pid, p, run_dir)) {
				best = e;
				break;
			}
		}
	}
	return best ? best->pid : 0;
}

pid_t qemu_vm_pid(const char *proc, const char *run_dir, uint32_t vmid, struct qemu_proc_index *ix)
{
	const char *d = run_dir ? run_dir : QEMU_RUN_DIR;
	struct qemu_paths p;
	pid_t pid;

	if (ix)
		proc = ix->proc;
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
	if (ix && !ix->scanned)
		(void)index_scan(ix);
	if (ix && !ix->error)
		return index_find(ix, &p, d);
	return scan_for_vm(proc, &p, d);
}

int qemu_runtime_read(const char *run_dir, uint32_t vmid, struct qemu_proc_index *ix,
		      struct guest_runtime *rt)
{
	pid_t pid = qemu_vm_pid(NULL, run_dir, vmid, ix);

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
