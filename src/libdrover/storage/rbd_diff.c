/* SPDX-License-Identifier: MIT */
/* The "rbd diff v1" stream: encoder and strict streaming decoder (see rbd_diff.h). */
#include "rbd_diff.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define BANNER_LEN (sizeof(RBD_DIFF_BANNER) - 1)
#define TRAILER_BANNER_LEN (sizeof(RBD_DIFF_TRAILER_BANNER) - 1)

/* Metadata tags seen (rbd_diff_encoder.seen, rbd_diff_decoder.seen). */
enum {
	SEEN_FROM = 1u << 0,
	SEEN_TO = 1u << 1,
	SEEN_SIZE = 1u << 2,
	SEEN_DATA = 1u << 3, /* a data record: no metadata any more */
	SEEN_TO_ID = 1u << 4, /* trailer */
	SEEN_FROM_ID = 1u << 5,
};

bool rbd_diff_name_valid(const char *s, size_t len)
{
	if (len == 0 || len > RBD_DIFF_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '+' || c == '-'))
			return false;
	}
	return true;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* ---- encoder ------------------------------------------------------------ */

enum { ENC_NEW, ENC_META, ENC_DATA, ENC_ENDED, ENC_DONE };

int rbd_diff_encode_begin(struct rbd_diff_encoder *e, struct buf *out)
{
	memset(e, 0, sizeof(*e));
	e->state = ENC_META;
	return buf_append(out, RBD_DIFF_BANNER, BANNER_LEN);
}

static int put_name(struct buf *out, char tag, const char *name)
{
	size_t n = strlen(name);
	uint8_t hdr[5];
	int r;

	if (!rbd_diff_name_valid(name, n))
		return -EINVAL;
	hdr[0] = (uint8_t)tag;
	put_le32(hdr + 1, (uint32_t)n);
	r = buf_append(out, hdr, sizeof(hdr));
	return r < 0 ? r : buf_append(out, name, n);
}

static int encode_meta(struct rbd_diff_encoder *e, struct buf *out, char tag, unsigned bit,
		       const char *name)
{
	int r;

	if (e->state != ENC_META || (e->seen & bit))
		return -EINVAL;
	r = put_name(out, tag, name);
	if (r == 0)
		e->seen |= bit;
	return r;
}

int rbd_diff_encode_from(struct rbd_diff_encoder *e, struct buf *out, const char *snap)
{
	return encode_meta(e, out, 'f', SEEN_FROM, snap);
}

int rbd_diff_encode_to(struct rbd_diff_encoder *e, struct buf *out, const char *snap)
{
	return encode_meta(e, out, 't', SEEN_TO, snap);
}

int rbd_diff_encode_size(struct rbd_diff_encoder *e, struct buf *out, uint64_t size)
{
	uint8_t rec[9];
	int r;

	if (e->state != ENC_META || (e->seen & SEEN_SIZE) || size > RBD_DIFF_SIZE_MAX)
		return -EINVAL;
	rec[0] = 's';
	put_le64(rec + 1, size);
	r = buf_append(out, rec, sizeof(rec));
	if (r == 0) {
		e->seen |= SEEN_SIZE;
		e->size = size;
	}
	return r;
}

static int encode_extent(struct rbd_diff_encoder *e, struct buf *out, char tag, uint64_t off,
			 uint64_t len)
{
	uint8_t rec[17];
	int r;

	if ((e->state != ENC_META && e->state != ENC_DATA) || !(e->seen & SEEN_SIZE))
		return -EINVAL;
	if (len == 0 || off < e->next || off > e->size || len > e->size - off)
		return -EINVAL;
	rec[0] = (uint8_t)tag;
	put_le64(rec + 1, off);
	put_le64(rec + 9, len);
	r = buf_append(out, rec, sizeof(rec));
	if (r == 0) {
		e->state = ENC_DATA;
		e->next = off + len;
	}
	return r;
}

int rbd_diff_encode_write(struct rbd_diff_encoder *e, struct buf *out, uint64_t off, uint64_t len)
{
	return encode_extent(e, out, 'w', off, len);
}

int rbd_diff_encode_zero(struct rbd_diff_encoder *e, struct buf *out, uint64_t off, uint64_t len)
{
	return encode_extent(e, out, 'z', off, len);
}

