/* SPDX-License-Identifier: MIT */
/*
 * Volume IDs and names, Proxmox's: "STOREID:VOLNAME", where VOLNAME names
 * its owner. File-based storages (dir, btrfs) use "VMID/NAME.EXT"
 * ("100/vm-100-disk-0.raw", "101/subvol-101-disk-0.subvol"), plus
 * "iso/NAME.iso" and "vztmpl/NAME.tar.gz" on dir; block storages (rbd,
 * zfspool, lvmthin) use the bare NAME ("vm-100-disk-0"). NAME is
 * vm-VMID-REST, base-VMID-REST (a template's image) or subvol-VMID-REST (a
 * container root file system) and its VMID must be the owner's. These rules
 * are checked here, once, before a plugin sees a name: no "..", no '/'
 * where the type has none, nothing a shell or a tool could take for an
 * option.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "libdrover/error.h"
#include "plugin.h"

enum storage_naming {
	STORAGE_NAMING_FILE, /* dir, btrfs: VMID/NAME.EXT */
	STORAGE_NAMING_BLOCK, /* rbd, zfspool, lvmthin: NAME */
};

#define STORAGE_NAME_MAX 128

struct storage_volname {
	unsigned vmid; /* owner; 0 for iso and vztmpl */
	char name[STORAGE_NAME_MAX]; /* "vm-100-disk-0", "debian.iso" */
	enum storage_content content;
	enum storage_volformat format;
	bool base; /* base-VMID-...: a template's image */
};

/* The naming of a storage type ("dir" -> FILE). */
enum storage_naming storage_naming_of(const char *type);

/*
 * "STOREID:VOLNAME" into its parts (checks the storage ID and that VOLNAME
 * is not empty; VOLNAME's own rules are storage_volname_parse's).
 */
int storage_volid_split(const char *volid, char *storeid, size_t idlen, char *volname,
			size_t namelen, struct drover_err *err);

/* Check volname under naming and describe it in v. -EINVAL with a reason. */
int storage_volname_parse(const char *volname, enum storage_naming naming,
			  struct storage_volname *v, struct drover_err *err);

/*
 * Check a NAME (without directory) for owner vmid: vm-VMID-..., base-...,
 * subvol-...; with an extension on file storages. format: what the caller
 * asked for (the extension must agree); the format it implies into *fmt.
 */
int storage_name_check(const char *name, unsigned vmid, enum storage_naming naming,
		       enum storage_volformat *fmt, bool fmt_given, struct drover_err *err);

/* The volname of NAME for vmid under naming ("100/vm-100-disk-0.raw"). */
int storage_volname_make(enum storage_naming naming, unsigned vmid, const char *name,
			 enum storage_volformat fmt, char *out, size_t len);

/*
 * A snapshot name: letters, digits, '_' and '-', at most 63, not starting
 * with '-' (pvesm allows 40; replication's __replicate_JOB_EPOCH__ needs more).
 */
bool storage_snapname_valid(const char *snap);

const char *storage_volformat_name(enum storage_volformat f); /* "raw", "qcow2", "subvol" */
int storage_volformat_parse(const char *s, enum storage_volformat *f);
