/* SPDX-License-Identifier: MIT */
/* Non-cryptographic 64-bit hashing for hash tables and the tree digest. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Finalizer of splitmix64: a good bijective mix of one 64-bit word. */
static inline uint64_t hash_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* Combine a running hash with one more 64-bit value. */
static inline uint64_t hash_add64(uint64_t h, uint64_t v)
{
	return hash_mix64(h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2)));
}

/* Hash a byte string, continuing from seed. */
uint64_t hash_bytes(uint64_t seed, const void *data, size_t len);

static inline uint64_t hash_str(uint64_t seed, const char *s)
{
	size_t len = 0;

	while (s[len])
		len++;
	return hash_bytes(seed, s, len);
}
