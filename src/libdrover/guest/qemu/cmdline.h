/* SPDX-License-Identifier: MIT */
/*
 * The QEMU command line of a VM, generated from its config: one function,
 * no side effects (it reads nothing from the host; what it needs to know
 * about the host comes in the options).
 *
 * Disks are reached through a resolver the caller supplies (the storage
 * layer: volume ID -> file, block device or RBD image), so that this code
 * knows no storage type. Each drive becomes two -blockdev nodes,
 * "file-KEY" (the protocol) and "drive-KEY" (the format; the node that
 * mirrors and NBD exports use), and a -device with id KEY.
 *
 * netN becomes a tap device "tapVMIDiN" on the config's bridge (created
 * beforehand by qemu_tap_create(), see tap.h) with the config's MAC; a NIC
 * without a bridge gets QEMU's user-mode network.
 *
 * What the command line leaves to the caller: link_down (QMP set_link
 * after the start), rate (tc on the tap), cpulimit/cpuunits (the cgroup
 * of the service that runs QEMU), the pending changes (applied to the
 * config before). firewall= is accepted for Proxmox configs and has no
 * effect: drover has no guest firewall.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "libdrover/error.h"
#include "libdrover/format/guest_conf.h"

enum qemu_volume_driver {
	QEMU_VOLUME_FILE, /* an image file */
	QEMU_VOLUME_HOST_DEVICE, /* a block device */
	QEMU_VOLUME_RBD, /* a Ceph RBD image through librbd */
};

/* A resolved volume: how QEMU opens it. */
struct qemu_volume {
	enum qemu_volume_driver driver;
	char path[4096]; /* FILE, HOST_DEVICE */
	char rbd_pool[128], rbd_image[256], rbd_conf[1024],
		rbd_user[64]; /* RBD; user/conf optional */
	char format[8]; /* "raw" or "qcow2" */
};

/*
 * Resolve a storage volume ID ("local-btrfs:100/vm-100-disk-0.raw") of VM
 * vmid for QEMU. Returns 0 or a negative errno with err saying why (an
 * unknown storage, a volume of another VM, a missing volume).
 */
typedef int (*qemu_volume_resolver)(void *ctx, uint32_t vmid, const char *volid,
				    struct qemu_volume *vol, struct drover_err *err);

struct qemu_cmdline_opts {
	const char *binary; /* NULL: "qemu-system-x86_64" */
	const char *run_dir; /* NULL: QEMU_RUN_DIR */
	bool kvm_usable; /* qemu_kvm_usable(), asked by the caller */
	bool daemonize; /* -daemonize: QEMU forks once it is set up */
	bool serial_log; /* also log socket consoles to RUN_DIR/VMID.serialN.log */
	bool paused; /* -S: start with the CPUs stopped */
	const char *incoming; /* -incoming URI: a migration target ("defer", "unix:PATH") */
	const char *machine; /* instead of the config's (a migration target takes the source's) */
	qemu_volume_resolver resolve;
	void *resolve_ctx;
};

/*
 * The argv (NULL-terminated; free it with strv_free_array()) to start VM
 * vmid with the current section of conf. Refused with -EINVAL and a
 * reason: a NIC without a MAC address, a storage volume with no resolver,
 * kvm: 1 where KVM does not work, cpu: host without KVM, bios: ovmf,
 * aio=native without cache.direct, a config that is not a VM's. A
 * resolver's error is passed on, prefixed with the drive's key.
 */
int qemu_cmdline(struct guest_conf *conf, uint32_t vmid, const struct qemu_cmdline_opts *o,
		 char ***argv, struct drover_err *err);

/* The tap device of netN of VM vmid: "tapVMIDiN" (at most 15 characters). */
void qemu_tap_name(uint32_t vmid, unsigned index, char out[16]);
