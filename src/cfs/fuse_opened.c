/* SPDX-License-Identifier: MIT */
#include "fuse_opened.h"

#include <errno.h>
#include <stdlib.h>

#include "basic/hash.h"
#include "basic/util.h"

struct opened {
	struct hmap_node node;
	uint64_t ino;
	unsigned count;
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

int cfs_opened_add(struct hmap *opened, uint64_t ino, const struct stat *st)
{
	struct opened *o = find(opened, ino);

	if (o) {
		o->count++;
		o->st = *st;
		return 0;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->ino = ino;
	o->count = 1;
	o->st = *st;
	if (hmap_insert(opened, &o->node, hash_mix64(ino)) < 0) {
		free(o);
		return -ENOMEM;
	}
	return 0;
}

void cfs_opened_drop(struct hmap *opened, uint64_t ino)
{
	struct opened *o = find(opened, ino);

	if (!o || --o->count > 0)
		return;
	hmap_remove(opened, &o->node);
	free(o);
}

const struct stat *cfs_opened_stat(const struct hmap *opened, uint64_t ino)
{
	struct opened *o = find(opened, ino);

	return o ? &o->st : NULL;
}

static void free_node(struct hmap_node *n)
{
	free(container_of(n, struct opened, node));
}

void cfs_opened_free(struct hmap *opened)
{
	hmap_destroy_all(opened, free_node);
}
