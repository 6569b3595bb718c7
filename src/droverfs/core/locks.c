/* SPDX-License-Identifier: MIT */
#include "locks.h"

#include <errno.h>
#include <stdlib.h>

#include "layout.h"
#include "basic/hash.h"
#include "basic/util.h"

struct lock_age {
	struct hmap_node node;
	uint64_t inode;
	uint64_t version;
	uint64_t since_ns;
	bool seen; /* marked by cfs_locks_sync */
};

static uint64_t monotonic_clock(void *ctx)
{
	(void)ctx;
	return now_monotonic_ns();
}

void cfs_locks_init(struct cfs_locks *l, cfs_clock_fn clock, void *clock_ctx)
{
	hmap_init(&l->by_inode);
	l->clock = clock ? clock : monotonic_clock;
	l->clock_ctx = clock_ctx;
	l->lifetime_ns = CFS_LOCK_LIFETIME_NS;
}

static void lock_age_free_node(struct hmap_node *n)
{
	free(container_of(n, struct lock_age, node));
}

void cfs_locks_destroy(struct cfs_locks *l)
{
	hmap_destroy_all(&l->by_inode, lock_age_free_node);
}

static struct lock_age *find(const struct cfs_locks *l, uint64_t inode)
{
	struct hmap_node *n;

	hmap_for_each_hash (n, &l->by_inode, hash_mix64(inode)) {
		struct lock_age *a = container_of(n, struct lock_age, node);

		if (a->inode == inode)
			return a;
	}
	return NULL;
}

static struct lock_age *get(struct cfs_locks *l, uint64_t inode, uint64_t version)
{
	struct lock_age *a = find(l, inode);

	if (a) {
		if (a->version != version) {
			a->version = version;
			a->since_ns = l->clock(l->clock_ctx);
		}
		return a;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->inode = inode;
	a->version = version;
	a->since_ns = l->clock(l->clock_ctx);
	if (hmap_insert(&l->by_inode, &a->node, hash_mix64(inode)) < 0) {
		free(a);
		return NULL;
	}
	return a;
}

int cfs_locks_observe(struct cfs_locks *l, uint64_t inode, uint64_t version)
{
	return get(l, inode, version) ? 0 : -ENOMEM;
}

void cfs_locks_forget(struct cfs_locks *l, uint64_t inode)
{
	struct lock_age *a = find(l, inode);

	if (a) {
		hmap_remove(&l->by_inode, &a->node);
		free(a);
	}
}

bool cfs_locks_expired(struct cfs_locks *l, uint64_t inode, uint64_t version)
{
	struct lock_age *a = get(l, inode, version);

	/* Unknown (no memory): never expire a lock on a guess. */
	return a && l->clock(l->clock_ctx) - a->since_ns > l->lifetime_ns;
}

int64_t cfs_locks_age_s(struct cfs_locks *l, uint64_t inode, uint64_t version)
{
	struct lock_age *a = find(l, inode);

	if (!a || a->version != version)
		return -1;
	return (int64_t)((l->clock(l->clock_ctx) - a->since_ns) / 1000000000ull);
}

int cfs_locks_sync(struct cfs_locks *l, const struct cfs_tree *t)
{
	const struct cfs_entry *priv = cfs_tree_child(t, t->root, "priv");
	const struct cfs_entry *lock = priv ? cfs_tree_child(t, priv, "lock") : NULL;
	struct hmap_iter it;
	struct hmap_node *n;

	for (n = hmap_iter_first(&it, &l->by_inode); n; n = hmap_iter_next(&it))
		container_of(n, struct lock_age, node)->seen = false;
	for (const struct cfs_entry *e = lock ? lock->children : NULL; e; e = e->next) {
		struct lock_age *a;

		if (!layout_is_lock_dir(e))
			continue;
		a = get(l, e->inode, e->version);
		if (!a)
			return -ENOMEM;
		a->seen = true;
	}
	n = hmap_iter_first(&it, &l->by_inode);
	while (n) {
		struct hmap_node *next = hmap_iter_next(&it);
		struct lock_age *a = container_of(n, struct lock_age, node);

		if (!a->seen) {
			hmap_remove(&l->by_inode, &a->node);
			free(a);
		}
		n = next;
	}
	return 0;
}
