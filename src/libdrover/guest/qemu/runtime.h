/* SPDX-License-Identifier: MIT */
/*
 * Where a running VM's files are: RUN_DIR/VMID.qmp (QMP), VMID.qga (guest
 * agent), VMID.pid, VMID.serialN (serial consoles, and VMID.serialN.log
 * when logged). RUN_DIR is /run/drover/qemu-server on a node (a sandbox
 * node has its own /run). The directory is root's alone (0700) and QEMU
 * is started with umask 077, so every socket and file in it is 0600.
 */
#pragma once

#include <stdbool.h>
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

/*
 * Does hardware virtualisation work here: /dev/kvm opens, speaks API
 * version 12 and creates a VM? (It can exist and still not work, as on a
 * kernel that is itself a KVM guest without nesting.)
 */
bool qemu_kvm_usable(void);
