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

struct cfs_vmlist_guest {
	struct hmap_node node;
	uint32_t vmid;
	enum guest_type type;
	uint64_t inode; /* the config file */
	uint64_t version; /* tree version of the config's last change */
	char nodename[NODE_NAME_MAX + 1];
};

struct cfs_vmlist {
	struct hmap by_vmid;
};

void cfs_vmlist_init(struct cfs_vmlist *vl);
void cfs_vmlist_clear(struct cfs_vmlist *vl);

struct cfs_vmlist_guest *cfs_vmlist_get(const struct cfs_vmlist *vl, uint32_t vmid);

/* Register or update a guest. Returns 0 or -ENOMEM. */
int cfs_vmlist_set(struct cfs_vmlist *vl, const struct cfs_guest_ref *ref, uint64_t inode,
		   uint64_t version);

void cfs_vmlist_remove(struct cfs_vmlist *vl, uint32_t vmid);

/* Remove the registration if it belongs to this config entry. */
void cfs_vmlist_remove_inode(struct cfs_vmlist *vl, uint32_t vmid, uint64_t inode);

/*
 * Rebuild from the tree. A VMID configured twice (only possible in a
 * database written by something else) keeps its first registration and is
 * counted in *duplicates.
 */
int cfs_vmlist_rebuild(struct cfs_vmlist *vl, const struct cfs_tree *t, unsigned *duplicates);

/* Guests sorted by VMID, for stable output. The caller frees the array. */
struct cfs_vmlist_guest **cfs_vmlist_sorted(const struct cfs_vmlist *vl, size_t *count);
