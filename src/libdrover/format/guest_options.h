/* SPDX-License-Identifier: MIT */
/*
 * The structured option values of guest configs, typed: startup order,
 * guest agent, boot order, memory, CPU model, display, SMBIOS, container
 * features, tags, serial ports. Each parser checks the whole value and
 * returns 0 or -EINVAL with err saying why.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libdrover/error.h"

/* startup: [[order=]N][,up=SECONDS][,down=SECONDS]; -1 where not given. */
struct guest_startup {
	long order;
	long up;
	long down;
};
int guest_startup_parse(const char *value, struct guest_startup *s, struct drover_err *err);

/* agent: [enabled=]0|1[,fstrim_cloned_disks=0|1][,freeze-fs-on-backup=0|1][,type=virtio|isa] */
struct guest_agent {
	bool enabled;
	bool fstrim_cloned_disks;
	bool freeze_fs_on_backup; /* default on */
	char type[8]; /* virtio (default) or isa */
};
int guest_agent_parse(const char *value, struct guest_agent *a, struct drover_err *err);

#define GUEST_BOOT_MAX 32
/*
 * boot: order=DEV;DEV;... (drive and net keys, each once), or the legacy
 * letters [acdn]{1,4} (kept as they are in legacy).
 */
struct guest_boot {
	char order[GUEST_BOOT_MAX][16];
	size_t n;
	char legacy[8];
};
int guest_boot_parse(const char *value, struct guest_boot *b, struct drover_err *err);

/*
 * memory of a VM, in KiB. Proxmox writes MiB ("2048"); drover also takes
 * a unit ("524224K", "512M", "2G"), so that test guests can have a size
 * that is not a multiple of 256 KiB (QEMU 7.2 TCG migration loses pages
 * otherwise). At least 16 MiB, a multiple of 4 KiB.
 */
int guest_memory_parse(const char *value, uint64_t *kib, struct drover_err *err);

/* cpu: [cputype=]MODEL[,flags=+FLAG;-FLAG...][,hidden=0|1] */
struct guest_cpu {
	char type[64];
	char flags[256]; /* as written: "+aes;-pcid" */
	bool hidden;
};
int guest_cpu_parse(const char *value, struct guest_cpu *c, struct drover_err *err);

/* vga: [type=]std|cirrus|vmware|qxl|virtio|none|serialN[,memory=MiB] */
struct guest_vga {
	char type[16];
	unsigned memory; /* MiB, 0 = the device's default */
};
int guest_vga_parse(const char *value, struct guest_vga *v, struct drover_err *err);

/*
 * smbios1: uuid=UUID[,manufacturer=..][,product=..][,version=..][,serial=..]
 * [,sku=..][,family=..][,base64=1]. With base64=1 the text fields are
 * base64 (Proxmox's way of allowing any byte); decoded here.
 */
struct guest_smbios {
	char uuid[37];
	char manufacturer[128], product[128], version[128], serial[128], sku[128], family[128];
};
int guest_smbios_parse(const char *value, struct guest_smbios *s, struct drover_err *err);

/*
 * features (containers): nesting=0|1, fuse=0|1, keyctl=0|1. drover applies
 * no seccomp filter, so keyctl is always allowed; mount= and mknod= need
 * AppArmor and seccomp notification and are refused.
 */
struct guest_features {
	bool nesting;
	bool fuse;
	bool keyctl;
};
int guest_features_parse(const char *value, struct guest_features *f, struct drover_err *err);

/* tags: TAG;TAG... each [a-z0-9_][a-z0-9_+.-]* (case-insensitive), at most 64 tags. */
int guest_tags_check(const char *value, struct drover_err *err);

/* serialN: "socket" (a UNIX socket drover serves) or a host device /dev/... */
int guest_serial_check(const char *value, struct drover_err *err);

/* machine: pc, q35, pc-i440fx-X.Y[+pveN], pc-q35-X.Y[+pveN] */
int guest_machine_check(const char *value, struct drover_err *err);
/* Is the machine type q35-based (bus names differ: ide.N are AHCI ports)? */
bool guest_machine_is_q35(const char *value);
