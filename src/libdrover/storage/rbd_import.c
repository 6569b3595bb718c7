/* SPDX-License-Identifier: MIT */
/*
 * Import of a stream into an rbd volume: "rbd diff v1" (full: into a new
 * image; incremental: onto the image at its base snapshot) or raw+size
 * (into a new image). The stream is trusted in nothing: the decoder
 * (rbd_diff.c) checks every record against the image size the stream
 * declared, and what is written is written inside that image only.
 *
 * Data goes out with up to RBD_IO_DEPTH writes in flight; runs of zero
 * blocks are skipped on a new image (it reads as zeroes already) and
 * written as zeroes on an existing one. On any failure, a short stream
 * included, a new image is removed again, and an existing one is rolled
 * back to its base snapshot: the volume is as before, never half-written.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/util.h"
#include "rbd_diff.h"
#include "rbd_image.h"
#include "rbd_import.h"
#include "rbd_snap.h"

#define READ_BUF (1u << 20) /* bytes read from the stream at once */
#define ZERO_BLOCK 4096 /* granularity of the zero runs skipped */
#define RBD_IMPORT_PREFIX "drover-import." /* a new image until it is complete */

struct slot {
	rbd_completion_t c;
	char *buf; /* NULL: a write of zeroes */
	uint64_t off, len;
};

struct importer {
	struct storage *s;
	const struct storage_import_opts *o;
	const char *volname; /* as asked for */
	char final[STORAGE_VOLNAME_MAX]; /* the volume's name in the end */
	char name[STORAGE_VOLNAME_MAX + sizeof(RBD_IMPORT_PREFIX)]; /* the image written */
	rbd_image_t img;
	bool open; /* img is open */
	bool created; /* the image is ours: on failure it goes */
	bool thin; /* the image was new: zeroes need no writing */
	bool rollback; /* an existing image was written: on failure back to its base */
	bool snap_made; /* the end snapshot is ours: on failure it goes */
	/* the stream's metadata */
	char from[RBD_DIFF_NAME_MAX + 1], to[RBD_DIFF_NAME_MAX + 1];
	char to_id[RBD_DIFF_NAME_MAX + 1], from_id[RBD_DIFF_NAME_MAX + 1];
	uint64_t size;
	bool begun; /* the image is open for the data */
	/* the data record being staged into bigger writes */
	char *stage;
	uint64_t stage_off;
	size_t stage_len;
	/* writes in flight, oldest first */
	struct slot ring[RBD_IO_DEPTH];
	size_t head, count;
	/* progress */
	const struct drover_reporter *rep;
	uint64_t bytes_in, total, start_ns, last_report_ns;
	struct drover_err *err;
};

