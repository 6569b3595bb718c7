/* SPDX-License-Identifier: MIT */
/*
 * SHA-1 (FIPS 180-4), for the digests Proxmox's formats use to detect
 * concurrent edits (the SHA-1 hex of a config file). Not for security.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SHA1_DIGEST_SIZE 20
#define SHA1_HEX_SIZE (2 * SHA1_DIGEST_SIZE + 1)

struct sha1_ctx {
	uint32_t h[5];
	uint64_t bytes; /* message length so far */
	unsigned char block[64];
	size_t fill; /* bytes waiting in block */
};

void sha1_init(struct sha1_ctx *c);
void sha1_update(struct sha1_ctx *c, const void *data, size_t len);
void sha1_final(struct sha1_ctx *c, unsigned char out[SHA1_DIGEST_SIZE]);

/* The lower-case hex SHA-1 of data into hex (SHA1_HEX_SIZE bytes with the NUL). */
void sha1_hex(const void *data, size_t len, char hex[SHA1_HEX_SIZE]);
