/* SPDX-License-Identifier: MIT */
#include "base64.h"

#include <errno.h>
#include <stdint.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_encode(const void *data, size_t len, struct buf *out)
{
	const unsigned char *p = data;
	int r = buf_reserve(out, (len + 2) / 3 * 4);

	if (r < 0)
		return r;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t left = len - i;
		char q[4];

		if (left > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (left > 2)
			v |= p[i + 2];
		q[0] = alphabet[(v >> 18) & 63];
		q[1] = alphabet[(v >> 12) & 63];
		q[2] = left > 1 ? alphabet[(v >> 6) & 63] : '=';
		q[3] = left > 2 ? alphabet[v & 63] : '=';
		r = buf_append(out, q, 4);
		if (r < 0)
			return r;
	}
	return 0;
}

static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(const char *text, size_t len, struct buf *out)
{
	uint32_t acc = 0;
	unsigned bits = 0, pad = 0;
	int r;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		int v;

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		v = sextet(c);
		if (v < 0 || pad)
			return -EINVAL; /* a character after padding is not base64 */
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			unsigned char byte = (unsigned char)(acc >> (bits - 8));

			bits -= 8;
			r = buf_append(out, &byte, 1);
			if (r < 0)
				return r;
		}
	}
	/*
	 * Leftover bits must be the zero padding of a final partial group, and
	 * '=' may only complete that group: two after 2 chars, one after 3.
	 */
	if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
		return -EINVAL;
	if (pad && pad != (bits == 4 ? 2u : bits == 2 ? 1u : 0u))
		return -EINVAL;
	return 0;
}
