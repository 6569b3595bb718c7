/* SPDX-License-Identifier: MIT */
#include "blob.h"

#include "basic/hash.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct cfs_blob *cfs_blob_new_resized(const void *data, size_t keep, size_t size)
{
	struct cfs_blob *b;

	if (size > SIZE_MAX - sizeof(*b))
		return NULL;
	b = malloc(sizeof(*b) + size);
	if (!b)
		return NULL;
	b->refs = 1;
	b->size = size;
	if (keep > size)
		keep = size;
	if (keep)
		memcpy(b->data, data, keep);
	memset(b->data + keep, 0, size - keep);
	return b;
}

struct cfs_blob *cfs_blob_new(const void *data, size_t size)
{
	return cfs_blob_new_resized(data, size, size);
}

uint64_t cfs_blob_hash(const struct cfs_blob *b)
{
	return b ? hash_bytes(0x636f6e74656e74ull, b->data, b->size) : 0;
}

void cfs_blob_unref(struct cfs_blob *b)
{
	if (b && --b->refs == 0)
		free(b);
}
