/* SPDX-License-Identifier: MIT */
/*
 * Export of an rbd volume as a stream: "rbd diff v1" (full or incremental
 * between two snapshots, what `rbd export-diff` writes, plus drover's
 * trailer with the snapshots' ids) or raw+size. The changed extents come
 * from rbd_diff_iterate2; their data is read with up to RBD_IO_DEPTH reads
 * in flight and written to the stream in order. An extent that reads as
 * zeroes goes out as a zero record, as export-diff does.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "basic/array.h"
#include "basic/buf.h"
#include "basic/util.h"
#include "rbd_diff.h"
#include "rbd_export.h"
#include "rbd_image.h"
#include "rbd_snap.h"

/* One piece of the output, in stream order: zeroes, or data read by an aio request. */
struct piece {
	uint64_t off, len;
	bool read; /* data to read; false: zeroes */
	rbd_completion_t c;
	char *buf;
};

struct exporter {
	struct storage *s;
	const char *volname;
	rbd_image_t img;
	int fd;
	enum storage_format fmt;
	struct rbd_diff_encoder enc;
	struct buf hdr; /* record headers on their way to fd */
	/* the extents to send (diff_iterate2's, or the whole image) */
	struct piece *ext;
	size_t next, n, cap;
	uint64_t ext_off; /* how far into ext[next] the pieces have been cut */
	/* pieces in flight, a ring in stream order */
	struct piece ring[RBD_IO_DEPTH];
	size_t head, count;
	/* progress */
	const struct drover_reporter *rep;
	uint64_t done, total, start_ns, last_report_ns;
	struct drover_err *err;
};

static int add_extent(uint64_t off, size_t len, int exists, void *arg)
{
	struct exporter *x = arg;

	if (len == 0)
		return 0;
	if (ARRAY_GROW(x->ext, x->cap, x->n + 1) < 0)
		return -ENOMEM;
	x->ext[x->n++] = (struct piece){ .off = off, .len = len, .read = exists != 0 };
	x->total += len;
	return 0;
}

static int flush_hdr(struct exporter *x)
{
	int r = write_all(x->fd, x->hdr.data, x->hdr.len);

	buf_clear(&x->hdr);
	if (r < 0)
		return drover_fail(x->err, r, "rbd export of %s: writing the stream: %s",
				   x->volname, strerror(-r));
	return 0;
}

/* Cut the next piece (at most RBD_IO_CHUNK) off the extents and start reading it. */
static int start_piece(struct exporter *x)
{
	struct piece *e = &x->ext[x->next];
	struct piece *p = &x->ring[(x->head + x->count) % RBD_IO_DEPTH];
	int r;

	*p = (struct piece){ .off = e->off + x->ext_off, .read = e->read };
	p->len = e->read ? MIN(e->len - x->ext_off, (uint64_t)RBD_IO_CHUNK) : e->len;
	x->ext_off += p->len;
	if (x->ext_off == e->len) {
		x->next++;
		x->ext_off = 0;
	}
	x->count++;
	if (!p->read)
		return 0;
	p->buf = malloc(p->len);
	if (!p->buf)
		return drover_fail(x->err, -ENOMEM, "rbd export: out of memory");
	r = rbd_aio_create_completion(NULL, NULL, &p->c);
	if (r == 0) {
		r = rbd_aio_read2(x->img, p->off, p->len, p->buf, p->c,
				  LIBRADOS_OP_FLAG_FADVISE_SEQUENTIAL |
					  LIBRADOS_OP_FLAG_FADVISE_NOCACHE);
		if (r < 0) {
			rbd_aio_release(p->c);
			p->c = NULL;
		}
	}
	if (r < 0)
		return drover_fail(x->err, r, "rbd export of %s: reading at %" PRIu64 ": %s",
				   x->volname, p->off, strerror(-r));
	return 0;
}

