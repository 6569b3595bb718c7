/* SPDX-License-Identifier: MIT */
/*
 * Ceph's "rbd diff v1" stream (what `rbd export-diff` writes and `rbd
 * import-diff` reads), as bytes: an encoder and a streaming decoder, with no
 * librbd in sight. All integers are little-endian:
 *
 *   "rbd diff v1\n"
 *   'f' le32 n, name        the snapshot the diff starts from (incremental only)
 *   't' le32 n, name        the snapshot the diff ends at (when one is exported)
 *   's' le64 size           the image size at the end (always)
 *   'w' le64 off, le64 len, len bytes     data
 *   'z' le64 off, le64 len                zeroes
 *   'e'
 *
 * The metadata records (f, t, s) come first, in any order; the data records
 * follow. drover appends a trailer after the 'e' that carries the identity
 * of the snapshots (`rbd import-diff` stops reading at 'e' and never sees it):
 *
 *   "drover rbd-diff ids v1\n"
 *   'i' le32 n, id          the id of the 't' snapshot on the sender
 *   'b' le32 n, id          the id of the 'f' snapshot on the sender
 *   'e'
 *
 * The decoder trusts nothing. On top of what Ceph checks it requires: the
 * banner exactly; each metadata record at most once and before any data;
 * 's' before any data or the end; a size within the caller's bound; every
 * extent non-empty, inside the image and after the one before (export-diff
 * writes them in order; nothing may be written twice); names and ids of
 * bounded length and a plain alphabet; and nothing after the end but one
 * well-formed trailer. Any violation is an error with the byte offset.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/buf.h"

#define RBD_DIFF_BANNER "rbd diff v1\n"
#define RBD_DIFF_TRAILER_BANNER "drover rbd-diff ids v1\n"
#define RBD_DIFF_NAME_MAX 63 /* bytes of a snapshot name or id, without NUL */
#define RBD_DIFF_SIZE_MAX (1ull << 50) /* 1 PiB: the largest image a stream may declare */
#define RBD_DIFF_ERR_MAX 160

/* A snapshot name or id as the stream allows it: 1..RBD_DIFF_NAME_MAX of [A-Za-z0-9_.+-]. */
bool rbd_diff_name_valid(const char *s, size_t len);

/*
 * The encoder appends records to a buffer and refuses (-EINVAL) a record
 * out of order, so drover never writes a stream its own decoder would
 * refuse. A 'w' record is its header; the caller appends its len bytes of
 * data before the next record.
 */
struct rbd_diff_encoder {
	unsigned state; /* private */
	unsigned seen; /* private: metadata tags put */
	uint64_t size; /* private */
	uint64_t next; /* private: end of the last extent */
};

/* Starts the stream: puts the banner. 0 or -ENOMEM. */
int rbd_diff_encode_begin(struct rbd_diff_encoder *e, struct buf *out);
int rbd_diff_encode_from(struct rbd_diff_encoder *e, struct buf *out, const char *snap);
int rbd_diff_encode_to(struct rbd_diff_encoder *e, struct buf *out, const char *snap);
int rbd_diff_encode_size(struct rbd_diff_encoder *e, struct buf *out, uint64_t size);
int rbd_diff_encode_write(struct rbd_diff_encoder *e, struct buf *out, uint64_t off, uint64_t len);
int rbd_diff_encode_zero(struct rbd_diff_encoder *e, struct buf *out, uint64_t off, uint64_t len);
int rbd_diff_encode_end(struct rbd_diff_encoder *e, struct buf *out);
/* After the end: the trailer with the ids (either may be NULL or ""; both: no trailer). */
int rbd_diff_encode_ids(struct rbd_diff_encoder *e, struct buf *out, const char *to_id,
			const char *from_id);

enum rbd_diff_event_kind {
	RBD_DIFF_EV_FROM, /* name: the start snapshot */
	RBD_DIFF_EV_TO, /* name: the end snapshot */
	RBD_DIFF_EV_SIZE, /* size */
	RBD_DIFF_EV_WRITE, /* off, len: a data record begins; DATA events bring its bytes */
	RBD_DIFF_EV_DATA, /* off, data, len: the next piece of the data record */
	RBD_DIFF_EV_ZERO, /* off, len */
	RBD_DIFF_EV_END, /* the 'e' record: the diff is complete (a trailer may follow) */
	RBD_DIFF_EV_IDS, /* to_id, from_id: the trailer, complete */
};

struct rbd_diff_event {
	enum rbd_diff_event_kind kind;
	const char *name; /* FROM, TO: NUL-terminated, valid until the next call */
	uint64_t size;
	uint64_t off, len;
	const uint8_t *data; /* DATA: points into the caller's input */
	const char *to_id, *from_id; /* IDS: "" when absent */
};

struct rbd_diff_decoder {
	/* all private */
	unsigned state;
	unsigned seen;
	uint8_t tag;
	uint8_t hdr[32];
	size_t hdr_len, hdr_want;
	char name[RBD_DIFF_NAME_MAX + 1];
	size_t name_len;
	char to_id[RBD_DIFF_NAME_MAX + 1], from_id[RBD_DIFF_NAME_MAX + 1];
	uint64_t size_max, size;
	uint64_t next; /* end of the last extent */
	uint64_t data_off, data_left; /* the data record being read */
	uint64_t pos; /* bytes consumed so far */
	uint64_t rec; /* where the record being read began */
	char error[RBD_DIFF_ERR_MAX];
};

/* size_max: the largest image size accepted (0: RBD_DIFF_SIZE_MAX). */
void rbd_diff_decoder_init(struct rbd_diff_decoder *d, uint64_t size_max);

/*
 * Feed bytes. Consumes some of in (*used) and returns 1 with an event in ev,
 * 0 when it consumed all of in without completing one (feed more), or
 * -EBADMSG with the reason in d->error (sticky: every later call fails too).
 */
int rbd_diff_decode(struct rbd_diff_decoder *d, const uint8_t *in, size_t len, size_t *used,
		    struct rbd_diff_event *ev);

/*
 * The input ended. 0 when the stream was complete (its end record seen, and
 * any trailer whole); -EBADMSG with the reason in d->error otherwise.
 */
int rbd_diff_decode_finish(struct rbd_diff_decoder *d);
