/* SPDX-License-Identifier: MIT */
#include "guest_runtime.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Is pid running a QEMU (qemu-system-*)? A reused pid of a stale pid file is not. */
static bool is_qemu(pid_t pid)
{
	char path[64], exe[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	base = strrchr(exe, '/');
	return str_has_prefix(base ? base + 1 : exe, "qemu-system-");
}

int qemu_runtime_read(const char *run_dir, uint32_t vmid, struct guest_runtime *rt)
{
	char path[PATH_MAX];
	pid_t pid;

	memset(rt, 0, sizeof(*rt));
	snprintf(path, sizeof(path), "%s/%" PRIu32 ".pid", run_dir ? run_dir : QEMU_RUN_DIR, vmid);
	pid = pid_from_file(path);
	if (pid <= 0 || !process_alive(pid) || !is_qemu(pid))
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
