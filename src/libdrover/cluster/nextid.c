/* SPDX-License-Identifier: MIT */
#include "nextid.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"

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
			snprintf(err->text, sizeof(err->text),
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
				snprintf(err->text, sizeof(err->text),
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
