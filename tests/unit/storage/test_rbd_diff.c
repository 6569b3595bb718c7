/* SPDX-License-Identifier: MIT */
/*
 * The "rbd diff v1" codec (libdrover/storage/rbd_diff): what the encoder
 * writes decodes to the same records however the bytes are split, the
 * encoder refuses records out of order, and the decoder refuses every kind
 * of broken or hostile stream with the byte offset of the fault.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "basic/buf.h"
#include "libdrover/storage/rbd_diff.h"

/* ---- helpers ------------------------------------------------------------ */

/* Append a textual record of ev to log ("to:s1 size:8192 w:0+4096 ..."). */
static void log_event(struct buf *log, const struct rbd_diff_event *ev, uint64_t *data_sum)
{
	int r = 0;

	switch (ev->kind) {
	case RBD_DIFF_EV_FROM:
		r = buf_printf(log, "from:%s ", ev->name);
		break;
	case RBD_DIFF_EV_TO:
		r = buf_printf(log, "to:%s ", ev->name);
		break;
	case RBD_DIFF_EV_SIZE:
		r = buf_printf(log, "size:%llu ", (unsigned long long)ev->size);
		break;
	case RBD_DIFF_EV_WRITE:
		r = buf_printf(log, "w:%llu+%llu ", (unsigned long long)ev->off,
			       (unsigned long long)ev->len);
		break;
	case RBD_DIFF_EV_DATA:
		/* pieces vary with the split: only their sum and content count */
		for (uint64_t i = 0; i < ev->len; i++)
			*data_sum = *data_sum * 31 + ev->data[i] + ((ev->off + i) & 0xff);
		break;
	case RBD_DIFF_EV_ZERO:
		r = buf_printf(log, "z:%llu+%llu ", (unsigned long long)ev->off,
			       (unsigned long long)ev->len);
		break;
	case RBD_DIFF_EV_END:
		r = buf_printf(log, "end ");
		break;
	case RBD_DIFF_EV_IDS:
		r = buf_printf(log, "ids:%s/%s ", ev->to_id, ev->from_id);
		break;
	}
	assert_int_equal(r, 0);
}

/*
 * Decode the bytes in pieces of `chunk` bytes (0: all at once). Returns the
 * decoder's result: 0 (complete) or -EBADMSG; the events in log, the error
 * in err.
 */
static int decode_chunked(const void *data, size_t len, size_t chunk, uint64_t size_max,
			  char *log_out, size_t log_len, uint64_t *data_sum, char *err,
			  size_t err_len)
{
	struct rbd_diff_decoder d;
	struct buf log = BUF_INIT;
	const uint8_t *p = data;
	size_t pos = 0;
	int r = 0;

	rbd_diff_decoder_init(&d, size_max);
	*data_sum = 0;
	while (r >= 0 && pos < len) {
		size_t n = chunk ? MIN(chunk, len - pos) : len - pos, off = 0;

		while (r >= 0 && off < n) {
			struct rbd_diff_event ev;
			size_t used;

			r = rbd_diff_decode(&d, p + pos + off, n - off, &used, &ev);
			assert_true(used <= n - off);
			off += used;
			if (r == 1)
				log_event(&log, &ev, data_sum);
			else if (r == 0)
				assert_int_equal(off, n); /* no event: everything consumed */
		}
		pos += n;
	}
	if (r >= 0)
		r = rbd_diff_decode_finish(&d);
	snprintf(err, err_len, "%s", r < 0 ? d.error : "");
	assert_int_equal(buf_terminate(&log), 0);
	snprintf(log_out, log_len, "%s", (char *)log.data);
	buf_free(&log);
	return r;
}

/* Decode at once; returns the error text ("" when the stream is fine). */
static const char *decode_error(const void *data, size_t len)
{
	static char err[RBD_DIFF_ERR_MAX];
	char log[1024];
	uint64_t sum;

	decode_chunked(data, len, 0, 0, log, sizeof(log), &sum, err, sizeof(err));
	return err;
}

/* A hand-made stream: bytes given as a string with explicit escapes. */
struct raw {
	uint8_t b[512];
	size_t n;
};

static void raw_bytes(struct raw *r, const void *p, size_t n)
{
	assert_true(r->n + n <= sizeof(r->b));
	memcpy(r->b + r->n, p, n);
	r->n += n;
}

static void raw_str(struct raw *r, const char *s)
{
	raw_bytes(r, s, strlen(s));
}

