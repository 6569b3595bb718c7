/* SPDX-License-Identifier: MIT */
/* The operation codec: round trips, and malformed or newer input refused. */
#include <errno.h>

#include "helpers.h"

#include "basic/buf.h"

static void test_roundtrip(void **ctx)
{
	struct cfs_op op = { .kind = CFS_OP_RENAME,
			     .flags = CFS_RENAME_NOREPLACE,
			     .writer = 3,
			     .time_ns = -5,
			     .ino = 10,
			     .ino2 = 1ull << 40,
			     .arg = UINT64_MAX };
	struct cfs_op out;
	struct buf b = BUF_INIT;

	(void)ctx;
	strcpy(op.name, "a.conf");
	strcpy(op.name2, "b \xc3\xa4 weird\nname");
	op.data = "payload";
	op.size = 7;
	assert_int_equal(cfs_op_encode(&op, &b), 0);
	assert_int_equal(b.len, cfs_op_encoded_size(&op));
	assert_int_equal(cfs_op_decode(b.data, b.len, &out), 0);
	assert_int_equal(out.kind, op.kind);
	assert_int_equal(out.flags, op.flags);
	assert_int_equal(out.writer, 3);
	assert_int_equal(out.time_ns, -5);
	assert_int_equal(out.ino, 10);
	assert_int_equal(out.ino2, 1ull << 40);
	assert_true(out.arg == UINT64_MAX);
	assert_string_equal(out.name, "a.conf");
	assert_string_equal(out.name2, op.name2);
	assert_int_equal(out.size, 7);
	assert_memory_equal(out.data, "payload", 7);
	/* explicit little-endian: the kind is the second byte, ino at a fixed place */
	assert_int_equal(b.data[0], CFS_OP_CODEC_VERSION);
	assert_int_equal(b.data[1], CFS_OP_RENAME);
	assert_int_equal(b.data[2 + 4 + 4 + 8], 10);
	buf_free(&b);
}

static void test_malformed(void **ctx)
{
	struct cfs_op op = { .kind = CFS_OP_CREATE, .ino = 1 };
	struct cfs_op out;
	struct buf b = BUF_INIT;

	(void)ctx;
	strcpy(op.name, "x");
	assert_int_equal(cfs_op_encode(&op, &b), 0);
	/* every truncation is refused */
	for (size_t len = 0; len < b.len; len++)
		assert_int_equal(cfs_op_decode(b.data, len, &out), -EBADMSG);
	/* trailing garbage */
	assert_int_equal(buf_append(&b, "z", 1), 0);
	assert_int_equal(cfs_op_decode(b.data, b.len, &out), -EBADMSG);
	b.len--;
	/* a newer encoding is not guessed at */
	b.data[0] = CFS_OP_CODEC_VERSION + 1;
	assert_int_equal(cfs_op_decode(b.data, b.len, &out), -EPROTO);
	b.data[0] = CFS_OP_CODEC_VERSION;
	b.data[1] = 0;
	assert_int_equal(cfs_op_decode(b.data, b.len, &out), -EBADMSG);
	b.data[1] = CFS_OP_KIND_MAX + 1;
	assert_int_equal(cfs_op_decode(b.data, b.len, &out), -EBADMSG);
	b.data[1] = CFS_OP_CREATE;
	b.data[2] = 0x80; /* unknown flag */
	assert_int_equal(cfs_op_decode(b.data, b.len, &out), -EBADMSG);
	b.data[2] = 0;
	/* a name with a slash: the name is the last byte before the data length */
	b.data[b.len - 7] = '/';
	assert_int_equal(cfs_op_decode(b.data, b.len, &out), -EBADMSG);
	b.data[b.len - 7] = '\0';
	assert_int_equal(cfs_op_decode(b.data, b.len, &out), -EBADMSG);
	buf_free(&b);
}

static void test_set_name(void **ctx)
{
	char name[CFS_NAME_MAX + 1];
	char longname[300];

	(void)ctx;
	assert_int_equal(cfs_op_set_name(name, "ok"), 0);
	assert_int_equal(cfs_op_set_name(name, ""), -EINVAL);
	assert_int_equal(cfs_op_set_name(name, "a/b"), -EINVAL);
	memset(longname, 'a', 256);
	longname[256] = '\0';
	assert_int_equal(cfs_op_set_name(name, longname), -ENAMETOOLONG);
	assert_string_equal(cfs_op_kind_name(CFS_OP_UNLOCK), "unlock");
	assert_string_equal(cfs_op_kind_name(77), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_set_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
