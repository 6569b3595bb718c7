/* SPDX-License-Identifier: MIT */
/*
 * Growing arrays: the one way to make room in a heap array that grows as
 * items arrive (a queue, a list read from a file or a database).
 *
 *	struct item *items = NULL;
 *	size_t n = 0, cap = 0;
 *
 *	if (ARRAY_GROW(items, cap, n + 1) < 0)
 *		return -ENOMEM;
 *	items[n++] = ...;
 */
#pragma once

#include <stddef.h>

/*
 * Make room for at least `need` items of `size` bytes in *items, whose room
 * is *cap items: the room doubles (from 16 items), so adding one item at a
 * time costs amortized O(1). Returns 0, or -ENOMEM (overflow or no memory)
 * with *items and *cap unchanged.
 */
int array_grow(void **items, size_t *cap, size_t need, size_t size);

/* array_grow() on a typed pointer variable and its size_t capacity. */
#define ARRAY_GROW(items, cap, need) array_grow((void **)&(items), &(cap), (need), sizeof(*(items)))
