/* SPDX-License-Identifier: MIT */
/* A growable byte buffer. The buffer owns its memory; buf_free() releases it. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct buf {
	unsigned char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT           \
	{                  \
		NULL, 0, 0 \
	}

void buf_free(struct buf *b);

/* Make room for at least `extra` more bytes. Returns 0 or -ENOMEM. */
int buf_reserve(struct buf *b, size_t extra) WARN_UNUSED;

int buf_append(struct buf *b, const void *data, size_t len) WARN_UNUSED;

/* Append printf-formatted text (no NUL is counted in len). Returns 0 or -ENOMEM. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3))) WARN_UNUSED;

/* Make the contents a C string (a NUL after len, not counted). Returns 0 or -ENOMEM. */
int buf_terminate(struct buf *b) WARN_UNUSED;

/* Drop the first n bytes (consumed input). */
void buf_consume(struct buf *b, size_t n);

static inline void buf_clear(struct buf *b)
{
	b->len = 0;
}

/* Take the memory out of the buffer; the caller frees it. */
unsigned char *buf_steal(struct buf *b, size_t *len);
