/* SPDX-License-Identifier: MIT */
/* The FUSE layer's memory of inodes that lost their name (fuse_departed.h). */
#include <errno.h>
#include <stdio.h>

#include "helpers.h"

#include "droverfs/fuse/fuse_departed.h"

#define SEC 1000000000ull

static void test_found_with_its_name(void **ctx)
{
	struct cfs_departed dp;
	const char *name;
	uint64_t parent;

	(void)ctx;
	cfs_departed_init(&dp);
	assert_int_equal(cfs_departed_find(&dp, 7, SEC, &parent, &name, NULL), -ENOENT);
	assert_int_equal(cfs_departed_add(&dp, 7, 1, "a.conf", SEC), 0);
	assert_int_equal(cfs_departed_add(&dp, 9, 3, "b", SEC), 0);
	assert_int_equal(cfs_departed_find(&dp, 7, 2 * SEC, &parent, &name, NULL), 0);
	assert_int_equal(parent, 1);
	assert_string_equal(name, "a.conf");
	assert_int_equal(cfs_departed_find(&dp, 9, 2 * SEC, &parent, &name, NULL), 0);
	assert_int_equal(parent, 3);
	assert_string_equal(name, "b");
	assert_int_equal(cfs_departed_find(&dp, 8, 2 * SEC, &parent, &name, NULL), -ENOENT);
	cfs_departed_free(&dp);
}

static void test_forgotten_after_the_ttl(void **ctx)
{
	struct cfs_departed dp;
	const char *name;
	uint64_t parent;

	(void)ctx;
	cfs_departed_init(&dp);
	assert_int_equal(cfs_departed_add(&dp, 7, 1, "old", SEC), 0);
	assert_int_equal(cfs_departed_add(&dp, 8, 1, "new", SEC + CFS_DEPARTED_TTL_NS / 2), 0);
	assert_int_equal(cfs_departed_find(&dp, 7, SEC + CFS_DEPARTED_TTL_NS, &parent, &name, NULL),
			 0);
	assert_int_equal(
		cfs_departed_find(&dp, 7, 2 * SEC + CFS_DEPARTED_TTL_NS, &parent, &name, NULL),
		-ENOENT);
	assert_int_equal(dp.count, 1);
	assert_int_equal(
		cfs_departed_find(&dp, 8, 2 * SEC + CFS_DEPARTED_TTL_NS, &parent, &name, NULL), 0);
	assert_string_equal(name, "new");
	cfs_departed_free(&dp);
}

static void test_bounded(void **ctx)
{
	struct cfs_departed dp;
	const char *name;
	uint64_t parent;
	char buf[32];

	(void)ctx;
	cfs_departed_init(&dp);
	for (uint64_t i = 1; i <= CFS_DEPARTED_MAX + 10; i++) {
		snprintf(buf, sizeof(buf), "f%llu", (unsigned long long)i);
		assert_int_equal(cfs_departed_add(&dp, i, 1, buf, SEC), 0);
	}
	assert_int_equal(dp.count, CFS_DEPARTED_MAX);
	/* the oldest went first */
	assert_int_equal(cfs_departed_find(&dp, 10, SEC, &parent, &name, NULL), -ENOENT);
	assert_int_equal(cfs_departed_find(&dp, 11, SEC, &parent, &name, NULL), 0);
	assert_string_equal(name, "f11");
	assert_int_equal(cfs_departed_find(&dp, CFS_DEPARTED_MAX + 10, SEC, &parent, &name, NULL),
			 0);
	cfs_departed_free(&dp);
}

/* An inode recorded twice (renamed away, then the record of its unlink): the newest counts. */
static void test_newest_record_wins(void **ctx)
{
	struct cfs_departed dp;
	const char *name;
	uint64_t parent, when;

	(void)ctx;
	cfs_departed_init(&dp);
	assert_int_equal(cfs_departed_add(&dp, 5, 1, "first", SEC), 0);
	assert_int_equal(cfs_departed_add(&dp, 5, 2, "second", 2 * SEC), 0);
	assert_int_equal(cfs_departed_find(&dp, 5, 3 * SEC, &parent, &name, &when), 0);
	assert_int_equal(when, 2 * SEC);
	assert_int_equal(parent, 2);
	assert_string_equal(name, "second");
	cfs_departed_free(&dp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_found_with_its_name),
		cmocka_unit_test(test_forgotten_after_the_ttl),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_newest_record_wins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