/* Wait for a piece's read (if any) and forget the request. */
static int finish_read(struct exporter *x, struct piece *p)
{
	ssize_t got;

	if (!p->c)
		return 0;
	rbd_aio_wait_for_complete(p->c);
	got = rbd_aio_get_return_value(p->c);
	rbd_aio_release(p->c);
	p->c = NULL;
	if (got < 0)
		return drover_fail(x->err, (int)got, "rbd export of %s: reading at %" PRIu64 ": %s",
				   x->volname, p->off, strerror((int)-got));
	if ((uint64_t)got != p->len)
		return drover_fail(x->err, -EIO,
				   "rbd export of %s: short read at %" PRIu64 " (%zd of %" PRIu64
				   " bytes)",
				   x->volname, p->off, got, p->len);
	return 0;
}

/* Write the oldest piece to the stream. */
static int emit_piece(struct exporter *x, struct piece *p)
{
	bool zero;
	int r = finish_read(x, p);

	if (r < 0)
		return r;
	zero = !p->read || rbd_all_zero(p->buf, p->len);
	if (x->fmt == STORAGE_FORMAT_RAW_SIZE) {
		r = write_all(x->fd, p->buf, p->len);
		if (r < 0)
			return drover_fail(x->err, r, "rbd export of %s: writing the stream: %s",
					   x->volname, strerror(-r));
	} else {
		r = zero ? rbd_diff_encode_zero(&x->enc, &x->hdr, p->off, p->len)
			 : rbd_diff_encode_write(&x->enc, &x->hdr, p->off, p->len);
		if (r < 0)
			return drover_fail(x->err, r, "rbd export of %s: encoding at %" PRIu64,
					   x->volname, p->off);
		r = flush_hdr(x);
		if (r == 0 && !zero && (r = write_all(x->fd, p->buf, p->len)) < 0)
			return drover_fail(x->err, r, "rbd export of %s: writing the stream: %s",
					   x->volname, strerror(-r));
	}
	x->done += p->len;
	rbd_progress(x->rep, x->done, x->total, x->start_ns, &x->last_report_ns,
		     x->done == x->total);
	return r;
}

static void drop_piece(struct piece *p)
{
	if (p->c) {
		/* a read still in flight writes into buf: wait before freeing it */
		rbd_aio_wait_for_complete(p->c);
		rbd_aio_release(p->c);
		p->c = NULL;
	}
	free(p->buf);
	p->buf = NULL;
}

/* Every extent, in order, through the ring of reads. */
static int pump(struct exporter *x)
{
	int r = 0;

	while (r == 0 && (x->next < x->n || x->count)) {
		struct piece *p;

		while (r == 0 && x->next < x->n && x->count < RBD_IO_DEPTH)
			r = start_piece(x);
		if (r < 0 || !x->count)
			break;
		p = &x->ring[x->head];
		r = emit_piece(x, p);
		drop_piece(p);
		x->head = (x->head + 1) % RBD_IO_DEPTH;
		x->count--;
	}
	while (x->count) {
		drop_piece(&x->ring[x->head]);
		x->head = (x->head + 1) % RBD_IO_DEPTH;
		x->count--;
	}
	return r;
}

/* The identity of snapshot snap of the open image ("" when it has none). */
static int snap_id_of(struct exporter *x, const char *snap, char id[STORAGE_UUID_MAX])
{
	char origin[STORAGE_UUID_MAX];
	uint64_t snap_id;
	int r = rbd_snap_get_id(x->img, snap, &snap_id);

	if (r == 0)
		r = rbd_snap_ident_get(x->img, snap_id, id, origin);
	if (r == -ENOENT)
		return drover_fail(x->err, r, "rbd export of %s: no snapshot '%s'", x->volname,
				   snap);
	if (r < 0)
		return drover_fail(x->err, r, "rbd export of %s: the id of snapshot '%s': %s",
				   x->volname, snap, strerror(-r));
	/* an id the stream cannot carry (not drover's) travels as none */
	if (!rbd_diff_name_valid(id, strlen(id)))
		id[0] = '\0';
	return 0;
}

static int diff_header(struct exporter *x, const struct storage_export_opts *o, uint64_t size)
{
	int r = rbd_diff_encode_begin(&x->enc, &x->hdr);

	if (r == 0 && o->base)
		r = rbd_diff_encode_from(&x->enc, &x->hdr, o->base);
	if (r == 0 && o->snapshot)
		r = rbd_diff_encode_to(&x->enc, &x->hdr, o->snapshot);
	if (r == 0)
		r = rbd_diff_encode_size(&x->enc, &x->hdr, size);
	if (r < 0)
		return drover_fail(
			x->err, r,
			"rbd export of %s: a snapshot name the stream cannot carry, or a size beyond %llu",
			x->volname, (unsigned long long)RBD_DIFF_SIZE_MAX);
	return flush_hdr(x);
}

