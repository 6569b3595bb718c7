/* SPDX-License-Identifier: MIT */
#include "vmlist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/hash.h"
#include "basic/log.h"
#include "basic/util.h"

void vmlist_init(struct vmlist *vl)
{
	hmap_init(&vl->by_vmid);
}

static void guest_free_node(struct hmap_node *n)
{
	free(container_of(n, struct vmlist_guest, node));
}

void vmlist_clear(struct vmlist *vl)
{
	hmap_destroy_all(&vl->by_vmid, guest_free_node);
}

struct vmlist_guest *vmlist_get(const struct vmlist *vl, uint32_t vmid)
{
	struct hmap_node *n;

	hmap_for_each_hash (n, &vl->by_vmid, hash_mix64(vmid)) {
		struct vmlist_guest *g = container_of(n, struct vmlist_guest, node);

		if (g->vmid == vmid)
			return g;
	}
	return NULL;
}

int vmlist_set(struct vmlist *vl, const struct guest_ref *ref, uint64_t inode, uint64_t version)
{
	struct vmlist_guest *g = vmlist_get(vl, ref->vmid);

	if (!g) {
		g = calloc(1, sizeof(*g));
		if (!g)
			return -ENOMEM;
		g->vmid = ref->vmid;
		if (hmap_insert(&vl->by_vmid, &g->node, hash_mix64(ref->vmid)) < 0) {
			free(g);
			return -ENOMEM;
		}
	}
	g->type = ref->type;
	g->inode = inode;
	g->version = version;
	memcpy(g->nodename, ref->node, sizeof(g->nodename));
	return 0;
}

void vmlist_remove(struct vmlist *vl, uint32_t vmid)
{
	struct vmlist_guest *g = vmlist_get(vl, vmid);

	if (!g)
		return;
	hmap_remove(&vl->by_vmid, &g->node);
	free(g);
}

void vmlist_remove_inode(struct vmlist *vl, uint32_t vmid, uint64_t inode)
{
	struct vmlist_guest *g = vmlist_get(vl, vmid);

	if (g && g->inode == inode)
		vmlist_remove(vl, vmid);
}

static int add_guest_dir(struct vmlist *vl, const struct cfs_entry *dir, unsigned *duplicates)
{
	for (const struct cfs_entry *c = dir->children; c; c = c->next) {
		struct guest_ref ref;
		struct vmlist_guest *g;
		int r;

		if (c->type != CFS_FILE || !layout_guest_position(dir, c->name, &ref))
			continue;
		g = vmlist_get(vl, ref.vmid);
		if (g && g->inode != c->inode) {
			log_warn(
				"VMID %u is configured twice (nodes/%s and nodes/%s); keeping the first",
				ref.vmid, g->nodename, ref.node);
			(*duplicates)++;
			continue;
		}
		r = vmlist_set(vl, &ref, c->inode, c->version);
		if (r < 0)
			return r;
	}
	return 0;
}

int vmlist_rebuild(struct vmlist *vl, const struct cfs_tree *t, unsigned *duplicates)
{
	const struct cfs_entry *nodes = cfs_tree_child(t, t->root, "nodes");
	unsigned dups = 0;
	int r = 0;

	vmlist_clear(vl);
	vmlist_init(vl);
	for (const struct cfs_entry *n = nodes ? nodes->children : NULL; n && r == 0; n = n->next) {
		if (n->type != CFS_DIR)
			continue;
		for (const struct cfs_entry *d = n->children; d && r == 0; d = d->next)
			if (d->type == CFS_DIR && guest_type_from_dir(d->name) != GUEST_NONE)
				r = add_guest_dir(vl, d, &dups);
	}
	if (duplicates)
		*duplicates = dups;
	return r;
}

static int cmp_vmid(const void *a, const void *b)
{
	const struct vmlist_guest *ga = *(struct vmlist_guest *const *)a;
	const struct vmlist_guest *gb = *(struct vmlist_guest *const *)b;

	return ga->vmid < gb->vmid ? -1 : ga->vmid > gb->vmid;
}

struct vmlist_guest **vmlist_sorted(const struct vmlist *vl, size_t *count)
{
	size_t n = hmap_count(&vl->by_vmid), i = 0;
	struct vmlist_guest **arr = calloc(n ? n : 1, sizeof(*arr));
	struct hmap_iter it;

	if (!arr)
		return NULL;
	for (struct hmap_node *h = hmap_iter_first(&it, &vl->by_vmid); h; h = hmap_iter_next(&it))
		arr[i++] = container_of(h, struct vmlist_guest, node);
	qsort(arr, n, sizeof(*arr), cmp_vmid);
	*count = n;
	return arr;
}
