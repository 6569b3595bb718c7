/* SPDX-License-Identifier: MIT */
/*
 * Reading a guest's runtime state from the host, without asking the guest
 * or spawning anything (droverd does it every few seconds for every guest):
 *
 * - a VM: QEMU's pid file RUN_DIR/VMID.pid; the process must still be a
 *   QEMU (its executable qemu-system-*), so a stale pid file whose pid was
 *   reused reads as stopped. CPU time, start and memory from /proc.
 * - a container: LXC's cgroup lxc.payload.VMID (cgroup v2, else the v1
 *   cpuacct and memory hierarchies): running while it holds a process;
 *   CPU time and memory from the cgroup, the start from its init.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* What a guest is doing now. */
struct guest_runtime {
	bool running;
	pid_t pid; /* QEMU's, or the container's init */
	uint64_t cpu_ns; /* CPU time used since it started */
	uint64_t mem_bytes; /* resident memory */
	uint64_t uptime_s;
};

/* run_dir NULL: QEMU_RUN_DIR. Returns 0 or -errno (a stopped VM is 0, running false). */
int qemu_runtime_read(const char *run_dir, uint32_t vmid, struct guest_runtime *rt);

/* cgroup_root NULL: /sys/fs/cgroup. Returns 0 or -errno (stopped: 0, running false). */
int lxc_runtime_read(const char *cgroup_root, uint32_t vmid, struct guest_runtime *rt);

/* CPU time, memory and uptime of process pid into rt (running set). Returns 0 or -errno. */
int guest_runtime_from_pid(pid_t pid, struct guest_runtime *rt);