int rbd_diff_encode_end(struct rbd_diff_encoder *e, struct buf *out)
{
	int r;

	if ((e->state != ENC_META && e->state != ENC_DATA) || !(e->seen & SEEN_SIZE))
		return -EINVAL;
	r = buf_append(out, "e", 1);
	if (r == 0)
		e->state = ENC_ENDED;
	return r;
}

int rbd_diff_encode_ids(struct rbd_diff_encoder *e, struct buf *out, const char *to_id,
			const char *from_id)
{
	bool to = to_id && to_id[0], from = from_id && from_id[0];
	int r;

	if (e->state != ENC_ENDED || (to && !(e->seen & SEEN_TO)) ||
	    (from && !(e->seen & SEEN_FROM)))
		return -EINVAL;
	if (!to && !from)
		return 0;
	r = buf_append(out, RBD_DIFF_TRAILER_BANNER, TRAILER_BANNER_LEN);
	if (r == 0 && to)
		r = put_name(out, 'i', to_id);
	if (r == 0 && from)
		r = put_name(out, 'b', from_id);
	if (r == 0)
		r = buf_append(out, "e", 1);
	if (r == 0)
		e->state = ENC_DONE;
	return r;
}

/* ---- decoder ------------------------------------------------------------ */

enum {
	DEC_BANNER, /* collecting the banner */
	DEC_TAG, /* expecting a record tag */
	DEC_FIELDS, /* collecting the fixed fields of d->tag into hdr */
	DEC_NAME, /* collecting a name of hdr_want bytes */
	DEC_DATA, /* passing data through */
	DEC_ENDED, /* after 'e': EOF, or the trailer's banner */
	DEC_TRAILER_TAG,
	DEC_DONE, /* after the trailer: EOF only */
	DEC_FAILED,
};

static int fail(struct rbd_diff_decoder *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct rbd_diff_decoder *d, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	n = (size_t)snprintf(d->error, sizeof(d->error), "byte %llu: ", (unsigned long long)d->rec);
	if (n < sizeof(d->error)) {
		va_start(ap, fmt);
		vsnprintf(d->error + n, sizeof(d->error) - n, fmt, ap);
		va_end(ap);
	}
	d->state = DEC_FAILED;
	return -EBADMSG;
}

void rbd_diff_decoder_init(struct rbd_diff_decoder *d, uint64_t size_max)
{
	memset(d, 0, sizeof(*d));
	d->state = DEC_BANNER;
	d->hdr_want = BANNER_LEN;
	d->size_max = size_max ? size_max : RBD_DIFF_SIZE_MAX;
}

/* Copy input into hdr until hdr_want bytes are there; true when they are. */
static bool collect(struct rbd_diff_decoder *d, uint8_t *dst, const uint8_t *in, size_t len,
		    size_t *used)
{
	size_t n = MIN(len - *used, d->hdr_want - d->hdr_len);

	memcpy(dst + d->hdr_len, in + *used, n);
	d->hdr_len += n;
	*used += n;
	d->pos += n;
	return d->hdr_len == d->hdr_want;
}

static void expect(struct rbd_diff_decoder *d, unsigned state, size_t bytes)
{
	d->state = state;
	d->hdr_len = 0;
	d->hdr_want = bytes;
}

static const char *tag_name(uint8_t tag)
{
	switch (tag) {
	case 'f':
		return "start snapshot ('f')";
	case 't':
		return "end snapshot ('t')";
	case 's':
		return "image size ('s')";
	case 'i':
		return "snapshot id ('i')";
	case 'b':
		return "start snapshot id ('b')";
	default:
		return "record";
	}
}

static unsigned tag_bit(uint8_t tag)
{
	switch (tag) {
	case 'f':
		return SEEN_FROM;
	case 't':
		return SEEN_TO;
	case 's':
		return SEEN_SIZE;
	case 'i':
		return SEEN_TO_ID;
	case 'b':
		return SEEN_FROM_ID;
	default:
		return SEEN_DATA;
	}
}

