/* SPDX-License-Identifier: MIT */
#include "vmlist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/hash.h"
#include "basic/log.h"
#include "basic/util.h"

void cfs_vmlist_init(struct cfs_vmlist *vl)
{
	hmap_init(&vl->by_vmid);
}

static void guest_free_node(struct hmap_node *n)
{
	free(container_of(n, struct cfs_vmlist_guest, node));
}

void cfs_vmlist_clear(struct cfs_vmlist *vl)
{
	hmap_destroy_all(&vl->by_vmid, guest_free_node);
}

struct cfs_vmlist_guest *cfs_vmlist_get(const struct cfs_vmlist *vl, uint32_t vmid)
{
	struct hmap_node *n;

	hmap_for_each_hash (n, &vl->by_vmid, hash_mix64(vmid)) {
		struct cfs_vmlist_guest *g = container_of(n, struct cfs_vmlist_guest, node);

		if (g->vmid == vmid)
			return g;
	}
	return NULL;
}

int cfs_vmlist_set(struct cfs_vmlist *vl, const struct cfs_guest_ref *ref, uint64_t inode,
		   uint64_t version)
{
	struct cfs_vmlist_guest *g = cfs_vmlist_get(vl, ref->vmid);

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

void cfs_vmlist_remove(struct cfs_vmlist *vl, uint32_t vmid)
{
	struct cfs_vmlist_guest *g = cfs_vmlist_get(vl, vmid);

	if (!g)
		return;
	hmap_remove(&vl->by_vmid, &g->node);
	free(g);
}

void cfs_vmlist_remove_inode(struct cfs_vmlist *vl, uint32_t vmid, uint64_t inode)
{
	struct cfs_vmlist_guest *g = cfs_vmlist_get(vl, vmid);

	if (g && g->inode == inode)
		cfs_vmlist_remove(vl, vmid);
}

static int add_guest_dir(struct cfs_vmlist *vl, const struct cfs_entry *dir, unsigned *duplicates)
{
	for (const struct cfs_entry *c = dir->children; c; c = c->next) {
		struct cfs_guest_ref ref;
		struct cfs_vmlist_guest *g;
		int r;

		if (c->type != CFS_FILE || !layout_guest_position(dir, c->name, &ref))
			continue;
		g = cfs_vmlist_get(vl, ref.vmid);
		if (g && g->inode != c->inode) {
			log_warn(
				"VMID %u is configured twice (nodes/%s and nodes/%s); keeping the first",
				ref.vmid, g->nodename, ref.node);
			(*duplicates)++;
			continue;
		}
		r = cfs_vmlist_set(vl, &ref, c->inode, c->version);
		if (r < 0)
			return r;
	}
	return 0;
}

int cfs_vmlist_rebuild(struct cfs_vmlist *vl, const struct cfs_tree *t, unsigned *duplicates)
{
	const struct cfs_entry *nodes = cfs_tree_child(t, t->root, "nodes");
	unsigned dups = 0;
	int r = 0;

	cfs_vmlist_clear(vl);
	cfs_vmlist_init(vl);
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
	const struct cfs_vmlist_guest *ga = *(struct cfs_vmlist_guest *const *)a;
	const struct cfs_vmlist_guest *gb = *(struct cfs_vmlist_guest *const *)b;

	return ga->vmid < gb->vmid ? -1 : ga->vmid > gb->vmid;
}

struct cfs_vmlist_guest **cfs_vmlist_sorted(const struct cfs_vmlist *vl, size_t *count)
{
	size_t n = hmap_count(&vl->by_vmid), i = 0;
	struct cfs_vmlist_guest **arr = calloc(n ? n : 1, sizeof(*arr));
	struct hmap_iter it;

	if (!arr)
		return NULL;
	for (struct hmap_node *h = hmap_iter_first(&it, &vl->by_vmid); h; h = hmap_iter_next(&it))
		arr[i++] = container_of(h, struct cfs_vmlist_guest, node);
	qsort(arr, n, sizeof(*arr), cmp_vmid);
	*count = n;
	return arr;
}
