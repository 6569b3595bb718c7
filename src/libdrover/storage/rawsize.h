/* SPDX-License-Identifier: MIT */
/*
 * The raw+size stream format (Proxmox's): an 8-byte little-endian size in
 * bytes, then exactly that many bytes of the raw image. The reader trusts
 * nothing: the size must be sane, the data exactly that long, and nothing
 * may follow it.
 */
#pragma once

#include <stdint.h>

#include "libdrover/error.h"

#define RAWSIZE_HEADER 8
/* A larger size in a header is a damaged or hostile stream, not a disk. */
#define RAWSIZE_MAX (1ull << 50)

void rawsize_encode(unsigned char out[RAWSIZE_HEADER], uint64_t size);
/* -EBADMSG (with err) for a size over RAWSIZE_MAX. */
int rawsize_decode(const unsigned char in[RAWSIZE_HEADER], uint64_t *size, struct drover_err *err);

/* Read the header from a stream. -EPIPE if it ends inside it. */
int rawsize_read_header(int in, uint64_t *size, struct drover_err *err);

/* The header, then size bytes of src (a file, from offset 0) into out. */
int rawsize_export(int src, uint64_t size, int out, struct drover_err *err);

/*
 * Read exactly size bytes from in into dst (a file of that size already:
 * blocks of zeroes are skipped, so it stays sparse), then require the end
 * of the stream. -EPIPE: it ended early; -EBADMSG: more data than size.
 */
int rawsize_import_data(int in, uint64_t size, int dst, struct drover_err *err);
