/* SPDX-License-Identifier: MIT */
/* Lock ages with an injected clock: expiry, refresh, survival across a reload. */
#include "helpers.h"

#include "droverfs/core/locks.h"

#define SEC 1000000000ull

static uint64_t fake_clock(void *ctx)
{
	return *(uint64_t *)ctx;
}

static void test_expiry(void **ctx)
{
	struct cfs_locks l;
	uint64_t now = 1000 * SEC;

	(void)ctx;
	cfs_locks_init(&l, fake_clock, &now);
	assert_int_equal(cfs_locks_observe(&l, 42, 7), 0);
	now += 119 * SEC;
	assert_false(cfs_locks_expired(&l, 42, 7));
	assert_int_equal(cfs_locks_age_s(&l, 42, 7), 119);
	now += 2 * SEC;
	assert_true(cfs_locks_expired(&l, 42, 7));
	/* a refresh (a new version) starts the age again */
	assert_int_equal(cfs_locks_observe(&l, 42, 9), 0);
	assert_false(cfs_locks_expired(&l, 42, 9));
	now += 121 * SEC;
	assert_true(cfs_locks_expired(&l, 42, 9));
	/* asking about another version than the one seen also starts over */
	assert_false(cfs_locks_expired(&l, 42, 10));
	assert_int_equal(cfs_locks_age_s(&l, 42, 9), -1);
	cfs_locks_forget(&l, 42);
	assert_int_equal(cfs_locks_age_s(&l, 42, 10), -1);
	/* a lock never seen is never expired at first sight */
	assert_false(cfs_locks_expired(&l, 77, 1));
	cfs_locks_destroy(&l);
}

static void test_sync_keeps_ages(void **ctx)
{
	struct cfs_state st;
	struct cfs_locks l;
	uint64_t now = 5 * SEC;
	struct cfs_entry *a, *b;

	(void)ctx;
	init_state(&st);
	assert_int_equal(do_mkdir(&st, "priv"), 0);
	assert_int_equal(do_mkdir(&st, "priv/lock"), 0);
	assert_int_equal(do_mkdir(&st, "priv/lock/a"), 0);
	assert_int_equal(do_mkdir(&st, "priv/lock/b"), 0);
	a = at(&st, "priv/lock/a");
	cfs_locks_init(&l, fake_clock, &now);
	assert_int_equal(cfs_locks_observe(&l, a->inode, a->version), 0);
	assert_int_equal(cfs_locks_observe(&l, 999, 1), 0); /* gone from the tree */
	now += 100 * SEC;
	/* the tree was reloaded (or resynced): a keeps its age, b starts now */
	assert_int_equal(cfs_locks_sync(&l, &st.tree), 0);
	b = at(&st, "priv/lock/b");
	assert_int_equal(cfs_locks_age_s(&l, a->inode, a->version), 100);
	assert_int_equal(cfs_locks_age_s(&l, b->inode, b->version), 0);
	assert_int_equal(cfs_locks_age_s(&l, 999, 1), -1);
	now += 21 * SEC;
	assert_true(cfs_locks_expired(&l, a->inode, a->version));
	assert_false(cfs_locks_expired(&l, b->inode, b->version));
	cfs_locks_destroy(&l);
	cfs_state_destroy(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_sync_keeps_ages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
