/* SPDX-License-Identifier: MIT */
/*
 * Node status key/value store: small values a node publishes about itself
 * (its IP, later metrics). Kept in RAM only, per node; every value has a
 * version that grows with each change of its key.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "basic/hmap.h"

#define KV_KEY_MAX 255
#define KV_VALUE_MAX (32u << 10)

struct cfs_kv_value {
	struct hmap_node node;
	char *nodename;
	char *key;
	uint64_t version;
	size_t size;
	unsigned char *data;
};

struct cfs_kvstore {
	struct hmap values;
};

void cfs_kvstore_init(struct cfs_kvstore *kv);
void cfs_kvstore_destroy(struct cfs_kvstore *kv);

/*
 * Set (size > 0) or delete (size == 0) a value. Returns 0, -EINVAL (empty
 * key or node), -ENAMETOOLONG (key over 255 bytes), -EFBIG (value over
 * 32 KiB) or -ENOMEM.
 */
int cfs_kvstore_set(struct cfs_kvstore *kv, const char *nodename, const char *key, const void *data,
		    size_t size);

const struct cfs_kv_value *cfs_kvstore_get(const struct cfs_kvstore *kv, const char *nodename,
					   const char *key);

/* All values sorted by node, then key. The caller frees the array. */
const struct cfs_kv_value **cfs_kvstore_sorted(const struct cfs_kvstore *kv, size_t *count);