static int failf(struct importer *x, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The error, prefixed with what is being imported. */
static int failf(struct importer *x, int r, const char *fmt, ...)
{
	char text[DROVER_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return drover_fail(x->err, r, "rbd import into %s/%s: %s", x->s->props.pool, x->volname,
			   text);
}

/* ---- writes in flight --------------------------------------------------- */

static int reap_one(struct importer *x)
{
	struct slot *sl = &x->ring[x->head];
	ssize_t r;

	rbd_aio_wait_for_complete(sl->c);
	r = rbd_aio_get_return_value(sl->c);
	rbd_aio_release(sl->c);
	free(sl->buf);
	x->head = (x->head + 1) % RBD_IO_DEPTH;
	x->count--;
	if (r < 0)
		return failf(x, (int)r, "writing %" PRIu64 "+%" PRIu64 ": %s", sl->off, sl->len,
			     strerror((int)-r));
	return 0;
}

/* Wait for every write in flight; the first error. */
static int drain(struct importer *x)
{
	int r = 0;

	while (x->count) {
		int e = reap_one(x);

		r = r ? r : e;
	}
	return r;
}

/* Start writing len bytes at off: data (copied) or, with data NULL, zeroes. */
static int submit(struct importer *x, uint64_t off, const char *data, size_t len)
{
	struct slot *sl;
	int r;

	if (x->count == RBD_IO_DEPTH && (r = reap_one(x)) < 0)
		return r;
	sl = &x->ring[(x->head + x->count) % RBD_IO_DEPTH];
	*sl = (struct slot){ .off = off, .len = len };
	if (data) {
		sl->buf = malloc(len);
		if (!sl->buf)
			return failf(x, -ENOMEM, "out of memory");
		memcpy(sl->buf, data, len);
	}
	r = rbd_aio_create_completion(NULL, NULL, &sl->c);
	if (r == 0) {
		r = data ? rbd_aio_write2(x->img, off, len, sl->buf, sl->c,
					  LIBRADOS_OP_FLAG_FADVISE_NOCACHE)
			 : rbd_aio_write_zeroes(x->img, off, len, sl->c, 0, 0);
		if (r < 0)
			rbd_aio_release(sl->c);
	}
	if (r < 0) {
		free(sl->buf);
		return failf(x, r, "writing %" PRIu64 "+%zu: %s", off, len, strerror(-r));
	}
	x->count++;
	return 0;
}

/* Zeroes at off: nothing on a new image, a write of zeroes on one that had data. */
static int write_zero(struct importer *x, uint64_t off, uint64_t len)
{
	return x->thin ? 0 : submit(x, off, NULL, (size_t)len);
}

/* Write the staged bytes, as runs of data and runs of zero blocks. */
static int flush_stage(struct importer *x)
{
	size_t pos = 0;
	int r = 0;

	while (r == 0 && pos < x->stage_len) {
		size_t end = pos;
		bool zero =
			rbd_all_zero(x->stage + pos, MIN((size_t)ZERO_BLOCK, x->stage_len - pos));

		while (end < x->stage_len) {
			size_t n = MIN((size_t)ZERO_BLOCK, x->stage_len - end);

			if (rbd_all_zero(x->stage + end, n) != zero)
				break;
			end += n;
		}
		r = zero ? write_zero(x, x->stage_off + pos, end - pos)
			 : submit(x, x->stage_off + pos, x->stage + pos, end - pos);
		pos = end;
	}
	x->stage_off += x->stage_len;
	x->stage_len = 0;
	return r;
}

/* Data for the record being staged (contiguous with what is staged). */
static int stage_data(struct importer *x, const uint8_t *data, size_t len)
{
	int r = 0;

	while (r == 0 && len) {
		size_t n = MIN(len, (size_t)RBD_IO_CHUNK - x->stage_len);

		memcpy(x->stage + x->stage_len, data, n);
		x->stage_len += n;
		data += n;
		len -= n;
		if (x->stage_len == RBD_IO_CHUNK)
			r = flush_stage(x);
	}
	return r;
}

/* ---- the target image ----------------------------------------------------- */

/*
 * A new volume is written under a name no volume has ("drover-import.NAME")
 * and renamed only once complete: an importer killed half-way leaves no
 * half-written volume, and the next import into NAME clears its leftover.
 */
static int leftover_name(struct importer *x)
{
	if ((size_t)snprintf(x->name, sizeof(x->name), RBD_IMPORT_PREFIX "%s", x->final) >=
	    sizeof(x->name))
		return failf(x, -ENAMETOOLONG, "name too long");
	return 0;
}

static int clear_leftover(struct importer *x)
{
	int r = rbd_image_exists(x->s, x->name);

	if (r > 0) {
		drover_report_log(x->rep, "removing %s, left by an import that did not finish",
				  x->name);
		r = rbd_image_remove(x->s, x->name, x->err);
		if (r == -EBUSY)
			return failf(x, r,
				     "%s, left by another import, is still open: that import is "
				     "running, or died less than 30 s ago",
				     x->name);
	}
	return r < 0 ? failf(x, r, "%s: %s", x->name, strerror(-r)) : 0;
}

static int create_image(struct importer *x, uint64_t size)
{
	rbd_image_options_t opts;
	int r = rbd_image_exists(x->s, x->volname);

	if (r < 0)
		return failf(x, r, "%s", strerror(-r));
	if (r && !x->o->allow_rename)
		return failf(x, -EEXIST, "the volume exists already");
	snprintf(x->final, sizeof(x->final), "%s", x->volname);
	if (r) {
		unsigned vmid = rbd_name_owner(x->volname);

		if (!vmid)
			return failf(x, -EINVAL, "no owner in the name to pick a free one for");
		r = rbd_free_name(x->s, vmid, x->final, sizeof(x->final), x->err);
		if (r < 0)
			return r;
	}
	r = leftover_name(x);
	if (r == 0)
		r = clear_leftover(x);
	if (r < 0)
		return r;
	rbd_image_options_create(&opts);
	r = rbd_create4(rbd_store_of(x->s)->io, x->name, size, opts);
	rbd_image_options_destroy(opts);
	if (r < 0)
		return failf(x, r, "creating %s: %s", x->name, strerror(-r));
	x->created = true;
	x->thin = true;
	r = rbd_image_open(x->s, x->name, NULL, false, &x->img, x->err);
	x->open = r == 0;
	return r;
}

static int stop_at_first(uint64_t off, size_t len, int exists, void *arg)
{
	*(bool *)arg = true;
	return -ECANCELED;
}

/* Has the image's head been written since snapshot snap (or resized)? 1, 0 or <0. */
static int changed_since(struct importer *x, const char *snap)
{
	rbd_snap_info_t *snaps = NULL;
	uint64_t size, snap_size = 0;
	bool changed = false;
	int n = 0, r = rbd_get_size(x->img, &size);

	if (r == 0)
		r = rbd_snap_infos(x->img, &snaps, &n);
	for (int i = 0; r == 0 && i < n; i++)
		if (streq(snaps[i].name, snap))
			snap_size = snaps[i].size;
	rbd_snap_infos_free(snaps);
	if (r < 0)
		return r;
	if (snap_size != size)
		return 1;
	r = rbd_diff_iterate2(x->img, snap, 0, size, 1, 0, stop_at_first, &changed);
	if (r < 0 && r != -ECANCELED)
		return r;
	return changed;
}

/* An incremental stream: the image exists, at its base, without the end snapshot. */
static int open_incremental(struct importer *x)
{
	bool exists = false;
	int r;

	snprintf(x->name, sizeof(x->name), "%s", x->volname);
	snprintf(x->final, sizeof(x->final), "%s", x->volname);
	r = rbd_image_open(x->s, x->name, NULL, false, &x->img, x->err);
	if (r == -ENOENT)
		return failf(x, r, "the volume does not exist (an incremental stream needs it)");
	if (r < 0)
		return r;
	x->open = true;
	r = rbd_snap_exists(x->img, x->from, &exists);
	if (r == 0 && !exists)
		return failf(x, -ENOENT, "the volume has no snapshot '%s' (the stream's base)",
			     x->from);
	if (r == 0 && x->to[0] && (r = rbd_snap_exists(x->img, x->to, &exists)) == 0 && exists)
		return failf(x, -EEXIST, "snapshot '%s' exists already", x->to);
	if (r == 0 && (r = rbd_image_in_use(x->img)) > 0)
		return failf(x, -EBUSY, "the volume is in use (a guest has it open)");
	/*
	 * The diff applies to the base's data. A head written since (or only
	 * rolled back to it: rbd cannot tell the two apart) goes back to the
	 * base first, as `zfs recv -F` does: the volume is a replica.
	 */
	if (r == 0 && (r = changed_since(x, x->from)) > 0) {
		drover_report_log(x->rep, "rolling %s back to '%s': its head differs from it",
				  x->name, x->from);
		r = rbd_snap_rollback_with_progress(x->img, x->from, rbd_no_progress, NULL);
	}
	if (r < 0)
		return failf(x, r, "getting back to the base snapshot '%s': %s", x->from,
			     strerror(-r));
	x->rollback = true;
	return 0;
}

/* The metadata is complete (data or the end follows): check it, open the image. */
static int begin(struct importer *x)
{
	uint64_t cur;
	int r;

	x->begun = true;
	if (x->o->base && !x->from[0])
		return failf(x, -EINVAL, "the stream is a full one, not incremental from '%s'",
			     x->o->base);
	if (x->o->base && !streq(x->o->base, x->from))
		return failf(x, -EINVAL, "the stream starts at snapshot '%s', not at '%s'", x->from,
			     x->o->base);
	if (x->o->snapshot && !streq(x->o->snapshot, x->to))
		return failf(x, -EINVAL, "the stream brings snapshot '%s', not '%s'",
			     x->to[0] ? x->to : "(none)", x->o->snapshot);
	if (!x->from[0])
		return create_image(x, x->size);
	r = open_incremental(x);
	if (r == 0)
		r = rbd_get_size(x->img, &cur);
	if (r == 0 && cur != x->size) {
		/* the sender's size at the end snapshot, grown or shrunk */
		r = rbd_resize2(x->img, x->size, true, rbd_no_progress, NULL);
		if (r < 0)
			return failf(x, r, "resizing to %" PRIu64 ": %s", x->size, strerror(-r));
	}
	return r;
}

/* ---- the streams ---------------------------------------------------------- */

static int on_event(struct importer *x, const struct rbd_diff_event *ev)
{
	int r = 0;

	switch (ev->kind) {
	case RBD_DIFF_EV_FROM:
		snprintf(x->from, sizeof(x->from), "%s", ev->name);
		return 0;
	case RBD_DIFF_EV_TO:
		snprintf(x->to, sizeof(x->to), "%s", ev->name);
		return 0;
	case RBD_DIFF_EV_SIZE:
		x->size = ev->size;
		return 0;
	case RBD_DIFF_EV_IDS:
		snprintf(x->to_id, sizeof(x->to_id), "%s", ev->to_id);
		snprintf(x->from_id, sizeof(x->from_id), "%s", ev->from_id);
		return 0;
	default:
		break;
	}
	if (!x->begun)
		r = begin(x);
	if (r < 0)
		return r;
	switch (ev->kind) {
	case RBD_DIFF_EV_WRITE:
		/* what is staged is the last record's: write it, start staging this one */
		r = flush_stage(x);
		x->stage_off = ev->off;
		return r;
	case RBD_DIFF_EV_DATA:
		return stage_data(x, ev->data, (size_t)ev->len);
	case RBD_DIFF_EV_ZERO:
		r = flush_stage(x);
		return r < 0 ? r : write_zero(x, ev->off, ev->len);
	case RBD_DIFF_EV_END:
		r = flush_stage(x);
		return r < 0 ? r : drain(x);
	default:
		return 0;
	}
}

static ssize_t read_some(int fd, void *buf, size_t len)
{
	for (;;) {
		ssize_t n = read(fd, buf, len);

		if (n >= 0 || errno != EINTR)
			return n < 0 ? -errno : n;
	}
}

/* Read the stream to its end, handing each piece to eat (which fails with <0). */
static int read_stream(struct importer *x, int fd,
		       int (*eat)(struct importer *x, const uint8_t *in, size_t n, void *ctx),
		       void *ctx)
{
	uint8_t *buf = malloc(READ_BUF);
	int r = 0;

	if (!buf)
		return failf(x, -ENOMEM, "out of memory");
	while (r == 0) {
		ssize_t n = read_some(fd, buf, READ_BUF);

		if (n < 0)
			r = failf(x, (int)n, "reading the stream: %s", strerror((int)-n));
		if (n <= 0)
			break;
		x->bytes_in += (uint64_t)n;
		rbd_progress(x->rep, x->bytes_in, x->total, x->start_ns, &x->last_report_ns, false);
		r = eat(x, buf, (size_t)n, ctx);
	}
	free(buf);
	return r;
}

static int eat_diff(struct importer *x, const uint8_t *in, size_t n, void *ctx)
{
	struct rbd_diff_decoder *d = ctx;
	size_t pos = 0;
	int r = 0;

	while (r == 0 && pos < n) {
		struct rbd_diff_event ev;
		size_t used;
		int e = rbd_diff_decode(d, in + pos, n - pos, &used, &ev);

		pos += used;
		if (e < 0)
			r = failf(x, e, "bad stream: %s", d->error);
		else if (e == 1)
			r = on_event(x, &ev);
	}
	return r;
}

static int import_diff(struct importer *x, int fd)
{
	struct rbd_diff_decoder d;
	int r;

	rbd_diff_decoder_init(&d, 0);
	r = read_stream(x, fd, eat_diff, &d);
	if (r == 0 && (r = rbd_diff_decode_finish(&d)) < 0)
		r = failf(x, r, "bad stream: %s", d.error);
	return r;
}

/* raw+size: a little-endian u64 size, then exactly that many bytes. */
struct raw_state {
	uint8_t le[8];
	size_t have; /* bytes of le read */
	uint64_t got; /* bytes of data read */
};

/* The size is known: check it, create the image. */
static int raw_begin(struct importer *x, const struct raw_state *st)
{
	for (int i = 7; i >= 0; i--)
		x->size = x->size << 8 | st->le[i];
	if (x->size > RBD_DIFF_SIZE_MAX)
		return failf(x, -EBADMSG, "bad stream: a size of %" PRIu64 " bytes (at most %llu)",
			     x->size, (unsigned long long)RBD_DIFF_SIZE_MAX);
	x->total = x->size + sizeof(st->le);
	x->stage_off = 0;
	return begin(x);
}

static int eat_raw(struct importer *x, const uint8_t *in, size_t n, void *ctx)
{
	struct raw_state *st = ctx;
	size_t pos = 0;
	int r = 0;

	while (st->have < sizeof(st->le) && pos < n)
		st->le[st->have++] = in[pos++];
	if (st->have < sizeof(st->le))
		return 0;
	if (!x->begun && (r = raw_begin(x, st)) < 0)
		return r;
	if ((uint64_t)(n - pos) > x->size - st->got)
		return failf(x, -EBADMSG, "bad stream: more data than its size of %" PRIu64,
			     x->size);
	st->got += n - pos;
	return stage_data(x, in + pos, n - pos);
}

static int import_raw(struct importer *x, int fd)
{
	struct raw_state st = { .have = 0 };
	int r = read_stream(x, fd, eat_raw, &st);

	if (r == 0 && st.have < sizeof(st.le))
		r = failf(x, -EBADMSG, "bad stream: it ends inside its size field");
	if (r == 0 && st.got < x->size)
		r = failf(x, -EBADMSG, "bad stream: it ends after %" PRIu64 " of %" PRIu64 " bytes",
			  st.got, x->size);
	if (r == 0 && (r = flush_stage(x)) == 0)
		r = drain(x);
	return r;
}

/* ---- the end: keep, or undo ------------------------------------------------- */

static int commit(struct importer *x)
{
	char id[STORAGE_UUID_MAX], origin[STORAGE_UUID_MAX];
	uint64_t snap_id;
	int r = rbd_flush(x->img);

	if (r < 0)
		return failf(x, r, "flushing: %s", strerror(-r));
	/* the base must be the very snapshot the sender diffed from, not one of its name */
	if (x->from[0] && x->from_id[0]) {
		r = rbd_snap_get_id(x->img, x->from, &snap_id);
		if (r == 0)
			r = rbd_snap_ident_get(x->img, snap_id, id, origin);
		if (r < 0)
			return failf(x, r, "the id of snapshot '%s': %s", x->from, strerror(-r));
		if (!streq(id, x->from_id))
			return failf(
				x, -ESTALE,
				"snapshot '%s' here (id %s) is not the one the stream starts from (id %s)",
				x->from, id[0] ? id : "none", x->from_id);
	}
	if (x->to[0]) {
		r = rbd_snap_create_with_ident(x->img, x->name, x->to, x->to_id, x->to_id, x->err);
		if (r < 0)
			return r;
		x->snap_made = true;
	}
	return 0;
}

static void undo(struct importer *x)
{
	struct drover_err ignored, *err = x->err;

	/* what went wrong first is the error: the cleaning up says nothing */
	x->err = &ignored;
	drain(x);
	if (x->open && x->snap_made)
		rbd_snap_remove_with_ident(x->img, x->name, x->to, &ignored);
	if (x->open && x->rollback)
		rbd_snap_rollback_with_progress(x->img, x->from, rbd_no_progress, NULL);
	if (x->open) {
		rbd_close(x->img);
		x->open = false;
	}
	if (x->created)
		rbd_image_remove(x->s, x->name, &ignored);
	x->err = err;
}

int rbd_import(struct storage *s, const char *volname, enum storage_format fmt,
	       const struct storage_import_opts *o, int fd, char *imported, size_t len,
	       const struct drover_reporter *rep, struct drover_err *err)
{
	struct importer x = { .s = s, .o = o, .volname = volname, .rep = rep, .err = err };
	int r;

	if (fmt != STORAGE_FORMAT_RBD_DIFF && fmt != STORAGE_FORMAT_RAW_SIZE)
		return drover_fail(err, -EOPNOTSUPP, "rbd cannot import %s in format %s", volname,
				   rbd_format_name(fmt));
	if (fmt == STORAGE_FORMAT_RAW_SIZE && (o->base || o->snapshot || o->with_snapshots))
		return drover_fail(
			err, -EINVAL,
			"rbd import into %s: raw+size carries neither a base nor snapshots",
			volname);
	x.stage = malloc(RBD_IO_CHUNK);
	if (!x.stage)
		return drover_fail(err, -ENOMEM, "rbd import: out of memory");
	x.start_ns = now_monotonic_ns();
	r = fmt == STORAGE_FORMAT_RAW_SIZE ? import_raw(&x, fd) : import_diff(&x, fd);
	if (r == 0)
		r = commit(&x);
	if (r < 0) {
		undo(&x);
		free(x.stage);
		return r;
	}
	rbd_progress(rep, x.bytes_in, x.total, x.start_ns, &x.last_report_ns, true);
	if (o->delete_snapshot)
		r = rbd_snap_remove_with_ident(x.img, x.name, o->delete_snapshot, err);
	rbd_close(x.img);
	x.open = false;
	free(x.stage);
	if (r < 0 && x.created) {
		undo(&x);
		return drover_fail_prefix(err, r, "rbd import into %s/%s", s->props.pool, volname);
	}
	if (r < 0)
		return drover_fail_prefix(err, r, "rbd import into %s/%s: imported, but",
					  s->props.pool, x.final);
	if (x.created && (r = rbd_rename(rbd_store_of(s)->io, x.name, x.final)) < 0) {
		undo(&x);
		return drover_fail(err, r, "rbd import into %s/%s: renaming %s to %s: %s",
				   s->props.pool, volname, x.name, x.final, strerror(-r));
	}
	if (imported)
		snprintf(imported, len, "%s", x.final);
	drover_report_log(rep, "imported %s/%s (%s%s%s%s%s)", s->props.pool, x.final,
			  rbd_format_name(fmt), x.from[0] ? " from " : "", x.from,
			  x.to[0] ? " to " : "", x.to);
	return r;
}
