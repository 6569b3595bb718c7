/* SPDX-License-Identifier: MIT */
/*
 * The guest registry: which node owns which VMID, derived from the guest
 * configs in the tree. The state machine keeps it current on every change;
 * it can always be rebuilt from the tree.
 */
#pragma once

#include <stdint.h>

#include "layout.h"
#include "basic/hmap.h"

struct vmlist_guest {
	struct hmap_node node;
	uint32_t vmid;
	enum guest_type type;
	uint64_t inode; /* the config file */
	uint64_t version; /* tree version of the config's last change */
	char nodename[NODE_NAME_MAX + 1];
};

struct vmlist {
	struct hmap by_vmid;
};

void vmlist_init(struct vmlist *vl);
void vmlist_clear(struct vmlist *vl);

struct vmlist_guest *vmlist_get(const struct vmlist *vl, uint32_t vmid);

/* Register or update a guest. Returns 0 or -ENOMEM. */
int vmlist_set(struct vmlist *vl, const struct guest_ref *ref, uint64_t inode, uint64_t version);

void vmlist_remove(struct vmlist *vl, uint32_t vmid);

/* Remove the registration if it belongs to this config entry. */
void vmlist_remove_inode(struct vmlist *vl, uint32_t vmid, uint64_t inode);

/*
 * Rebuild from the tree. A VMID configured twice (only possible in a
 * database written by something else) keeps its first registration and is
 * counted in *duplicates.
 */
int vmlist_rebuild(struct vmlist *vl, const struct cfs_tree *t, unsigned *duplicates);

/* Guests sorted by VMID, for stable output. The caller frees the array. */
struct vmlist_guest **vmlist_sorted(const struct vmlist *vl, size_t *count);
