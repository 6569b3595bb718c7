/* SPDX-License-Identifier: MIT */
#include "hmap.h"

#include <errno.h>
#include <stdlib.h>

static struct hmap_node *empty_bucket;

void hmap_init(struct hmap *map)
{
	/* One static empty bucket: lookups in an empty map need no allocation. */
	map->buckets = &empty_bucket;
	map->mask = 0;
	map->count = 0;
}

void hmap_destroy(struct hmap *map)
{
	if (map->buckets != &empty_bucket)
		free(map->buckets);
	hmap_init(map);
}

void hmap_destroy_all(struct hmap *map, void (*free_node)(struct hmap_node *node))
{
	for (size_t i = 0; i <= map->mask; i++) {
		struct hmap_node *n = map->buckets[i];

		while (n) {
			struct hmap_node *next = n->next;

			free_node(n);
			n = next;
		}
	}
	hmap_destroy(map);
}

static int hmap_resize(struct hmap *map, size_t nbuckets)
{
	struct hmap_node **nb = calloc(nbuckets, sizeof(*nb));

	if (!nb)
		return -ENOMEM;
	for (size_t i = 0; i <= map->mask; i++) {
		struct hmap_node *n = map->buckets[i];

		while (n) {
			struct hmap_node *next = n->next;
			size_t b = n->hash & (nbuckets - 1);

			n->next = nb[b];
			nb[b] = n;
			n = next;
		}
	}
	if (map->buckets != &empty_bucket)
		free(map->buckets);
	map->buckets = nb;
	map->mask = nbuckets - 1;
	return 0;
}

int hmap_insert(struct hmap *map, struct hmap_node *node, uint64_t hash)
{
	size_t b;

	if (map->count + 1 > map->mask + 1 || map->buckets == &empty_bucket) {
		size_t n = map->buckets == &empty_bucket ? 16 : (map->mask + 1) * 2;
		int r = hmap_resize(map, n);

		if (r < 0)
			return r;
	}
	node->hash = hash;
	b = hash & map->mask;
	node->next = map->buckets[b];
	map->buckets[b] = node;
	map->count++;
	return 0;
}

void hmap_remove(struct hmap *map, struct hmap_node *node)
{
	struct hmap_node **p = &map->buckets[node->hash & map->mask];

	while (*p && *p != node)
		p = &(*p)->next;
	if (*p) {
		*p = node->next;
		map->count--;
	}
	node->next = NULL;
}

struct hmap_node *hmap_first_with_hash(const struct hmap *map, uint64_t hash)
{
	struct hmap_node *n = map->buckets[hash & map->mask];

	while (n && n->hash != hash)
		n = n->next;
	return n;
}

struct hmap_node *hmap_next_with_hash(const struct hmap_node *node)
{
	uint64_t hash = node->hash;
	struct hmap_node *n = node->next;

	while (n && n->hash != hash)
		n = n->next;
	return n;
}

static struct hmap_node *advance(struct hmap_iter *it)
{
	while (it->bucket <= it->map->mask) {
		struct hmap_node *n = it->map->buckets[it->bucket++];

		if (n)
			return n;
	}
	return NULL;
}

struct hmap_node *hmap_iter_first(struct hmap_iter *it, const struct hmap *map)
{
	it->map = map;
	it->bucket = 0;
	it->node = advance(it);
	return it->node;
}

struct hmap_node *hmap_iter_next(struct hmap_iter *it)
{
	if (!it->node)
		return NULL;
	it->node = it->node->next ? it->node->next : advance(it);
	return it->node;
}
