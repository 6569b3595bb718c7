/* SPDX-License-Identifier: MIT */
/* Open-file handles: buffered writes, append mode, commits, truncation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"

#include "droverfs/core/handles.h"

static struct cfs_blob *blob(const char *s)
{
	return cfs_blob_new(s, strlen(s));
}

static const char *view(const struct cfs_handle *h)
{
	static char buf[4096];
	size_t n = cfs_handle_read(h, 0, buf, sizeof(buf) - 1);

	buf[n] = '\0';
	return buf;
}

static void test_read_only(void **ctx)
{
	struct cfs_blob *b = blob("hello");
	struct cfs_handle *h = cfs_handle_new(CFS_HANDLE_FILE, 5, b);
	struct cfs_op op;
	char buf[4];

	(void)ctx;
	cfs_blob_unref(b); /* the handle pins its own reference */
	assert_int_equal(cfs_handle_size(h), 5);
	assert_string_equal(view(h), "hello");
	assert_int_equal(cfs_handle_read(h, 3, buf, sizeof(buf)), 2);
	assert_int_equal(cfs_handle_read(h, 9, buf, sizeof(buf)), 0);
	assert_false(cfs_handle_commit_op(h, &op));
	cfs_handle_free(h);
}

static void test_overwrite_and_commit(void **ctx)
{
	struct cfs_blob *b = blob("hello world");
	struct cfs_handle *h = cfs_handle_new(CFS_HANDLE_FILE, 5, b);
	struct cfs_blob *now;
	struct cfs_op op;

	(void)ctx;
	h->writable = true;
	assert_int_equal(cfs_handle_write(h, 0, "J", 1, 100), 1);
	assert_int_equal(cfs_handle_write(h, 13, "!", 1, 100), 1);
	assert_int_equal(cfs_handle_size(h), 14);
	/* the base content is untouched: others still see it */
	assert_memory_equal(b->data, "hello world", 11);
	assert_true(cfs_handle_commit_op(h, &op));
	assert_int_equal(op.kind, CFS_OP_WRITE);
	assert_int_equal(op.flags, CFS_WRITE_REPLACE);
	assert_int_equal(op.ino, 5);
	assert_int_equal(op.size, 14);
	assert_memory_equal(op.data, "Jello world\0\0!", 14);
	now = cfs_blob_new(op.data, op.size);
	cfs_handle_committed(h, now);
	cfs_blob_unref(now);
	assert_false(h->dirty);
	assert_false(cfs_handle_commit_op(h, &op));
	assert_int_equal(cfs_handle_size(h), 14);
	cfs_blob_unref(b);
	cfs_handle_free(h);
}

static void test_write_during_commit_stays_dirty(void **ctx)
{
	struct cfs_handle *h = cfs_handle_new(CFS_HANDLE_FILE, 5, NULL);
	struct cfs_blob *now;
	struct cfs_op op;

	(void)ctx;
	h->writable = true;
	assert_int_equal(cfs_handle_write(h, 0, "ab", 2, 100), 2);
	assert_true(cfs_handle_commit_op(h, &op));
	now = cfs_blob_new("ab", 2);
	/* another write lands before the commit completes */
	assert_int_equal(cfs_handle_write(h, 2, "c", 1, 100), 1);
	cfs_handle_committed(h, now);
	cfs_blob_unref(now);
	assert_true(h->dirty);
	assert_string_equal(view(h), "abc");
	assert_true(cfs_handle_commit_op(h, &op));
	assert_int_equal(op.size, 3);
	cfs_handle_free(h);
}

static void test_append(void **ctx)
{
	struct cfs_blob *b = blob("line1\n");
	struct cfs_handle *h = cfs_handle_new(CFS_HANDLE_FILE, 5, b);
	struct cfs_blob *now;
	struct cfs_op op;

	(void)ctx;
	h->writable = true;
	h->append = true;
	/* the offset the kernel passes is ignored: an append is an append */
	assert_int_equal(cfs_handle_write(h, 0, "line2\n", 6, 100), 6);
	assert_string_equal(view(h), "line1\nline2\n");
	assert_true(cfs_handle_commit_op(h, &op));
	assert_int_equal(op.flags, CFS_WRITE_APPEND);
	assert_int_equal(op.size, 6);
	/* someone else appended meanwhile: our bytes go after theirs */
	now = blob("line1\nother\nline2\n");
	assert_int_equal(cfs_handle_write(h, 0, "line3\n", 6, 100), 6);
	cfs_handle_committed(h, now);
	cfs_blob_unref(now);
	assert_true(h->dirty);
	assert_string_equal(view(h), "line1\nother\nline2\nline3\n");
	assert_true(cfs_handle_commit_op(h, &op));
	assert_int_equal(op.size, 6);
	assert_memory_equal(op.data, "line3\n", 6);
	cfs_blob_unref(b);
	cfs_handle_free(h);
}

