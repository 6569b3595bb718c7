/* SPDX-License-Identifier: MIT */
#include "nextid.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "cfs.h"
#include "libdrover/cfs/ipc_client.h"
#include "libdrover/cfs/ipc_proto.h"

/* "lower=N" or "upper=N" inside the value; -EINVAL for anything else. */
static int range_item(const char *item, size_t n, uint32_t *lower, uint32_t *upper)
{
	char buf[64];
	uint64_t v;

	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, item, n);
	buf[n] = '\0';
	if (str_has_prefix(buf, "lower=") && parse_u64(buf + 6, 999999999, &v) == 0 && v >= 100)
		*lower = (uint32_t)v;
	else if (str_has_prefix(buf, "upper=") && parse_u64(buf + 6, 1000000000, &v) == 0 &&
		 v > 100)
		*upper = (uint32_t)v;
	else
		return -EINVAL;
	return 0;
}

static int parse_value(const char *v, size_t n, unsigned line, uint32_t *lower, uint32_t *upper,
		       struct drover_err *err)
{
	size_t i = 0;

	while (i < n) {
		size_t k = i;

		while (k < n && v[k] != ',')
			k++;
		if (range_item(v + i, k - i, lower, upper) < 0) {
			snprintf(
				err->text, sizeof(err->text),
				"datacenter.cfg:%u: next-id: '%.*s' is not lower=N or upper=N (VMIDs 100 to 999999999)",
				line, (int)(k - i), v + i);
			return -EINVAL;
		}
		i = k + 1;
	}
	return 0;
}

int nextid_range(const char *text, size_t len, uint32_t *lower, uint32_t *upper,
		 struct drover_err *err)
{
	unsigned line = 0;
	size_t pos = 0;

	*lower = NEXTID_LOWER;
	*upper = NEXTID_UPPER;
	while (text && pos < len) {
		const char *l = text + pos, *nl = memchr(l, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - l) : len - pos;

		line++;
		pos += n + 1;
		if (n >= 8 && strncmp(l, "next-id:", 8) == 0) {
			const char *v = l + 8;
			size_t vn = n - 8;
			int r;

			while (vn && (*v == ' ' || *v == '\t'))
				v++, vn--;
			while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\r'))
				vn--;
			r = parse_value(v, vn, line, lower, upper, err);
			if (r < 0)
				return r;
			if (*lower >= *upper) {
				snprintf(
					err->text, sizeof(err->text),
					"datacenter.cfg:%u: next-id: lower (%u) must be below upper (%u)",
					line, *lower, *upper);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int nextid_pick(uint32_t lower, uint32_t upper, const uint32_t *used, size_t n, uint32_t *id)
{
	uint32_t *sorted = NULL, cand = lower;

	if (n) {
		sorted = malloc(n * sizeof(*sorted));
		if (!sorted)
			return -ENOMEM;
		memcpy(sorted, used, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), cmp_u32);
	}
	for (size_t i = 0; i < n && cand < upper; i++) {
		if (sorted[i] == cand)
			cand++;
		else if (sorted[i] > cand)
			break;
	}
	free(sorted);
	if (cand >= upper)
		return -ENOSPC;
	*id = cand;
	return 0;
}

/* Every VMID in the cluster, from droverfs's .vmlist. */
static int used_vmids(const char *socket, uint32_t **ids, size_t *n)
{
	struct ipc_client c;
	struct buf reply = BUF_INIT;
	struct json_object *o = NULL, *list;
	int32_t status = 0;
	int r = ipc_client_connect(&c, socket);

	*ids = NULL;
	*n = 0;
	if (r == 0) {
		r = ipc_client_call(&c, IPC_GET_VMLIST, NULL, 0, &status, &reply);
		ipc_client_close(&c);
	}
	if (r == 0)
		r = status;
	if (r == 0 && buf_terminate(&reply) == 0)
		o = json_tokener_parse((const char *)reply.data);
	buf_free(&reply);
	if (r < 0 || !o)
		return r < 0 ? r : -EPROTO;
	if (json_object_object_get_ex(o, "ids", &list)) {
		*ids = calloc((size_t)json_object_object_length(list) + 1, sizeof(**ids));
		if (!*ids)
			r = -ENOMEM;
		json_object_object_foreach(list, key, val)
		{
			(void)val;
			if (*ids)
				(*ids)[(*n)++] = (uint32_t)strtoul(key, NULL, 10);
		}
	}
	json_object_put(o);
	return r;
}

int cluster_nextid(const char *socket, const struct cfs_brief *b, uint32_t *id,
		   struct drover_err *err)
{
	struct buf dc = BUF_INIT;
	uint32_t lower, upper, *ids;
	size_t n;
	int r = cfs_read(b, "datacenter.cfg", &dc);

	if (r < 0 && r != -ENOENT) {
		buf_free(&dc);
		return drover_fail(err, r, "datacenter.cfg: %s", strerror(-r));
	}
	r = nextid_range(dc.len ? (const char *)dc.data : NULL, dc.len, &lower, &upper, err);
	buf_free(&dc);
	if (r < 0)
		return r;
	r = used_vmids(socket, &ids, &n);
	if (r < 0)
		return drover_fail(err, r, "cannot read the cluster's guests from droverfs: %s",
				   strerror(-r));
	r = nextid_pick(lower, upper, ids, n, id);
	free(ids);
	if (r < 0)
		return drover_fail(err, r,
				   "no free VMID in the next-id range %u to %u (datacenter.cfg)",
				   lower, upper - 1);
	return 0;
}
