/* SPDX-License-Identifier: MIT */
#include "crc32c.h"

/* Reflected polynomial 0x1EDC6F41; the table is computed at compile time below. */
#define POLY 0x82f63b78u

#define T1(c) (((c)&1) ? ((c) >> 1) ^ POLY : (c) >> 1)
#define T8(c) T1(T1(T1(T1(T1(T1(T1(T1(c))))))))
#define R4(n) T8(n), T8(n + 1), T8(n + 2), T8(n + 3)
#define R16(n) R4(n), R4(n + 4), R4(n + 8), R4(n + 12)
#define R64(n) R16(n), R16(n + 16), R16(n + 32), R16(n + 48)

static const uint32_t table[256] = { R64(0u), R64(64u), R64(128u), R64(192u) };

uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
