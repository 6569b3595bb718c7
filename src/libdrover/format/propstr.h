/* SPDX-License-Identifier: MIT */
/*
 * Proxmox property strings: the values of keys such as
 *   scsi0: local-btrfs:100/vm-100-disk-0.raw,size=1G,discard=on
 *   net0: virtio=BC:24:11:5E:0A:01,bridge=vmbr0,firewall=1
 * A comma-separated list of items; an item is "key=value" or, for the
 * first item only, a bare value that belongs to the format's default key
 * (the volume of a disk, the order of startup=). Values cannot contain
 * commas; ';' separates list elements inside one value (boot order,
 * trunks). Order is kept so that a changed item is rewritten in place.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "basic/buf.h"
#include "libdrover/error.h"

struct propstr_item {
	char *key; /* NULL: the bare first value (the default key's) */
	char *value;
};

struct propstr {
	struct propstr_item *items;
	size_t n, cap;
};

#define PROPSTR_INIT       \
	{                  \
		NULL, 0, 0 \
	}

/*
 * Split text into items. Refused: an empty text or item ("a,,b"), a key
 * that is empty or not [a-zA-Z0-9_-]+, an empty value ("size="), a bare
 * value after the first item, the same key twice. Returns 0, -EINVAL (err
 * says why, without a file position) or -ENOMEM.
 */
int propstr_parse(const char *text, struct propstr *out, struct drover_err *err);
void propstr_free(struct propstr *p);

/* The value of key, or NULL. key NULL: the bare first value. */
const char *propstr_get(const struct propstr *p, const char *key);

/* The item for key, or NULL. */
struct propstr_item *propstr_find(const struct propstr *p, const char *key);

/*
 * Set key (NULL: the bare first value) to value: replaced where it is, or
 * added (a bare value goes first, a key=value at the end). value NULL
 * removes the item. Returns 0 or -ENOMEM.
 */
int propstr_set(struct propstr *p, const char *key, const char *value);

/* Write the items back in their order ("a,k=v,..."). Returns 0 or -ENOMEM. */
int propstr_format(const struct propstr *p, struct buf *out);

/* A boolean property value: "1"/"0" (also "on"/"off", "yes"/"no", "true"/"false"). */
int propstr_bool(const char *value, bool *out);