static void raw_u8(struct raw *r, uint8_t v)
{
	raw_bytes(r, &v, 1);
}

static void raw_le32(struct raw *r, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		raw_u8(r, (uint8_t)(v >> (8 * i)));
}

static void raw_le64(struct raw *r, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		raw_u8(r, (uint8_t)(v >> (8 * i)));
}

static void raw_name(struct raw *r, char tag, const char *name)
{
	raw_u8(r, (uint8_t)tag);
	raw_le32(r, (uint32_t)strlen(name));
	raw_str(r, name);
}

static void raw_extent(struct raw *r, char tag, uint64_t off, uint64_t len)
{
	raw_u8(r, (uint8_t)tag);
	raw_le64(r, off);
	raw_le64(r, len);
}

/* "rbd diff v1\n" and an 's' of size. */
static void raw_head(struct raw *r, uint64_t size)
{
	memset(r, 0, sizeof(*r));
	raw_str(r, RBD_DIFF_BANNER);
	raw_u8(r, 's');
	raw_le64(r, size);
}

/* The stream every round-trip test uses: incremental, with ids. */
static void encode_sample(struct buf *out)
{
	struct rbd_diff_encoder e;
	uint8_t data[5000];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(rbd_diff_encode_begin(&e, out), 0);
	assert_int_equal(rbd_diff_encode_from(&e, out, "__replicate_100-0_1700000000__"), 0);
	assert_int_equal(rbd_diff_encode_to(&e, out, "s2"), 0);
	assert_int_equal(rbd_diff_encode_size(&e, out, 1 << 20), 0);
	assert_int_equal(rbd_diff_encode_write(&e, out, 0, 4096), 0);
	assert_int_equal(buf_append(out, data, 4096), 0);
	assert_int_equal(rbd_diff_encode_zero(&e, out, 4096, 8192), 0);
	assert_int_equal(rbd_diff_encode_write(&e, out, 65536, sizeof(data)), 0);
	assert_int_equal(buf_append(out, data, sizeof(data)), 0);
	assert_int_equal(rbd_diff_encode_zero(&e, out, (1 << 20) - 512, 512), 0);
	assert_int_equal(rbd_diff_encode_end(&e, out), 0);
	assert_int_equal(rbd_diff_encode_ids(&e, out, "b3c1e0a2-1111-4222-8333-444455556666",
					     "0f9e8d7c-aaaa-4bbb-8ccc-ddddeeeeffff"),
			 0);
}

#define SAMPLE_LOG                                                                     \
	"from:__replicate_100-0_1700000000__ to:s2 size:1048576 w:0+4096 z:4096+8192 " \
	"w:65536+5000 z:1048064+512 end "                                              \
	"ids:b3c1e0a2-1111-4222-8333-444455556666/0f9e8d7c-aaaa-4bbb-8ccc-ddddeeeeffff "

/* ---- round trips -------------------------------------------------------- */

static void test_roundtrip_any_split(void **state)
{
	struct buf s = BUF_INIT;
	uint64_t sum0 = 0, sum;
	char log[1024], err[RBD_DIFF_ERR_MAX];
	static const size_t chunks[] = { 0, 1, 2, 3, 7, 16, 17, 100, 4097 };

	encode_sample(&s);
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		assert_int_equal(decode_chunked(s.data, s.len, chunks[i], 0, log, sizeof(log), &sum,
						err, sizeof(err)),
				 0);
		assert_string_equal(log, SAMPLE_LOG);
		if (i == 0)
			sum0 = sum;
		assert_true(sum == sum0); /* the same data at the same offsets */
	}
	buf_free(&s);
}

/* What `rbd export-diff` of a whole image writes: no 'f', no trailer. */
static void test_full_without_trailer(void **state)
{
	struct rbd_diff_encoder e;
	struct buf s = BUF_INIT;
	char log[256], err[RBD_DIFF_ERR_MAX];
	uint64_t sum;

	assert_int_equal(rbd_diff_encode_begin(&e, &s), 0);
	assert_int_equal(rbd_diff_encode_size(&e, &s, 8192), 0);
	assert_int_equal(rbd_diff_encode_to(&e, &s, "s1"), 0); /* metadata in any order */
	assert_int_equal(rbd_diff_encode_write(&e, &s, 0, 3), 0);
	assert_int_equal(buf_append(&s, "abc", 3), 0);
	assert_int_equal(rbd_diff_encode_end(&e, &s), 0);
	assert_int_equal(rbd_diff_encode_ids(&e, &s, NULL, ""), 0); /* nothing to say: no trailer */
	assert_int_equal(
		decode_chunked(s.data, s.len, 1, 0, log, sizeof(log), &sum, err, sizeof(err)), 0);
	assert_string_equal(log, "size:8192 to:s1 w:0+3 end ");
	buf_free(&s);
}

