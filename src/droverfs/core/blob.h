/* SPDX-License-Identifier: MIT */
/*
 * Immutable, reference-counted file content. A tree entry, an open file
 * handle and a pending reply can share one blob without copying; a change
 * of content makes a new blob. The event loop is single-threaded, so the
 * count is a plain integer.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct cfs_blob {
	size_t refs;
	size_t size;
	unsigned char data[];
};

/* New blob holding a copy of data (size may be 0). NULL on ENOMEM. */
struct cfs_blob *cfs_blob_new(const void *data, size_t size);

/* New blob of `size` bytes, zero-filled beyond `keep` bytes copied from data. */
struct cfs_blob *cfs_blob_new_resized(const void *data, size_t keep, size_t size);

static inline struct cfs_blob *cfs_blob_ref(struct cfs_blob *b)
{
	if (b)
		b->refs++;
	return b;
}

void cfs_blob_unref(struct cfs_blob *b);

/* 64-bit hash of the content (0 for NULL: empty content). */
uint64_t cfs_blob_hash(const struct cfs_blob *b);

static inline size_t cfs_blob_size(const struct cfs_blob *b)
{
	return b ? b->size : 0;
}
