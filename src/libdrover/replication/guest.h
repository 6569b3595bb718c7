/* SPDX-License-Identifier: MIT */
/*
 * The guest a replication job copies: where its config is in droverfs
 * (nodes/NODE/qemu-server/VMID.conf or nodes/NODE/lxc/VMID.conf, so also on
 * which node it runs), and which of its volumes replicate (pvesr's
 * get_replicatable_volumes): storage volumes of the guest's own VMID, not
 * on a shared storage, not CD-ROMs, not marked replicate=0; a host path or
 * device is an error unless marked replicate=0. Snapshot sections count as
 * well: their volumes must reach the target too.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libdrover/cluster/cfs.h"
#include "libdrover/error.h"
#include "libdrover/format/guest_conf.h"
#include "libdrover/format/guest_drive.h"
#include "libdrover/format/names.h"
#include "libdrover/storage/config.h"

#define REPL_VOLUMES_MAX 64

struct repl_guest {
	uint32_t vmid;
	enum guest_type type;
	char node[NODE_NAME_MAX + 1];
	char conf_rel[128]; /* "nodes/NODE/qemu-server/VMID.conf" */
	struct guest_conf *conf;
	char volids[REPL_VOLUMES_MAX][GUEST_VOLID_MAX]; /* replicatable, sorted, unique */
	size_t n_vols;
};

/*
 * Find guest vmid in droverfs and parse its config. -ENOENT (err: "guest
 * VMID does not exist") when no node has it.
 */
int repl_guest_load(const struct cfs_brief *b, uint32_t vmid, struct repl_guest *g,
		    struct drover_err *err);
void repl_guest_free(struct repl_guest *g);

/* One volume line of a guest config: a VM's drive (not a CD-ROM), a container's rootfs or mpN. */
struct repl_volume_line {
	const char *key, *volume;
	enum guest_volume_kind kind;
	bool replicate;
	bool shared_mount; /* a container mount point marked shared=1 */
};

/*
 * fn for each volume line of section s of a guest of type; stops at the
 * first negative return. A line that does not parse is an error in err.
 */
int repl_section_each_volume(enum guest_type type, struct guest_section *s,
			     int (*fn)(void *ctx, const struct repl_volume_line *v,
				       struct drover_err *err),
			     void *ctx, struct drover_err *err);

/*
 * Fill g->volids from its config against storage.cfg. -EINVAL when a
 * volume cannot replicate ("unable to replicate local file/device ...").
 */
int repl_guest_volumes(struct repl_guest *g, const struct storage_cfg *scfg,
		       struct drover_err *err);