/* An empty diff (nothing changed between the snapshots) is a valid stream. */
static void test_empty_diff(void **state)
{
	struct raw r;

	raw_head(&r, 4096);
	raw_u8(&r, 'e');
	assert_string_equal(decode_error(r.b, r.n), "");
}

/* ---- the encoder refuses what the decoder would ------------------------- */

static void test_encoder_order(void **state)
{
	struct rbd_diff_encoder e;
	struct buf s = BUF_INIT;

	assert_int_equal(rbd_diff_encode_begin(&e, &s), 0);
	assert_int_equal(rbd_diff_encode_write(&e, &s, 0, 1), -EINVAL); /* no size yet */
	assert_int_equal(rbd_diff_encode_end(&e, &s), -EINVAL);
	assert_int_equal(rbd_diff_encode_to(&e, &s, "bad/name"), -EINVAL);
	assert_int_equal(rbd_diff_encode_to(&e, &s, ""), -EINVAL);
	assert_int_equal(rbd_diff_encode_size(&e, &s, RBD_DIFF_SIZE_MAX + 1), -EINVAL);
	assert_int_equal(rbd_diff_encode_size(&e, &s, 100), 0);
	assert_int_equal(rbd_diff_encode_size(&e, &s, 100), -EINVAL); /* twice */
	assert_int_equal(rbd_diff_encode_write(&e, &s, 0, 0), -EINVAL); /* empty */
	assert_int_equal(rbd_diff_encode_write(&e, &s, 90, 11), -EINVAL); /* beyond the size */
	assert_int_equal(rbd_diff_encode_write(&e, &s, UINT64_MAX, 2), -EINVAL); /* wraps */
	assert_int_equal(rbd_diff_encode_zero(&e, &s, 10, 10), 0);
	assert_int_equal(rbd_diff_encode_zero(&e, &s, 15, 1), -EINVAL); /* overlaps */
	assert_int_equal(rbd_diff_encode_to(&e, &s, "late"), -EINVAL); /* after data */
	assert_int_equal(rbd_diff_encode_ids(&e, &s, "x", NULL), -EINVAL); /* before the end */
	assert_int_equal(rbd_diff_encode_end(&e, &s), 0);
	assert_int_equal(rbd_diff_encode_ids(&e, &s, "x", NULL), -EINVAL); /* no 't' to name */
	assert_int_equal(rbd_diff_encode_zero(&e, &s, 50, 1), -EINVAL); /* after the end */
	buf_free(&s);
}

/* ---- hostile streams ----------------------------------------------------- */

/* Every proper prefix of a stream that is not cut right after its 'e' is refused. */
static void test_truncated_everywhere(void **state)
{
	struct buf s = BUF_INIT;
	size_t end_at = 0;

	encode_sample(&s);
	/* the diff proper ends at its 'e', before the trailer's banner */
	for (size_t i = 0; i + strlen(RBD_DIFF_TRAILER_BANNER) <= s.len; i++)
		if (memcmp(s.data + i, RBD_DIFF_TRAILER_BANNER, strlen(RBD_DIFF_TRAILER_BANNER)) ==
		    0)
			end_at = i;
	assert_true(end_at > 0);
	for (size_t n = 0; n < s.len; n++) {
		const char *err = decode_error(s.data, n);

		if (n == end_at)
			assert_string_equal(err, ""); /* a complete v1 diff without ids */
		else
			assert_true(strstr(err, "the stream ") != NULL);
	}
	assert_string_equal(decode_error(s.data, 0), "byte 0: the stream is empty");
	buf_free(&s);
}

static void test_bad_banner(void **state)
{
	struct raw r;

	memset(&r, 0, sizeof(r));
	raw_str(&r, "rbd diff v2\n");
	raw_u8(&r, 'e');
	assert_string_equal(decode_error(r.b, r.n),
			    "byte 0: only 'rbd diff v1' streams are supported");
	memset(&r, 0, sizeof(r));
	raw_str(&r, "btrfs-stream\0\1\0\0\0");
	assert_string_equal(decode_error(r.b, r.n),
			    "byte 0: not an rbd diff stream (no 'rbd diff v1' banner)");
}

