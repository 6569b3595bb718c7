/* SPDX-License-Identifier: MIT */
#include "hash.h"

#include <string.h>

uint64_t hash_bytes(uint64_t seed, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = hash_mix64(seed ^ (len * 0x9e3779b97f4a7c15ull));

	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		h = hash_add64(h, w);
		p += 8;
		len -= 8;
	}
	if (len > 0) {
		uint64_t w = 0;

		memcpy(&w, p, len);
		h = hash_add64(h, w ^ ((uint64_t)len << 56));
	}
	return hash_mix64(h);
}
