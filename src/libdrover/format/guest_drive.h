/* SPDX-License-Identifier: MIT */
/*
 * The disks of a guest config, typed: VM drives (scsiN, virtioN, sataN,
 * ideN, unusedN) and container volumes (rootfs, mpN), parsed
 * from their property strings. The config keeps the text; these structs
 * are what the QEMU command line, the LXC config, storage and migration
 * read. A volume is "STORE:VOLNAME" (a storage volume ID), an absolute
 * path (a host device or file, root's choice), or for a CD-ROM drive
 * "none" (empty) or "cdrom" (the host's drive).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libdrover/error.h"

#define GUEST_VOLID_MAX 320 /* STORE (63) ':' VOLNAME (255) */
#define GUEST_STORE_MAX 64

enum guest_bus {
	GUEST_BUS_IDE,
	GUEST_BUS_SATA,
	GUEST_BUS_SCSI,
	GUEST_BUS_VIRTIO,
	GUEST_BUS_UNUSED, /* a volume the VM owns but has not attached */
	GUEST_BUS_COUNT,
};

/* The key prefix of a bus ("scsi") and how many drives it takes (scsi: 31). */
const char *guest_bus_name(enum guest_bus bus);
unsigned guest_bus_count(enum guest_bus bus);

/*
 * Which drive a config key names: "scsi3" -> GUEST_BUS_SCSI, 3. The index
 * is decimal without leading zeros and below the bus's count. Returns 0
 * or -EINVAL (not a drive key).
 */
int guest_drive_key(const char *key, enum guest_bus *bus, unsigned *index);

enum guest_volume_kind {
	GUEST_VOLUME_STORAGE, /* STORE:VOLNAME */
	GUEST_VOLUME_PATH, /* an absolute host path */
	GUEST_VOLUME_NONE, /* "none": a drive without medium (CD-ROM) */
	GUEST_VOLUME_CDROM, /* "cdrom": the host's CD-ROM drive */
};

/*
 * Check a volume as it may appear in a config and say which kind it is.
 * STORE is a storage ID ([a-z][a-z0-9._-]*, at most 63); VOLNAME is not
 * empty, at most 255 bytes, printable, without ',' and without a ".."
 * path component; a path is absolute and has no ".." component. "none" and
 * "cdrom" are accepted only when allow_cdrom. Returns 0 or -EINVAL.
 */
int guest_volume_parse(const char *text, bool allow_cdrom, enum guest_volume_kind *kind,
		       struct drover_err *err);

/* Split a storage volume ID into its storage (copied) and volume name (a pointer into volid). */
int guest_volid_split(const char *volid, char *store, size_t store_len, const char **volname);

/* Disk sizes as Proxmox writes them: bytes, or a number with K, M, G or T (binary, may have a fraction). */
int guest_size_parse(const char *text, uint64_t *bytes);
/* The shortest exact form: "32G", "1536M", "4096" (bytes). Returns buf. */
char *guest_size_format(uint64_t bytes, char *buf, size_t len);

struct guest_drive {
	enum guest_bus bus;
	unsigned index;
	char key[16]; /* "scsi0" */
	char volume[GUEST_VOLID_MAX];
	enum guest_volume_kind kind;
	bool cdrom; /* media=cdrom */
	char format[8]; /* raw, qcow2, vmdk; "" when the config does not say */
	char cache[16]; /* none, writethrough, writeback, directsync, unsafe; "" = none */
	char aio[16]; /* native, threads, io_uring; "" = the default */
	char serial[21];
	bool discard; /* discard=on */
	bool iothread;
	bool ssd;
	bool ro;
	bool shared;
	bool backup; /* default on */
	bool replicate; /* default on */
	uint64_t size; /* bytes, 0 when unknown */
};

/*
 * Parse the value of a drive key (key says which bus and index). The
 * volume is the bare first item or file=; an unused drive is only a storage
 * volume. Unknown
 * properties and bad values are errors. Returns 0 or -EINVAL.
 */
int guest_drive_parse(const char *key, const char *value, struct guest_drive *d,
		      struct drover_err *err);

/*
 * A drive's or mount point's value with its volume replaced by volume and
 * everything else kept in place (migration maps volumes this way). *out
 * is a new string the caller frees. Returns 0, -EINVAL or -ENOMEM.
 */
int guest_value_with_volume(const char *value, const char *volume, char **out,
			    struct drover_err *err);

#define GUEST_MP_COUNT 256 /* mp0..mp255 */

struct guest_mount {
	bool rootfs; /* rootfs, else mpN */
	unsigned index;
	char volume[GUEST_VOLID_MAX];
	enum guest_volume_kind kind; /* STORAGE or PATH (a bind mount) */
	char mp[256]; /* where inside the container: "/" for rootfs */
	char mountoptions
		[128]; /* ';'-separated: noatime, nodev, nosuid, noexec, discard, lazytime */
	uint64_t size; /* bytes, 0 when unknown */
	int acl; /* -1 default, 0 off, 1 on */
	bool ro;
	bool quota;
	bool shared;
	bool backup; /* mpN only; rootfs is always backed up */
	bool replicate; /* default on */
};

/* Parse rootfs or mpN (key says which). mpN needs mp=; Returns 0 or -EINVAL. */
int guest_mount_parse(const char *key, const char *value, struct guest_mount *m,
		      struct drover_err *err);