/* A tag byte of the diff (not the trailer): check where it may stand, set up its fields. */
static int diff_tag(struct rbd_diff_decoder *d, uint8_t tag, struct rbd_diff_event *ev)
{
	d->tag = tag;
	switch (tag) {
	case 'f':
	case 't':
	case 's':
		if (d->seen & SEEN_DATA)
			return fail(d, "%s record after the data records", tag_name(tag));
		if (d->seen & tag_bit(tag))
			return fail(d, "a second %s record", tag_name(tag));
		expect(d, DEC_FIELDS, tag == 's' ? 8 : 4);
		return 0;
	case 'w':
	case 'z':
		if (!(d->seen & SEEN_SIZE))
			return fail(d, "a data record before the image size ('s')");
		expect(d, DEC_FIELDS, 16);
		return 0;
	case 'e':
		if (!(d->seen & SEEN_SIZE))
			return fail(d, "the end record before the image size ('s')");
		d->state = DEC_ENDED;
		d->hdr_len = 0;
		ev->kind = RBD_DIFF_EV_END;
		return 1;
	default:
		return fail(d, "unknown record tag 0x%02x", tag);
	}
}

static int trailer_tag(struct rbd_diff_decoder *d, uint8_t tag, struct rbd_diff_event *ev)
{
	d->tag = tag;
	switch (tag) {
	case 'i':
	case 'b':
		if (d->seen & tag_bit(tag))
			return fail(d, "a second %s record", tag_name(tag));
		if (!(d->seen & (tag == 'i' ? SEEN_TO : SEEN_FROM)))
			return fail(d, "%s record for a snapshot the diff does not name",
				    tag_name(tag));
		expect(d, DEC_FIELDS, 4);
		return 0;
	case 'e':
		d->state = DEC_DONE;
		ev->kind = RBD_DIFF_EV_IDS;
		ev->to_id = d->to_id;
		ev->from_id = d->from_id;
		return 1;
	default:
		return fail(d, "unknown trailer record tag 0x%02x", tag);
	}
}

/* The fixed fields of d->tag are in hdr. */
static int fields_done(struct rbd_diff_decoder *d, struct rbd_diff_event *ev)
{
	uint64_t off, len;

	switch (d->tag) {
	case 'f':
	case 't':
	case 'i':
	case 'b':
		len = get_le32(d->hdr);
		if (len == 0 || len > RBD_DIFF_NAME_MAX)
			return fail(d, "%s name of %llu bytes (1 to %d allowed)", tag_name(d->tag),
				    (unsigned long long)len, RBD_DIFF_NAME_MAX);
		expect(d, DEC_NAME, (size_t)len);
		return 0;
	case 's':
		d->size = get_le64(d->hdr);
		if (d->size > d->size_max)
			return fail(d, "image size %llu is larger than the %llu allowed",
				    (unsigned long long)d->size, (unsigned long long)d->size_max);
		d->seen |= SEEN_SIZE;
		expect(d, DEC_TAG, 0);
		ev->kind = RBD_DIFF_EV_SIZE;
		ev->size = d->size;
		return 1;
	default: /* 'w', 'z' */
		off = get_le64(d->hdr);
		len = get_le64(d->hdr + 8);
		if (len == 0)
			return fail(d, "an empty extent at %llu", (unsigned long long)off);
		if (off > d->size || len > d->size - off)
			return fail(d, "extent %llu+%llu ends beyond the image size %llu",
				    (unsigned long long)off, (unsigned long long)len,
				    (unsigned long long)d->size);
		if (off < d->next)
			return fail(d, "extent at %llu overlaps or precedes the one ending at %llu",
				    (unsigned long long)off, (unsigned long long)d->next);
		d->seen |= SEEN_DATA;
		d->next = off + len;
		ev->off = off;
		ev->len = len;
		if (d->tag == 'z') {
			expect(d, DEC_TAG, 0);
			ev->kind = RBD_DIFF_EV_ZERO;
			return 1;
		}
		d->state = DEC_DATA;
		d->data_off = off;
		d->data_left = len;
		ev->kind = RBD_DIFF_EV_WRITE;
		return 1;
	}
}