static void test_unknown_tag(void **state)
{
	struct raw r;

	raw_head(&r, 4096);
	raw_u8(&r, 'p'); /* v2's protection record: has no place in v1 */
	raw_u8(&r, 1);
	raw_u8(&r, 'e');
	assert_string_equal(decode_error(r.b, r.n), "byte 21: unknown record tag 0x70");
}

static void test_extent_out_of_range(void **state)
{
	struct raw r;

	raw_head(&r, 8192);
	raw_extent(&r, 'z', 4096, 4097);
	raw_u8(&r, 'e');
	assert_string_equal(decode_error(r.b, r.n),
			    "byte 21: extent 4096+4097 ends beyond the image size 8192");

	/* an offset+length that wraps around 2^64 */
	raw_head(&r, 8192);
	raw_extent(&r, 'w', 4096, UINT64_MAX - 100);
	assert_string_equal(
		decode_error(r.b, r.n),
		"byte 21: extent 4096+18446744073709551515 ends beyond the image size 8192");

	raw_head(&r, 8192);
	raw_extent(&r, 'w', 8192, 1);
	assert_true(strstr(decode_error(r.b, r.n), "ends beyond the image size") != NULL);

	raw_head(&r, 8192);
	raw_extent(&r, 'z', 100, 0);
	raw_u8(&r, 'e');
	assert_string_equal(decode_error(r.b, r.n), "byte 21: an empty extent at 100");
}

static void test_extent_overlap_and_order(void **state)
{
	struct raw r;

	raw_head(&r, 1 << 20);
	raw_extent(&r, 'w', 0, 2);
	raw_str(&r, "ab");
	raw_extent(&r, 'z', 1, 10); /* overlaps the write */
	raw_u8(&r, 'e');
	assert_string_equal(decode_error(r.b, r.n),
			    "byte 40: extent at 1 overlaps or precedes the one ending at 2");

	raw_head(&r, 1 << 20);
	raw_extent(&r, 'z', 4096, 4096);
	raw_extent(&r, 'z', 0, 4096); /* backwards */
	raw_u8(&r, 'e');
	assert_true(strstr(decode_error(r.b, r.n), "overlaps or precedes") != NULL);

	/* adjacent is fine */
	raw_head(&r, 1 << 20);
	raw_extent(&r, 'z', 0, 4096);
	raw_extent(&r, 'z', 4096, 4096);
	raw_u8(&r, 'e');
	assert_string_equal(decode_error(r.b, r.n), "");
}

/* A data record's length may be huge within the size: the data must really follow. */
static void test_oversize_lengths(void **state)
{
	char log[512], err[RBD_DIFF_ERR_MAX];
	uint64_t sum;
	struct raw r;

	raw_head(&r, RBD_DIFF_SIZE_MAX);
	raw_extent(&r, 'w', 0, RBD_DIFF_SIZE_MAX);
	raw_str(&r, "only a few bytes");
	assert_string_equal(
		decode_error(r.b, r.n),
		"byte 54: the stream ends 1125899906842608 bytes short of the data record's end");

	/* the size itself is bounded, by default and by the caller */
	raw_head(&r, RBD_DIFF_SIZE_MAX + 1);
	raw_u8(&r, 'e');
	assert_string_equal(
		decode_error(r.b, r.n),
		"byte 12: image size 1125899906842625 is larger than the 1125899906842624 allowed");
	raw_head(&r, 1 << 20);
	raw_u8(&r, 'e');
	assert_int_equal(
		decode_chunked(r.b, r.n, 0, 4096, log, sizeof(log), &sum, err, sizeof(err)),
		-EBADMSG);
	assert_string_equal(err, "byte 12: image size 1048576 is larger than the 4096 allowed");

	/* a name length of 4 GiB is refused at once, before anything is read or kept */
	memset(&r, 0, sizeof(r));
	raw_str(&r, RBD_DIFF_BANNER);
	raw_u8(&r, 't');
	raw_le32(&r, UINT32_MAX);
	assert_string_equal(
		decode_error(r.b, r.n),
		"byte 12: end snapshot ('t') name of 4294967295 bytes (1 to 63 allowed)");
}

