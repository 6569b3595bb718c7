/* SPDX-License-Identifier: MIT */
/*
 * Reading a guest's runtime state from the host, without asking the guest
 * or spawning anything (droverd does it every few seconds for every guest):
 *
 * - a VM: its QEMU process, qemu_vm_pid(). CPU time, start and memory
 *   from /proc.
 * - a container: LXC's cgroup lxc.payload.VMID (cgroup v2, else the v1
 *   cpuacct and memory hierarchies): running while it holds a process;
 *   CPU time and memory from the cgroup, the start from its init.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
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

/*
 * Is a QEMU of VM vmid running on this node? The pid file alone cannot
 * say: it can be deleted by hand or with /run, and its pid reused. A
 * start, stop, cleanup or status that believed it would start a second
 * QEMU on the same disks, or take the taps of one that runs. So a process
 * counts only when it is one, its executable qemu-system-*, its command
 * line naming this VM's pid file (-pidfile) or QMP socket (-chardev), and
 * it sees our run directory (not a sandbox neighbour's with the same
 * paths). It is looked for by
 *   1. the pid file's pid: one open and a few reads, the usual answer;
 *   2. the listener of the QMP socket (SO_PEERCRED): the pid file gone;
 *   3. every process in /proc: both gone. A stopped VM ends here: about a
 *      readlink of /proc/PID/exe per process (0.5 ms for 230 processes),
 *      or, given a process index ix, a lookup in it (see below).
 * A lock would be cheaper to ask, but QEMU's own on its pid file goes
 * with the file, and none of its others is at a path drover chooses.
 * proc NULL: /proc (tests pass a tree like it; with ix, ix's proc is
 * used); run_dir NULL: QEMU_RUN_DIR; ix NULL: step 3 scans /proc itself.
 * Returns the pid, or 0 when no QEMU of the VM runs.
 */
struct qemu_paths;
struct qemu_proc_index;
pid_t qemu_vm_pid(const char *proc, const char *run_dir, uint32_t vmid, struct qemu_proc_index *ix);

/*
 * One look at the node's processes shared by a caller asking about many
 * VMs in one pass (droverd's status tick, startall/stopall, vm list):
 * without it every stopped VM scans all of /proc by itself, N stopped VMs
 * N scans. The index is made empty; the first qemu_vm_pid() that reaches
 * step 3 scans proc once (is_qemu's readlink of every process, the
 * command line of the QEMUs alone) and keeps the pid-file and QMP socket
 * paths each QEMU names. Lookups take the QEMUs naming the VM's paths and
 * look at each again (qemu_pid_is_vm), so a QEMU that went since and its
 * pid reused is not taken. What the index cannot see: a QEMU started after
 * its scan whose pid file and QMP socket are both gone, so make one per
 * pass and free it after; steps 1 and 2 see any QEMU started since. A
 * scan that fails (no memory, proc unreadable) leaves lookups to step 3's
 * own scan. Not for threads to share.
 * proc NULL: /proc. Returns 0 and *out (free with qemu_proc_index_free),
 * or -ENOMEM.
 */
int qemu_proc_index_new(const char *proc, struct qemu_proc_index **out);
void qemu_proc_index_free(struct qemu_proc_index *ix);

/* Is pid such a QEMU of the VM whose paths are p under run_dir (not NULL)? */
bool qemu_pid_is_vm(const char *proc, pid_t pid, const struct qemu_paths *p, const char *run_dir);
/*
 * Does the argv cmdline (len bytes, NUL-terminated strings as in
 * /proc/PID/cmdline) name pidfile (-pidfile) or the QMP socket qmp
 * (-chardev socket,id=qmp,path=..., commas doubled)?
 */
bool qemu_cmdline_is_vm(const char *cmdline, size_t len, const char *pidfile, const char *qmp);

/*
 * The VM's runtime: running when qemu_vm_pid() finds its QEMU (with ix,
 * may be NULL). run_dir NULL: QEMU_RUN_DIR. Returns 0 or -errno (a
 * stopped VM is 0, running false).
 */
int qemu_runtime_read(const char *run_dir, uint32_t vmid, struct qemu_proc_index *ix,
		      struct guest_runtime *rt);

/* cgroup_root NULL: /sys/fs/cgroup. Returns 0 or -errno (stopped: 0, running false). */
int lxc_runtime_read(const char *cgroup_root, uint32_t vmid, struct guest_runtime *rt);

/* CPU time, memory and uptime of process pid into rt (running set). Returns 0 or -errno. */
int guest_runtime_from_pid(pid_t pid, struct guest_runtime *rt);
