/* SPDX-License-Identifier: MIT */
#include "fuse_opened.h"

#include <errno.h>
#include <stdlib.h>

#include "basic/hash.h"
#include "basic/util.h"

struct opened {
	struct hmap_node node;
	uint64_t ino;
	struct cfs_handle *handles;
	struct stat st;
};

static struct opened *find(const struct hmap *m, uint64_t ino)
{
	struct hmap_node *n;

	hmap_for_each_hash (n, m, hash_mix64(ino)) {
		struct opened *o = container_of(n, struct opened, node);

		if (o->ino == ino)
			return o;
	}
	return NULL;
}

int cfs_opened_add(struct hmap *opened, uint64_t ino, const struct stat *st, struct cfs_handle *h)
{
	struct opened *o = find(opened, ino);

	if (!o) {
		o = calloc(1, sizeof(*o));
		if (!o)
			return -ENOMEM;
		o->ino = ino;
		if (hmap_insert(opened, &o->node, hash_mix64(ino)) < 0) {
			free(o);
			return -ENOMEM;
		}
	}
	o->st = *st;
	h->opened_ino = ino;
	h->opened_next = o->handles;
	o->handles = h;
	return 0;
}

void cfs_opened_drop(struct hmap *opened, struct cfs_handle *h)
{
	struct opened *o = h->opened_ino ? find(opened, h->opened_ino) : NULL;

	if (!o)
		return;
	for (struct cfs_handle **p = &o->handles; *p; p = &(*p)->opened_next)
		if (*p == h) {
			*p = h->opened_next;
			break;
		}
	h->opened_ino = 0;
	h->opened_next = NULL;
	if (o->handles)
		return;
	hmap_remove(opened, &o->node);
	free(o);
}

struct stat *cfs_opened_stat(const struct hmap *opened, uint64_t ino)
{
	struct opened *o = find(opened, ino);

	return o ? &o->st : NULL;
}

struct cfs_handle *cfs_opened_handles(const struct hmap *opened, uint64_t ino)
{
	struct opened *o = find(opened, ino);

	return o ? o->handles : NULL;
}

static void free_node(struct hmap_node *n)
{
	free(container_of(n, struct opened, node));
}

void cfs_opened_free(struct hmap *opened)
{
	hmap_destroy_all(opened, free_node);
}
