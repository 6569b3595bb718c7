/* SPDX-License-Identifier: MIT */
/* Naming rules shared by every part: node names, VMIDs, guest config paths. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NODE_NAME_MAX 63

/*
 * A node name is one DNS label (letters, digits, '-'; not starting or
 * ending with '-'), at most 63 characters: it is the host name up to the
 * first dot and a directory name under nodes/.
 */
bool node_name_valid(const char *name);
bool node_name_valid_n(const char *name, size_t len);

/*
 * A VMID is a decimal number without leading zeros that fits in 32 bits
 * (and is not 0). Parses exactly `len` bytes. Returns 0 or -EINVAL.
 */
int vmid_parse_n(const char *s, size_t len, uint32_t *vmid);

enum guest_type {
	GUEST_NONE = 0,
	GUEST_QEMU,
	GUEST_LXC,
};

/* "qemu-server" -> GUEST_QEMU, "lxc" -> GUEST_LXC, anything else GUEST_NONE. */
enum guest_type guest_type_from_dir(const char *dirname);
const char *guest_type_name(enum guest_type t); /* "qemu", "lxc" */
const char *guest_type_dirname(enum guest_type t); /* "qemu-server", "lxc" */
/* "VM" or "CT", for messages ("Starting VM 100"). */
const char *guest_kind(enum guest_type t);

/*
 * A guest's config in the tree, "nodes/NODE/qemu-server/VMID.conf" (or
 * .../lxc/...), into out: the one place that spells it. 0 or -ENAMETOOLONG.
 */
int guest_conf_relpath(const char *node, enum guest_type type, uint32_t vmid, char *out,
		       size_t len);

/*
 * If `filename` is "<vmid>.conf" with a valid VMID, store it and return
 * true.
 */
bool guest_config_filename(const char *filename, uint32_t *vmid);