static void test_truncate_and_limits(void **ctx)
{
	struct cfs_blob *b = blob("abcdef");
	struct cfs_handle *h = cfs_handle_new(CFS_HANDLE_FILE, 5, b);
	struct cfs_handle *e = cfs_handle_new(CFS_HANDLE_FILE, 6, NULL);
	struct cfs_op op;

	(void)ctx;
	h->writable = e->writable = true;
	h->append = true;
	assert_int_equal(cfs_handle_write(h, 0, "gh", 2, 100), 2);
	/* truncating an append handle makes its content whole */
	assert_int_equal(cfs_handle_truncate(h, 4, 100), 0);
	assert_string_equal(view(h), "abcd");
	assert_int_equal(cfs_handle_truncate(h, 6, 100), 0);
	assert_int_equal(cfs_handle_size(h), 6);
	assert_int_equal(cfs_handle_truncate(h, 101, 100), -EFBIG);
	assert_int_equal(cfs_handle_write(h, 95, "123456", 6, 100), -EFBIG);
	assert_int_equal(cfs_handle_write(h, 94, "123456", 6, 100), 6);
	assert_true(cfs_handle_commit_op(h, &op));
	assert_int_equal(op.flags, CFS_WRITE_REPLACE);
	assert_int_equal(op.size, 100);
	/* O_TRUNC of an empty file changes nothing: no commit */
	cfs_handle_truncate_at_open(e);
	assert_false(cfs_handle_commit_op(e, &op));
	/* ... of a full one is a commit of the empty content */
	cfs_handle_truncate_at_open(h);
	assert_true(cfs_handle_commit_op(h, &op));
	assert_int_equal(op.size, 0);
	cfs_blob_unref(b);
	cfs_handle_free(h);
	cfs_handle_free(e);
}

/* A failed write fails the handle: nothing of it is committed, ever. */
static void test_failed_write_commits_nothing(void **ctx)
{
	struct cfs_blob *b = blob("old");
	struct cfs_handle *h = cfs_handle_new(CFS_HANDLE_FILE, 5, b);
	struct cfs_op op;

	(void)ctx;
	h->writable = true;
	cfs_handle_truncate_at_open(h);
	assert_false(h->wrote); /* the open's O_TRUNC is not a write */
	assert_int_equal(cfs_handle_write(h, 0, "1234", 4, 8), 4);
	assert_true(h->wrote);
	assert_true(cfs_handle_pending(h));
	assert_int_equal(cfs_handle_write(h, 4, "56789", 5, 8), -EFBIG);
	cfs_handle_fail(h, -EFBIG);
	assert_false(cfs_handle_pending(h));
	assert_false(cfs_handle_commit_op(h, &op));
	/* later writes and truncations report it; a second error does not replace it */
	assert_int_equal(cfs_handle_write(h, 0, "x", 1, 8), -EFBIG);
	assert_int_equal(cfs_handle_truncate(h, 0, 8), -EFBIG);
	cfs_handle_fail(h, -ENOSPC);
	assert_int_equal(h->error, -EFBIG);
	assert_false(cfs_handle_commit_op(h, &op));
	/* the committed content was never touched */
	assert_memory_equal(b->data, "old", 3);
	cfs_blob_unref(b);
	cfs_handle_free(h);
}

/* An orphan (its file removed while open) keeps working on its own copy, commits nothing. */
static void test_orphan_keeps_its_content(void **ctx)
{
	struct cfs_blob *b = blob("committed");
	struct cfs_handle *h = cfs_handle_new(CFS_HANDLE_FILE, 5, b);
	struct cfs_handle *a = cfs_handle_new(CFS_HANDLE_FILE, 5, b);
	struct cfs_op op;

	(void)ctx;
	cfs_blob_unref(b);
	h->writable = a->writable = true;
	a->append = true;
	assert_int_equal(cfs_handle_write(h, 0, "C", 1, 100), 1);
	assert_int_equal(cfs_handle_write(a, 0, "+1", 2, 100), 2);
	cfs_handle_orphan(h);
	cfs_handle_orphan(a);
	assert_false(cfs_handle_pending(h));
	assert_string_equal(view(h), "Committed");
	assert_string_equal(view(a), "committed+1");
	assert_int_equal(cfs_handle_truncate(h, 3, 100), 0);
	assert_int_equal(cfs_handle_write(h, 3, "!", 1, 100), 1);
	assert_int_equal(cfs_handle_write(a, 0, "2", 1, 100), 1);
	assert_string_equal(view(h), "Com!");
	assert_string_equal(view(a), "committed+12");
	assert_false(cfs_handle_commit_op(h, &op));
	assert_false(cfs_handle_commit_op(a, &op));
	/* the limit still holds for its writes */
	assert_int_equal(cfs_handle_write(h, 99, "ab", 2, 100), -EFBIG);
	cfs_handle_free(h);
	cfs_handle_free(a);
}

static void test_dirents(void **ctx)
{
	struct cfs_handle *h = cfs_handle_new(CFS_HANDLE_DIR, 1, NULL);
	char name[16];

	(void)ctx;
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "e%d", i);
		assert_int_equal(cfs_handle_add_dirent(h, (uint64_t)i + 2, 0100000, name), 0);
	}
	assert_int_equal(h->ndirents, 200);
	assert_string_equal(h->dirents[199].name, "e199");
	cfs_handle_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_overwrite_and_commit),
		cmocka_unit_test(test_write_during_commit_stays_dirty),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_truncate_and_limits),
		cmocka_unit_test(test_failed_write_commits_nothing),
		cmocka_unit_test(test_orphan_keeps_its_content),
		cmocka_unit_test(test_dirents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
