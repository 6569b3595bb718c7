/* SPDX-License-Identifier: MIT */
/*
 * The keys a guest config may hold, per guest type, with the check of
 * each value. A key the schema does not know is an error (Proxmox only
 * warns and drops it; drover refuses the file, so nothing is lost
 * silently). Containers also take raw LXC keys ("lxc.cgroup.devices.allow:
 * ..."), which may repeat and are passed to LXC as they are.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "libdrover/error.h"
#include "names.h"

/* Where a key may appear. */
enum guest_where {
	GUEST_IN_CURRENT = 1u << 0, /* the main section: the guest as it is */
	GUEST_IN_SNAPSHOT = 1u << 1, /* a [snapshot] section */
	GUEST_IN_PENDING = 1u << 2, /* [PENDING]: changes applied at the next start */
};

enum guest_key_type {
	GUEST_KEY_BOOL, /* 0|1 */
	GUEST_KEY_UINT, /* a whole number in [min, max] */
	GUEST_KEY_NUMBER, /* a number with a fraction in [min, max] */
	GUEST_KEY_ENUM, /* one of choices */
	GUEST_KEY_CUSTOM, /* check() */
};

struct guest_key {
	const char *name; /* the key, or the prefix of a numbered key ("scsi") */
	unsigned count; /* numbered keys: name0 .. name<count-1>; 0 for a plain key */
	unsigned types; /* 1 << GUEST_QEMU | 1 << GUEST_LXC */
	unsigned where; /* enum guest_where bits */
	enum guest_key_type type;
	unsigned long long min, max;
	const char *const *choices;
	int (*check)(enum guest_type t, const char *key, const char *value, struct drover_err *err);
	const char *help; /* one line for documentation and --help */
};

#define GUEST_DESCRIPTION_MAX 8192
#define GUEST_VALUE_MAX 65536

/*
 * The schema entry of key for guest type t, or NULL when the key is
 * unknown. Raw LXC keys ("lxc.*") are not in the table: see
 * guest_key_is_raw_lxc().
 */
const struct guest_key *guest_key_find(enum guest_type t, const char *key);

/* A container's raw LXC key: "lxc." and then [a-z0-9_.-]+. */
bool guest_key_is_raw_lxc(enum guest_type t, const char *key);

/* Key syntax as Proxmox has it: [a-z][a-z_]*[0-9]* (or a raw LXC key). */
bool guest_key_syntax_ok(enum guest_type t, const char *key);

/*
 * Check that key may appear where (one enum guest_where bit) in a guest
 * of type t, and that value is valid for it. err says what is wrong
 * ("unknown key 'foo'", "memory must be ...") without a file position.
 * Returns 0 or -EINVAL.
 */
int guest_key_check(enum guest_type t, unsigned where, const char *key, const char *value,
		    struct drover_err *err);

/* The whole table (for documentation, --help, and tests); *n entries. */
const struct guest_key *guest_keys(size_t *n);
