/* SPDX-License-Identifier: MIT */
/*
 * Where a running VM's files are: RUN_DIR/VMID.qmp (QMP), VMID.qga (guest
 * agent), VMID.pid, VMID.serialN (serial consoles, and VMID.serialN.log
 * when logged). RUN_DIR is /run/drover/qemu-server on a node (a sandbox
 * node has its own /run). The directory is root's alone (0700) and QEMU
 * is started with umask 0177, so every socket and file in it is 0600.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libdrover/error.h"

#define QEMU_RUN_DIR "/run/drover/qemu-server"
#define QEMU_SOCK_PATH_MAX 108 /* sizeof(sun_path) */
#define QEMU_SERIAL_COUNT 4

struct qemu_paths {
	char qmp[QEMU_SOCK_PATH_MAX];
	char qga[QEMU_SOCK_PATH_MAX];
	char pid[QEMU_SOCK_PATH_MAX];
	char serial[QEMU_SERIAL_COUNT][QEMU_SOCK_PATH_MAX];
	char serial_log[QEMU_SERIAL_COUNT][QEMU_SOCK_PATH_MAX + 4];
};

/*
 * The paths of VM vmid under run_dir (NULL: QEMU_RUN_DIR). -ENAMETOOLONG
 * when a socket path would not fit in a sockaddr_un.
 */
int qemu_paths_init(const char *run_dir, uint32_t vmid, struct qemu_paths *p,
		    struct drover_err *err);

/*
 * Make run_dir (and its parents, 0755) if missing and make sure it is a
 * real directory (not a symlink) owned by us with mode 0700. Returns 0 or
 * -errno.
 */
int qemu_run_dir_prepare(const char *run_dir, struct drover_err *err);

#define QEMU_KVM_SMOKE_MAX_MS 300

/*
 * Does hardware virtualisation work here? /dev/kvm must open, speak API
 * version 12, and run a small guest in a fresh VM (in a child process):
 * from real mode through its own switch to long mode with paging, then
 * write 16 MiB, in at most QEMU_KVM_SMOKE_MAX_MS (a working KVM takes a
 * few ms). /dev/kvm can exist, create VMs and run code, yet be useless:
 * on a host that is itself a guest without nested paging, every page a
 * guest touches costs a fraction of a millisecond and a kernel takes
 * minutes to boot, far slower than TCG. why says what was found (for a
 * log line). The probe takes ~10 ms where KVM works, at most 2 s.
 */
bool qemu_kvm_probe(char *why, size_t len);

/* qemu_kvm_probe() without the reason. */
bool qemu_kvm_usable(void);
