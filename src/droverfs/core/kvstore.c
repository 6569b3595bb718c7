/* SPDX-License-Identifier: MIT */
#include "kvstore.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/hash.h"
#include "basic/util.h"

static uint64_t key_hash(const char *nodename, const char *key)
{
	return hash_str(hash_str(0x6b76, nodename), key);
}

static void value_free(struct cfs_kv_value *v)
{
	free(v->nodename);
	free(v->key);
	free(v->data);
	free(v);
}

void cfs_kvstore_init(struct cfs_kvstore *kv)
{
	hmap_init(&kv->values);
}

static void value_free_node(struct hmap_node *n)
{
	value_free(container_of(n, struct cfs_kv_value, node));
}

void cfs_kvstore_destroy(struct cfs_kvstore *kv)
{
	hmap_destroy_all(&kv->values, value_free_node);
}

static struct cfs_kv_value *find(const struct cfs_kvstore *kv, const char *nodename,
				 const char *key)
{
	struct hmap_node *n;

	hmap_for_each_hash (n, &kv->values, key_hash(nodename, key)) {
		struct cfs_kv_value *v = container_of(n, struct cfs_kv_value, node);

		if (streq(v->nodename, nodename) && streq(v->key, key))
			return v;
	}
	return NULL;
}

const struct cfs_kv_value *cfs_kvstore_get(const struct cfs_kvstore *kv, const char *nodename,
					   const char *key)
{
	return find(kv, nodename, key);
}

static struct cfs_kv_value *value_new(const char *nodename, const char *key)
{
	struct cfs_kv_value *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->nodename = strdup(nodename);
	v->key = strdup(key);
	if (!v->nodename || !v->key) {
		value_free(v);
		return NULL;
	}
	return v;
}

int cfs_kvstore_set(struct cfs_kvstore *kv, const char *nodename, const char *key, const void *data,
		    size_t size)
{
	struct cfs_kv_value *v;
	unsigned char *copy = NULL;

	if (!*nodename || !*key)
		return -EINVAL;
	if (strlen(key) > KV_KEY_MAX)
		return -ENAMETOOLONG;
	if (size > KV_VALUE_MAX)
		return -EFBIG;
	v = find(kv, nodename, key);
	if (size == 0) {
		if (v) {
			hmap_remove(&kv->values, &v->node);
			value_free(v);
		}
		return 0;
	}
	copy = malloc(size);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, data, size);
	if (!v) {
		v = value_new(nodename, key);
		if (!v || hmap_insert(&kv->values, &v->node, key_hash(nodename, key)) < 0) {
			if (v)
				value_free(v);
			free(copy);
			return -ENOMEM;
		}
	}
	free(v->data);
	v->data = copy;
	v->size = size;
	v->version++;
	return 0;
}

static int cmp_value(const void *a, const void *b)
{
	const struct cfs_kv_value *va = *(const struct cfs_kv_value *const *)a;
	const struct cfs_kv_value *vb = *(const struct cfs_kv_value *const *)b;
	int c = strcmp(va->nodename, vb->nodename);

	return c ? c : strcmp(va->key, vb->key);
}

const struct cfs_kv_value **cfs_kvstore_sorted(const struct cfs_kvstore *kv, size_t *count)
{
	size_t n = hmap_count(&kv->values), i = 0;
	const struct cfs_kv_value **arr = calloc(n ? n : 1, sizeof(*arr));
	struct hmap_iter it;

	if (!arr)
		return NULL;
	for (struct hmap_node *h = hmap_iter_first(&it, &kv->values); h; h = hmap_iter_next(&it))
		arr[i++] = container_of(h, struct cfs_kv_value, node);
	qsort(arr, n, sizeof(*arr), cmp_value);
	*count = n;
	return arr;
}
