/* SPDX-License-Identifier: MIT */
/*
 * Explicit little-endian encoding for everything drover writes to a socket
 * or a file: fixed-width integers and length-prefixed strings and blobs.
 *
 * Writers append to a struct buf and remember the first error; readers walk
 * a struct wire_reader and fail (return -EBADMSG) on any truncated or
 * malformed field instead of reading past the end.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct wire_writer {
	struct buf *out;
	int error; /* first error (-ENOMEM), sticky */
};

static inline void wire_writer_init(struct wire_writer *w, struct buf *out)
{
	w->out = out;
	w->error = 0;
}

void wire_put_u8(struct wire_writer *w, uint8_t v);
void wire_put_u16(struct wire_writer *w, uint16_t v);
void wire_put_u32(struct wire_writer *w, uint32_t v);
void wire_put_u64(struct wire_writer *w, uint64_t v);
void wire_put_bytes(struct wire_writer *w, const void *data, size_t len); /* raw, no length */
/* u32 length followed by the bytes. */
void wire_put_blob(struct wire_writer *w, const void *data, size_t len);
/* u16 length followed by the bytes, no NUL; NULL is written as an empty string. */
void wire_put_str(struct wire_writer *w, const char *s);

struct wire_reader {
	const unsigned char *p;
	size_t left;
	int error; /* -EBADMSG once anything was malformed, sticky */
};

static inline void wire_reader_init(struct wire_reader *r, const void *data, size_t len)
{
	r->p = data;
	r->left = len;
	r->error = 0;
}

uint8_t wire_get_u8(struct wire_reader *r);
uint16_t wire_get_u16(struct wire_reader *r);
uint32_t wire_get_u32(struct wire_reader *r);
uint64_t wire_get_u64(struct wire_reader *r);
/* Points into the reader's buffer; no copy. */
const void *wire_get_bytes(struct wire_reader *r, size_t len);
const void *wire_get_blob(struct wire_reader *r, size_t *len);
/*
 * Copies a u16-length string into a new NUL-terminated allocation owned by
 * the caller. Strings containing NUL bytes are malformed. Returns NULL on
 * error (r->error is set: -EBADMSG or -ENOMEM).
 */
char *wire_get_str(struct wire_reader *r);

/* Encode/decode helpers on raw memory. */
static inline void le_put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline uint16_t le_get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline void le_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static inline uint32_t le_get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void le_put64(unsigned char *p, uint64_t v)
{
	le_put32(p, (uint32_t)v);
	le_put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint64_t le_get64(const unsigned char *p)
{
	return (uint64_t)le_get32(p) | (uint64_t)le_get32(p + 4) << 32;
}
