/* SPDX-License-Identifier: MIT */
/* Standard base64 (RFC 4648, with padding), for keys and join strings on one line. */
#pragma once

#include <stddef.h>

#include "buf.h"

/* Append the encoding of data to out (no NUL). Returns 0 or -ENOMEM. */
int base64_encode(const void *data, size_t len, struct buf *out);

/*
 * Append the decoding of text[0..len) to out. Whitespace is skipped;
 * anything else that is not base64, or bad padding, is -EINVAL.
 */
int base64_decode(const char *text, size_t len, struct buf *out);
