/* SPDX-License-Identifier: MIT */
/*
 * The meaning of places in the tree (the /etc/pve layout): private areas,
 * lock directories, guest configs, names reserved for virtual entries.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "libdrover/format/names.h"
#include "tree.h"

/* priv/ and nodes/<node>/priv/, and everything below them. */
bool layout_is_private(const struct cfs_entry *e);

/* The same test on a relative path string. */
bool layout_path_is_private(const char *path);

/* priv/lock itself. */
bool layout_is_lock_root(const struct cfs_entry *e);

/* A directory directly in priv/lock: one cluster-wide lock. */
bool layout_is_lock_dir(const struct cfs_entry *e);

/* priv/lock or anything below it. */
bool layout_in_lock_area(const struct cfs_entry *e);

/* Names in the root that belong to virtual entries (.members, local, ...). */
bool layout_is_reserved_root_name(const char *name);

struct cfs_guest_ref {
	uint32_t vmid;
	enum guest_type type;
	char node[NODE_NAME_MAX + 1];
};

/*
 * Would `name` in directory `dir` be a guest config
 * (nodes/<node>/{qemu-server,lxc}/<vmid>.conf)? Fills ref if so.
 */
bool layout_guest_position(const struct cfs_entry *dir, const char *name,
			   struct cfs_guest_ref *ref);

/* The same for a relative path string. */
bool layout_guest_path(const char *path, struct cfs_guest_ref *ref);
