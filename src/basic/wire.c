/* SPDX-License-Identifier: MIT */
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void put(struct wire_writer *w, const void *data, size_t len)
{
	if (w->error)
		return;
	w->error = buf_append(w->out, data, len);
}

void wire_put_u8(struct wire_writer *w, uint8_t v)
{
	put(w, &v, 1);
}

void wire_put_u16(struct wire_writer *w, uint16_t v)
{
	unsigned char b[2] = { (unsigned char)v, (unsigned char)(v >> 8) };

	put(w, b, 2);
}

void wire_put_u32(struct wire_writer *w, uint32_t v)
{
	unsigned char b[4];

	le_put32(b, v);
	put(w, b, 4);
}

void wire_put_u64(struct wire_writer *w, uint64_t v)
{
	unsigned char b[8];

	le_put64(b, v);
	put(w, b, 8);
}

void wire_put_bytes(struct wire_writer *w, const void *data, size_t len)
{
	put(w, data, len);
}

void wire_put_blob(struct wire_writer *w, const void *data, size_t len)
{
	if (len > UINT32_MAX) {
		w->error = w->error ? w->error : -EFBIG;
		return;
	}
	wire_put_u32(w, (uint32_t)len);
	put(w, data, len);
}

void wire_put_str(struct wire_writer *w, const char *s)
{
	size_t len = s ? strlen(s) : 0;

	if (len > UINT16_MAX) {
		w->error = w->error ? w->error : -ENAMETOOLONG;
		return;
	}
	wire_put_u16(w, (uint16_t)len);
	put(w, s, len);
}

static const unsigned char *take(struct wire_reader *r, size_t len)
{
	const unsigned char *p;

	if (r->error)
		return NULL;
	if (len > r->left) {
		r->error = -EBADMSG;
		return NULL;
	}
	p = r->p;
	r->p += len;
	r->left -= len;
	return p;
}

uint8_t wire_get_u8(struct wire_reader *r)
{
	const unsigned char *p = take(r, 1);

	return p ? p[0] : 0;
}

uint16_t wire_get_u16(struct wire_reader *r)
{
	const unsigned char *p = take(r, 2);

	return p ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

uint32_t wire_get_u32(struct wire_reader *r)
{
	const unsigned char *p = take(r, 4);

	return p ? le_get32(p) : 0;
}

uint64_t wire_get_u64(struct wire_reader *r)
{
	const unsigned char *p = take(r, 8);

	return p ? le_get64(p) : 0;
}

const void *wire_get_bytes(struct wire_reader *r, size_t len)
{
	return take(r, len);
}

const void *wire_get_blob(struct wire_reader *r, size_t *len)
{
	uint32_t n = wire_get_u32(r);
	const void *p = take(r, n);

	*len = p ? n : 0;
	return p;
}

char *wire_get_str(struct wire_reader *r)
{
	uint16_t n = wire_get_u16(r);
	const unsigned char *p = take(r, n);
	char *s;

	if (!p)
		return NULL;
	if (memchr(p, '\0', n)) {
		r->error = -EBADMSG;
		return NULL;
	}
	s = malloc((size_t)n + 1);
	if (!s) {
		r->error = -ENOMEM;
		return NULL;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}
