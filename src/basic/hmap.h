/* SPDX-License-Identifier: MIT */
/*
 * Intrusive hash map with separate chaining. Nodes are embedded in the
 * caller's structures, so inserting never allocates a node; only the bucket
 * array grows. The caller computes the hash and compares keys itself:
 *
 *	hmap_for_each_hash(node, map, hash)
 *		if (key_matches(container_of(node, ...)))
 *			...
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap_node {
	struct hmap_node *next;
	uint64_t hash;
};

struct hmap {
	struct hmap_node **buckets;
	size_t mask; /* number of buckets - 1; buckets is a power of two */
	size_t count;
};

void hmap_init(struct hmap *map);
void hmap_destroy(struct hmap *map); /* frees the bucket array, not the nodes */

/* Call free_node on every node, then hmap_destroy(). */
void hmap_destroy_all(struct hmap *map, void (*free_node)(struct hmap_node *node));

/* Returns 0 or -ENOMEM (the node is then not inserted). */
int hmap_insert(struct hmap *map, struct hmap_node *node, uint64_t hash);
void hmap_remove(struct hmap *map, struct hmap_node *node);

static inline size_t hmap_count(const struct hmap *map)
{
	return map->count;
}

/* First node with this hash, or NULL. */
struct hmap_node *hmap_first_with_hash(const struct hmap *map, uint64_t hash);
struct hmap_node *hmap_next_with_hash(const struct hmap_node *node);

#define hmap_for_each_hash(node, map, h)                                \
	for ((node) = hmap_first_with_hash((map), (h)); (node) != NULL; \
	     (node) = hmap_next_with_hash(node))

/* Iteration over every node; the map must not change meanwhile. */
struct hmap_iter {
	const struct hmap *map;
	size_t bucket;
	struct hmap_node *node;
};

struct hmap_node *hmap_iter_first(struct hmap_iter *it, const struct hmap *map);
struct hmap_node *hmap_iter_next(struct hmap_iter *it);