static int name_done(struct rbd_diff_decoder *d, struct rbd_diff_event *ev)
{
	bool trailer = d->tag == 'i' || d->tag == 'b';

	if (!rbd_diff_name_valid(d->name, d->hdr_len))
		return fail(d, "%s name is not 1 to %d of [A-Za-z0-9_.+-]", tag_name(d->tag),
			    RBD_DIFF_NAME_MAX);
	d->name[d->hdr_len] = '\0';
	d->seen |= tag_bit(d->tag);
	if (trailer)
		memcpy(d->tag == 'i' ? d->to_id : d->from_id, d->name, d->hdr_len + 1);
	expect(d, trailer ? DEC_TRAILER_TAG : DEC_TAG, 0);
	if (trailer)
		return 0;
	ev->kind = d->tag == 'f' ? RBD_DIFF_EV_FROM : RBD_DIFF_EV_TO;
	ev->name = d->name;
	return 1;
}

/* One step; 1: an event, 0: progress without one, <0: failure. */
static int step(struct rbd_diff_decoder *d, const uint8_t *in, size_t len, size_t *used,
		struct rbd_diff_event *ev)
{
	uint64_t n;
	uint8_t tag;

	switch (d->state) {
	case DEC_BANNER:
		if (!collect(d, d->hdr, in, len, used))
			return 0;
		if (memcmp(d->hdr, RBD_DIFF_BANNER, BANNER_LEN) != 0)
			return fail(d,
				    memcmp(d->hdr, "rbd diff v", 10) == 0
					    ? "only 'rbd diff v1' streams are supported"
					    : "not an rbd diff stream (no 'rbd diff v1' banner)");
		expect(d, DEC_TAG, 0);
		return 0;
	case DEC_TAG:
	case DEC_TRAILER_TAG:
		d->rec = d->pos;
		tag = in[(*used)++];
		d->pos++;
		return d->state == DEC_TAG ? diff_tag(d, tag, ev) : trailer_tag(d, tag, ev);
	case DEC_FIELDS:
		return collect(d, d->hdr, in, len, used) ? fields_done(d, ev) : 0;
	case DEC_NAME:
		return collect(d, (uint8_t *)d->name, in, len, used) ? name_done(d, ev) : 0;
	case DEC_DATA:
		n = MIN(d->data_left, (uint64_t)(len - *used));
		ev->kind = RBD_DIFF_EV_DATA;
		ev->off = d->data_off;
		ev->len = n;
		ev->data = in + *used;
		*used += (size_t)n;
		d->pos += n;
		d->data_off += n;
		d->data_left -= n;
		if (d->data_left == 0)
			expect(d, DEC_TAG, 0);
		return 1;
	case DEC_ENDED:
		/* only the trailer may follow; check it byte by byte as it comes */
		d->rec = d->pos;
		if (in[*used] != (uint8_t)RBD_DIFF_TRAILER_BANNER[d->hdr_len])
			return fail(d, "data after the end record");
		(*used)++;
		d->pos++;
		if (++d->hdr_len == TRAILER_BANNER_LEN)
			expect(d, DEC_TRAILER_TAG, 0);
		return 0;
	case DEC_DONE:
		d->rec = d->pos;
		return fail(d, "data after the trailer");
	default:
		return -EBADMSG;
	}
}

int rbd_diff_decode(struct rbd_diff_decoder *d, const uint8_t *in, size_t len, size_t *used,
		    struct rbd_diff_event *ev)
{
	int r = 0;

	*used = 0;
	if (d->state == DEC_FAILED)
		return -EBADMSG;
	while (r == 0 && *used < len)
		r = step(d, in, len, used, ev);
	return r;
}

int rbd_diff_decode_finish(struct rbd_diff_decoder *d)
{
	d->rec = d->pos;
	switch (d->state) {
	case DEC_FAILED:
		return -EBADMSG;
	case DEC_DONE:
		return 0;
	case DEC_ENDED:
		if (d->hdr_len == 0)
			return 0;
		return fail(d, "the stream ends inside the trailer");
	case DEC_DATA:
		return fail(d, "the stream ends %llu bytes short of the data record's end",
			    (unsigned long long)d->data_left);
	case DEC_BANNER:
		return fail(d, d->pos == 0 ? "the stream is empty"
					   : "the stream ends inside the banner");
	default:
		return fail(d, "the stream ends before its end record");
	}
}