static int export_diff(struct exporter *x, const struct storage_export_opts *o, uint64_t size)
{
	char to_id[STORAGE_UUID_MAX] = "", from_id[STORAGE_UUID_MAX] = "";
	int r = 0;

	if (o->snapshot)
		r = snap_id_of(x, o->snapshot, to_id);
	if (r == 0 && o->base)
		r = snap_id_of(x, o->base, from_id);
	if (r == 0) {
		r = rbd_diff_iterate2(x->img, o->base, 0, size, 1, 0, add_extent, x);
		if (r < 0)
			return drover_fail(x->err, r, "rbd export of %s: diff from '%s': %s",
					   x->volname, o->base ? o->base : "(nothing)",
					   strerror(-r));
	}
	if (r == 0)
		r = diff_header(x, o, size);
	if (r == 0)
		r = pump(x);
	if (r < 0)
		return r;
	r = rbd_diff_encode_end(&x->enc, &x->hdr);
	if (r == 0)
		r = rbd_diff_encode_ids(&x->enc, &x->hdr, to_id, from_id);
	if (r < 0)
		return drover_fail(x->err, r, "rbd export of %s: encoding the end", x->volname);
	return flush_hdr(x);
}

static int export_raw(struct exporter *x, uint64_t size)
{
	uint8_t le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(size >> (8 * i));
	if (buf_append(&x->hdr, le, sizeof(le)) < 0)
		return drover_fail(x->err, -ENOMEM, "rbd export: out of memory");
	if (flush_hdr(x) < 0)
		return -EIO;
	/* the whole image, holes included: raw+size has no other way to say "zero" */
	x->total = 0;
	for (uint64_t off = 0; off < size; off += RBD_IO_CHUNK)
		if (add_extent(off, (size_t)MIN(size - off, (uint64_t)RBD_IO_CHUNK), 1, x) < 0)
			return drover_fail(x->err, -ENOMEM, "rbd export: out of memory");
	return pump(x);
}

int rbd_export(struct storage *s, const char *volname, enum storage_format fmt,
	       const struct storage_export_opts *o, int fd, const struct drover_reporter *rep,
	       struct drover_err *err)
{
	struct exporter x = { .s = s,
			      .volname = volname,
			      .fd = fd,
			      .fmt = fmt,
			      .rep = rep,
			      .err = err,
			      .hdr = BUF_INIT };
	uint64_t size;
	int r;

	if (fmt != STORAGE_FORMAT_RBD_DIFF && fmt != STORAGE_FORMAT_RAW_SIZE)
		return drover_fail(err, -EOPNOTSUPP, "rbd cannot export %s in format %s", volname,
				   rbd_format_name(fmt));
	if (fmt == STORAGE_FORMAT_RAW_SIZE && (o->base || o->with_snapshots))
		return drover_fail(
			err, -EINVAL,
			"rbd export of %s: raw+size carries neither a base nor snapshots", volname);
	/* the snapshot is a fixed state; the head (no snapshot) is read as it is now */
	r = rbd_image_open(s, volname, o->snapshot, true, &x.img, err);
	if (r < 0)
		return r;
	r = rbd_get_size(x.img, &size);
	if (r < 0)
		drover_fail(err, r, "rbd export of %s: size: %s", volname, strerror(-r));
	x.start_ns = now_monotonic_ns();
	if (r == 0)
		r = fmt == STORAGE_FORMAT_RAW_SIZE ? export_raw(&x, size)
						   : export_diff(&x, o, size);
	if (r == 0)
		drover_report_log(rep, "exported %s (%s%s%s%s%s): %" PRIu64 " bytes of data",
				  volname, rbd_format_name(fmt), o->base ? " from " : "",
				  o->base ? o->base : "", o->snapshot ? " to " : "",
				  o->snapshot ? o->snapshot : "", x.done);
	rbd_close(x.img);
	free(x.ext);
	buf_free(&x.hdr);
	return r;
}
