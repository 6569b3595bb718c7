/* SPDX-License-Identifier: MIT */
/*
 * The LXC configuration of a container, generated from its drover config
 * (lxc/CTID.conf): one function, no side effects; what it needs to know
 * about the host comes in the options (lxc_host_probe() fills them).
 *
 * Volumes (rootfs, mpN) reach it through a resolver the caller supplies:
 * the storage layer gives the host directory of a volume, mounted (a
 * btrfs subvolume is one already; a raw image is mounted first). NICs
 * become veth pairs "vethCTIDiN" on the config's bridge, resource limits
 * cgroup keys of the host's cgroup version (v1 here: memory.limit_in_bytes;
 * v2: memory.max). Raw "lxc.*" keys of the config come last, as written.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/buf.h"
#include "libdrover/error.h"
#include "libdrover/format/guest_conf.h"

#define LXC_CONFIG_DIR "/usr/share/lxc/config"

/* The host directory of a volume ID of container ctid (mounted), into path. */
typedef int (*lxc_volume_resolver)(void *ctx, uint32_t ctid, const char *volid, char *path,
				   size_t len, struct drover_err *err);

struct lxc_conf_opts {
	int cgroup_version; /* 1 (memory controller on cgroup v1) or 2 */
	bool memsw; /* v1 with swap accounting: memory.memsw.limit_in_bytes exists */
	unsigned
		host_cpus; /* CPUs of the host (cores are limited with a cpuset below it); 0: no cpuset */
	bool apparmor; /* the host has AppArmor; false: lxc.apparmor.profile = unconfined */
	const char *config_dir; /* NULL: LXC_CONFIG_DIR (common.conf, userns.conf) */
	lxc_volume_resolver resolve;
	void *resolve_ctx;
};

/* What the host offers: cgroup version, swap accounting, CPUs, AppArmor. */
void lxc_host_probe(struct lxc_conf_opts *o);

/*
 * Append the LXC config of container ctid (the current section of conf)
 * to out. Refused with -EINVAL and a reason: no rootfs, a NIC without a
 * bridge or hwaddr, a volume with no resolver, an unknown cgroup version,
 * a config that is not a container's. A resolver's error is passed on,
 * prefixed with the key.
 */
int lxc_conf_generate(struct guest_conf *conf, uint32_t ctid, const struct lxc_conf_opts *o,
		      struct buf *out, struct drover_err *err);

/*
 * The host side of netN of container ctid: "vethCTIDiN". -ENAMETOOLONG
 * when that is longer than an interface name may be (15).
 */
int lxc_veth_name(uint32_t ctid, unsigned index, char out[16]);
