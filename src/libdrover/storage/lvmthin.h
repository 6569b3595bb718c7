/* SPDX-License-Identifier: MIT */
/*
 * The lvmthin storage, thin: LVM needs device-mapper, which this machine's
 * kernel lacks, so the plugin is its command lines and the parsing of
 * `lvs` output, unit-tested against recorded output.
 *
 *   VG/vm-VMID-disk-N             a thin volume in VG/THINPOOL (/dev/VG/NAME)
 *   VG/snap_vm-VMID-disk-N_SNAP   its snapshot (Proxmox's naming)
 *
 * Streams: raw+size only (full copies), as Proxmox's.
 */
#pragma once

#include "cmdline.h"
#include "plugin.h"

/* One line of `lvs` as drover asks for it. */
struct lvm_lv {
	char vg[128], name[256], attr[16], pool[128], origin[256], uuid[64];
	uint64_t size;
	int64_t time;
};

void lvm_cmd_status(const struct storage_props *p, struct cmdline *c);
int lvm_parse_status(const char *out, struct storage_status *st, struct drover_err *err);

void lvm_cmd_lvs(const struct storage_props *p, struct cmdline *c);
/* Every line of lvs output; malformed lines are an error (lvs's format is ours to choose). */
int lvm_parse_lvs(const char *out, struct lvm_lv **lvs, size_t *n, struct drover_err *err);

void lvm_cmd_alloc(const struct storage_props *p, const char *name, uint64_t size,
		   struct cmdline *c);
void lvm_cmd_remove(const struct storage_props *p, const char *lv, struct cmdline *c);
void lvm_cmd_resize(const struct storage_props *p, const char *name, uint64_t size,
		    struct cmdline *c);
/* "snap_NAME_SNAP" */
void lvm_snap_lv(const char *name, const char *snap, char *out, size_t len);
void lvm_cmd_snapshot(const struct storage_props *p, const char *name, const char *snap,
		      struct cmdline *c);
/* The volume again, from its snapshot (after removing it): lvcreate -kn -n NAME -s VG/snap_... */
void lvm_cmd_rollback(const struct storage_props *p, const char *name, const char *snap,
		      struct cmdline *c);
void lvm_cmd_activate(const struct storage_props *p, const char *lv, struct cmdline *c);