static void test_bad_names(void **state)
{
	struct raw r;

	memset(&r, 0, sizeof(r));
	raw_str(&r, RBD_DIFF_BANNER);
	raw_name(&r, 'f', "../../etc");
	assert_string_equal(decode_error(r.b, r.n),
			    "byte 12: start snapshot ('f') name is not 1 to 63 of [A-Za-z0-9_.+-]");

	memset(&r, 0, sizeof(r));
	raw_str(&r, RBD_DIFF_BANNER);
	raw_u8(&r, 't');
	raw_le32(&r, 3);
	raw_bytes(&r, "a\0b", 3);
	assert_true(strstr(decode_error(r.b, r.n), "name is not") != NULL);

	memset(&r, 0, sizeof(r));
	raw_str(&r, RBD_DIFF_BANNER);
	raw_u8(&r, 't');
	raw_le32(&r, 0);
	assert_true(strstr(decode_error(r.b, r.n), "name of 0 bytes") != NULL);
}

static void test_record_order(void **state)
{
	struct raw r;

	/* data before the size */
	memset(&r, 0, sizeof(r));
	raw_str(&r, RBD_DIFF_BANNER);
	raw_extent(&r, 'z', 0, 1);
	assert_string_equal(decode_error(r.b, r.n),
			    "byte 12: a data record before the image size ('s')");

	/* the end before the size */
	memset(&r, 0, sizeof(r));
	raw_str(&r, RBD_DIFF_BANNER);
	raw_u8(&r, 'e');
	assert_string_equal(decode_error(r.b, r.n),
			    "byte 12: the end record before the image size ('s')");

	/* metadata after data */
	raw_head(&r, 4096);
	raw_extent(&r, 'z', 0, 1);
	raw_name(&r, 't', "late");
	raw_u8(&r, 'e');
	assert_string_equal(decode_error(r.b, r.n),
			    "byte 38: end snapshot ('t') record after the data records");

	/* twice the same metadata */
	raw_head(&r, 4096);
	raw_u8(&r, 's');
	raw_le64(&r, 1 << 30);
	raw_u8(&r, 'e');
	assert_string_equal(decode_error(r.b, r.n), "byte 21: a second image size ('s') record");
}

static void test_after_end(void **state)
{
	struct buf s = BUF_INIT;
	struct raw r;

	raw_head(&r, 4096);
	raw_u8(&r, 'e');
	raw_str(&r, "drover rbd-diff ids v2\n");
	assert_string_equal(decode_error(r.b, r.n), "byte 43: data after the end record");

	raw_head(&r, 4096);
	raw_u8(&r, 'e');
	raw_u8(&r, 'e');
	assert_string_equal(decode_error(r.b, r.n), "byte 22: data after the end record");

	/* an id for a snapshot the diff does not name */
	raw_head(&r, 4096);
	raw_u8(&r, 'e');
	raw_str(&r, RBD_DIFF_TRAILER_BANNER);
	raw_name(&r, 'b', "abc");
	assert_string_equal(
		decode_error(r.b, r.n),
		"byte 45: start snapshot id ('b') record for a snapshot the diff does not name");

	/* anything after a complete trailer */
	encode_sample(&s);
	assert_int_equal(buf_append(&s, "x", 1), 0);
	assert_true(strstr(decode_error(s.data, s.len), "data after the trailer") != NULL);
	buf_free(&s);
}

/* After a failure every later call fails too, and finish says so. */
static void test_failure_is_sticky(void **state)
{
	struct rbd_diff_decoder d;
	struct rbd_diff_event ev;
	size_t used;

	rbd_diff_decoder_init(&d, 0);
	assert_int_equal(rbd_diff_decode(&d, (const uint8_t *)"garbage garbage", 15, &used, &ev),
			 -EBADMSG);
	assert_int_equal(rbd_diff_decode(&d, (const uint8_t *)RBD_DIFF_BANNER, 12, &used, &ev),
			 -EBADMSG);
	assert_int_equal(rbd_diff_decode_finish(&d), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_any_split),
		cmocka_unit_test(test_full_without_trailer),
		cmocka_unit_test(test_empty_diff),
		cmocka_unit_test(test_encoder_order),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_bad_banner),
		cmocka_unit_test(test_unknown_tag),
		cmocka_unit_test(test_extent_out_of_range),
		cmocka_unit_test(test_extent_overlap_and_order),
		cmocka_unit_test(test_oversize_lengths),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_record_order),
		cmocka_unit_test(test_after_end),
		cmocka_unit_test(test_failure_is_sticky),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
