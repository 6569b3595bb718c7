/* SPDX-License-Identifier: MIT */
#include "rawsize.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/fdio.h"
#include "basic/util.h"
#include "basic/wire.h"

#define BLOCK (64u * 1024)
#define CHUNK (1u << 20)

void rawsize_encode(unsigned char out[RAWSIZE_HEADER], uint64_t size)
{
	le_put64(out, size);
}

int rawsize_decode(const unsigned char in[RAWSIZE_HEADER], uint64_t *size, struct drover_err *err)
{
	uint64_t v = le_get64(in);

	if (v > RAWSIZE_MAX)
		return drover_fail(
			err, -EBADMSG,
			"the raw+size header says %llu bytes: more than any disk (damaged stream?)",
			(unsigned long long)v);
	*size = v;
	return 0;
}

int rawsize_read_header(int in, uint64_t *size, struct drover_err *err)
{
	unsigned char h[RAWSIZE_HEADER];
	ssize_t n = read_full(in, h, sizeof(h));

	if (n < 0)
		return drover_fail(err, (int)n, "reading the stream: %s", strerror((int)-n));
	if (n < (ssize_t)sizeof(h))
		return drover_fail(err, -EPIPE,
				   "the stream ended after %zd bytes, inside its raw+size header",
				   n);
	return rawsize_decode(h, size, err);
}

int rawsize_export(int src, uint64_t size, int out, struct drover_err *err)
{
	unsigned char h[RAWSIZE_HEADER];
	loff_t off = 0;
	char *buf = NULL;
	int r;

	rawsize_encode(h, size);
	r = write_all(out, h, sizeof(h));
	while (r == 0 && (uint64_t)off < size) {
		size_t want = (size_t)MIN(size - (uint64_t)off, CHUNK);
		ssize_t n = buf ? -1 : splice(src, &off, out, NULL, want, SPLICE_F_MORE);

		if (n < 0 && !buf && errno == EINVAL && !(buf = malloc(CHUNK)))
			r = -ENOMEM;
		if (r == 0 && buf) {
			/* out is no pipe: copy */
			n = pread(src, buf, want, off);
			if (n > 0 && (r = write_all(out, buf, (size_t)n)) == 0)
				off += n;
		}
		if (r == 0 && n < 0 && errno != EINTR)
			r = -errno;
		else if (r == 0 && n == 0)
			r = -ENODATA; /* the file shrank under us */
	}
	free(buf);
	if (r == -ENODATA)
		return drover_fail(err, -EIO, "the volume shrank to %llu bytes while it was read",
				   (unsigned long long)off);
	if (r < 0)
		return drover_fail(err, r, "writing the stream: %s", strerror(-r));
	return 0;
}

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int rawsize_import_data(int in, uint64_t size, int dst, struct drover_err *err)
{
	unsigned char *buf = malloc(CHUNK), extra;
	uint64_t off = 0;
	int r = buf ? 0 : -ENOMEM;

	while (r == 0 && off < size) {
		ssize_t n = read_full(in, buf, (size_t)MIN(size - off, CHUNK));

		if (n < 0) {
			r = drover_fail(err, (int)n, "reading the stream: %s", strerror((int)-n));
			break;
		}
		if (n == 0) {
			r = drover_fail(
				err, -EPIPE,
				"the stream ended after %llu of its %llu bytes (the sender died?)",
				(unsigned long long)off, (unsigned long long)size);
			break;
		}
		/* blocks of zeroes stay holes in the new file */
		for (size_t b = 0; r == 0 && b < (size_t)n; b += BLOCK) {
			size_t len = MIN(BLOCK, (size_t)n - b);

			if (!all_zero(buf + b, len))
				r = pwrite_all(dst, buf + b, len, (long long)(off + b));
		}
		if (r < 0) {
			r = drover_fail(err, r, "writing the volume: %s", strerror(-r));
			break;
		}
		off += (uint64_t)n;
	}
	if (r == 0) {
		ssize_t n = read_full(in, &extra, 1);

		if (n < 0)
			r = drover_fail(err, (int)n, "reading the stream: %s", strerror((int)-n));
		else if (n > 0)
			r = drover_fail(
				err, -EBADMSG,
				"the stream has more data than its raw+size header says (%llu bytes)",
				(unsigned long long)size);
	}
	free(buf);
	return r == -ENOMEM && buf == NULL ? drover_fail(err, r, "out of memory") : r;
}
