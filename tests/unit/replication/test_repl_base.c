/* SPDX-License-Identifier: MIT */
/*
 * Replication's decisions on snapshots and direction
 * (libdrover/replication/base, switch): which base an incremental run
 * starts from (pvesr's order, identity not names), what a run may delete,
 * and how jobs and their state turn around when a guest moves.
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

#include "libdrover/replication/base.h"
#include "libdrover/replication/job.h"
#include "repl_helpers.h"
#include "libdrover/replication/state.h"
#include "libdrover/replication/switch.h"

#define JOB "100-0"
#define T1 1717410600
#define T2 1717411500
#define T3 1717412400

/* A btrfs-like snapshot: its own UUID, and the UUID it was received from ("" if made here). */
static struct storage_snapshot bsnap(const char *name, int64_t ctime, const char *uuid,
				     const char *received)
{
	struct storage_snapshot s;

	memset(&s, 0, sizeof(s));
	snprintf(s.name, sizeof(s.name), "%s", name);
	s.ctime = ctime;
	snprintf(s.id, sizeof(s.id), "%s", uuid);
	snprintf(s.origin_id, sizeof(s.origin_id), "%s", received);
	return s;
}

/* A ZFS-like snapshot: the guid travels, so it is the same on both sides. */
static struct storage_snapshot zsnap(const char *name, int64_t ctime, const char *guid)
{
	return bsnap(name, ctime, guid, guid);
}

static const char *rs(int64_t t)
{
	static char names[8][STORAGE_SNAPNAME_MAX];
	static int next;
	char *n = names[next++ % 8];

	assert_int_equal(repl_snapname(JOB, t, n, STORAGE_SNAPNAME_MAX), 0);
	return n;
}

static struct repl_base select_base(int64_t last_sync, const char *parent,
				    const char *const *config, size_t n_config,
				    const struct storage_snapshot *local, size_t n_local,
				    const struct storage_snapshot *remote, size_t n_remote)
{
	struct repl_base_query q = {
		.jobid = JOB,
		.last_sync = last_sync,
		.parent = parent,
		.config_snaps = config,
		.n_config_snaps = n_config,
		.local = local,
		.n_local = n_local,
		.remote_has_volume = true,
		.remote = remote,
		.n_remote = n_remote,
	};
	struct repl_base b;

	repl_select_base(&q, &b);
	return b;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_identity(void **state)
{
	struct storage_snapshot a = bsnap("s", 1, "U1", ""), b = bsnap("s", 1, "U2", "U1");
	struct storage_snapshot c = bsnap("s", 1, "U3", "U1"), d = bsnap("s", 1, "U4", "");
	struct storage_snapshot none1 = bsnap("s", 1, "", ""), none2 = bsnap("s", 1, "", "");

	assert_true(repl_snapshot_same(&a, &b)); /* b received from a */
	assert_true(repl_snapshot_same(&b, &a)); /* the other way round, after a switch */
	assert_true(repl_snapshot_same(&b, &c)); /* both received from a */
	assert_false(repl_snapshot_same(&a, &d));
	assert_false(repl_snapshot_same(&b, &d));
	assert_false(repl_snapshot_same(&none1, &none2)); /* no identity, no match */
	a = zsnap("s", 1, "0x1234");
	b = zsnap("s", 1, "0x1234");
	c = zsnap("s", 1, "0x9999");
	assert_true(repl_snapshot_same(&a, &b));
	assert_false(repl_snapshot_same(&a, &c));
}

static void test_full_when_target_has_no_volume(void **state)
{
	struct storage_snapshot local[] = { zsnap(rs(T1), T1, "g1") };
	struct repl_base_query q = {
		.jobid = JOB,
		.last_sync = T1,
		.local = local,
		.n_local = 1,
		.remote_has_volume = false,
	};
	struct repl_base b;

	repl_select_base(&q, &b);
	assert_int_equal(b.kind, REPL_BASE_FULL);
}

static void test_last_sync_first(void **state)
{
	const char *config[] = { "before-upgrade" };
	/* the newest common is a newer config snapshot, yet last_sync's snapshot wins */
	struct storage_snapshot local[] = { zsnap(rs(T1), T1, "g1"),
					    zsnap("before-upgrade", T2, "g2") };
	struct storage_snapshot remote[] = { zsnap(rs(T1), T1 + 1, "g1"),
					     zsnap("before-upgrade", T2 + 1, "g2") };
	struct repl_base b = select_base(T1, "before-upgrade", config, 1, local, 2, remote, 2);

	assert_int_equal(b.kind, REPL_BASE_INCREMENTAL);
	assert_int_equal(b.rule, REPL_RULE_LAST_SYNC);
	assert_string_equal(b.name, rs(T1));
	assert_int_equal(b.remote_newer, 1);
}

static void test_guid_mismatch_is_not_common(void **state)
{
	const char *config[] = { "snap1" };
	/* the same names, other data on the target (e.g. a volume re-created there) */
	struct storage_snapshot local[] = { zsnap("snap1", T1 - 100, "g0"),
					    zsnap(rs(T1), T1, "g1") };
	struct storage_snapshot remote[] = { zsnap("snap1", T1 - 50, "gX"),
					     zsnap(rs(T1), T1, "gY") };
	struct repl_base b = select_base(T1, "snap1", config, 1, local, 2, remote, 2);

	assert_int_equal(b.kind, REPL_BASE_MISSING);

	/* only the last_sync one differs: the config snapshot is the base */
	remote[0] = zsnap("snap1", T1 - 50, "g0");
	b = select_base(T1, NULL, config, 1, local, 2, remote, 2);
	assert_int_equal(b.kind, REPL_BASE_INCREMENTAL);
	assert_int_equal(b.rule, REPL_RULE_NEWEST_COMMON);
	assert_string_equal(b.name, "snap1");
}

static void test_parent_after_rollback(void **state)
{
	const char *config[] = { "good", "older" };
	/*
	 * The guest was rolled back to "good"; the rollback removed the newer
	 * replication snapshot here (pvesr bug #3111), the target still has it.
	 */
	struct storage_snapshot local[] = { zsnap("older", T1 - 200, "g0"),
					    zsnap("good", T1 - 100, "g1") };
	struct storage_snapshot remote[] = { zsnap("older", T1 - 200, "g0"),
					     zsnap("good", T1 - 100, "g1"),
					     zsnap(rs(T1), T1, "g2") };
	struct repl_base b = select_base(T1, "good", config, 2, local, 2, remote, 3);

	assert_int_equal(b.kind, REPL_BASE_INCREMENTAL);
	assert_int_equal(b.rule, REPL_RULE_PARENT);
	assert_string_equal(b.name, "good");
	assert_int_equal(b.remote_newer, 1); /* the receive rolls the target back past T1 */

	/* a parent that is not common is skipped */
	b = select_base(T1, "missing-one", config, 2, local, 2, remote, 3);
	assert_int_equal(b.rule, REPL_RULE_NEWEST_COMMON);
	assert_string_equal(b.name, "good");
}

static void test_newest_common(void **state)
{
	const char *config[] = { "a", "b" };
	/* candidates: config snapshots and any job's replication snapshots; others are ignored */
	struct storage_snapshot local[] = {
		zsnap("a", 100, "ga"),
		zsnap("__replicate_100-1_300__", 300, "gr1"), /* another job's */
		zsnap("b", 200, "gb"),
		zsnap("manual", 400, "gm"), /* not in the config: not a candidate */
		zsnap("__replicate_100-0_500__", 500, "g5"), /* only here */
	};
	struct storage_snapshot remote[] = {
		zsnap("a", 100, "ga"),
		zsnap("b", 200, "gb"),
		zsnap("__replicate_100-1_300__", 300, "gr1"),
		zsnap("manual", 400, "gm"),
	};
	struct repl_base b = select_base(0, NULL, config, 2, local, N(local), remote, N(remote));

	assert_int_equal(b.kind, REPL_BASE_INCREMENTAL);
	assert_int_equal(b.rule, REPL_RULE_NEWEST_COMMON);
	assert_string_equal(b.name, "__replicate_100-1_300__");
	assert_int_equal(b.remote_newer, 1); /* "manual" */

	/* by creation time, not by the order of the lists */
	{
		struct storage_snapshot l2[] = { local[2], local[0] },
					r2[] = { remote[1], remote[0] };

		b = select_base(0, NULL, config, 2, l2, 2, r2, 2);
		assert_string_equal(b.name, "b");
		b = select_base(0, NULL, config, 2, l2 + 1, 1, r2, 2);
		assert_string_equal(b.name, "a");
	}
}

static void test_missing_base(void **state)
{
	struct storage_snapshot local[] = { zsnap(rs(T2), T2, "g2") };
	struct storage_snapshot remote[] = { zsnap(rs(T1), T1, "g1") };
	struct repl_base b = select_base(T2, NULL, NULL, 0, local, 1, remote, 1);
	const char *vols[] = { "local-btrfs:vm-100-disk-0", "local-btrfs:vm-100-disk-1" };
	struct drover_err err = { "" };

	assert_int_equal(b.kind, REPL_BASE_MISSING);
	/* the target has the volume and no snapshot at all */
	b = select_base(T2, NULL, NULL, 0, local, 1, NULL, 0);
	assert_int_equal(b.kind, REPL_BASE_MISSING);
	/* no identity (a storage that cannot tell): never common */
	local[0] = bsnap(rs(T1), T1, "", "");
	remote[0] = bsnap(rs(T1), T1, "", "");
	b = select_base(T1, NULL, NULL, 0, local, 1, remote, 1);
	assert_int_equal(b.kind, REPL_BASE_MISSING);

	assert_int_equal(repl_missing_base_error(&err, vols, 2), -ENOENT);
	assert_string_equal(err.text,
			    "No common base snapshot on volume(s) local-btrfs:vm-100-disk-0, "
			    "local-btrfs:vm-100-disk-1. Please remove the problematic volume(s) "
			    "from the replication target or delete and re-create the whole job");
}

/* btrfs: identity by received UUID, in both directions. */
static void test_btrfs_identity_both_ways(void **state)
{
	/* node1 sent T1 to node2 */
	struct storage_snapshot n1[] = { bsnap(rs(T1), T1, "U1", "") };
	struct storage_snapshot n2[] = { bsnap(rs(T1), T1 + 3, "U2", "U1") };
	struct repl_base b = select_base(T1, NULL, NULL, 0, n1, 1, n2, 1);

	assert_int_equal(b.rule, REPL_RULE_LAST_SYNC);
	/* the guest moved to node2: node2 is the source now */
	b = select_base(T1, NULL, NULL, 0, n2, 1, n1, 1);
	assert_int_equal(b.rule, REPL_RULE_LAST_SYNC);
	/* node1's copy was replaced by another volume of the same name: nothing common */
	n1[0] = bsnap(rs(T1), T1, "U9", "");
	b = select_base(T1, NULL, NULL, 0, n2, 1, n1, 1);
	assert_int_equal(b.kind, REPL_BASE_MISSING);
}

/* ---- pruning ----------------------------------------------------------------- */

static void test_prune_select(void **state)
{
	struct storage_snapshot snaps[] = {
		zsnap(rs(T1), T1, "g1"),
		zsnap(rs(T2), T2, "g2"),
		zsnap(rs(T3), T3, "g3"),
		zsnap("__replicate_100-1_5__", 5, "o1"), /* another job's */
		zsnap("__replicate_100-00_5__", 5, "o2"), /* not canonical: nobody's */
		zsnap("before-upgrade", 7, "c1"), /* a config snapshot */
	};
	bool del[N(snaps)];

	/* no state: nothing is known to be old */
	assert_int_equal(repl_prune_select(JOB, 0, NULL, snaps, N(snaps), del), REPL_PRUNE_NOTHING);
	for (size_t i = 0; i < N(snaps); i++)
		assert_false(del[i]);

	/* the job is removed: all of its own, nothing else */
	assert_int_equal(repl_prune_select(JOB, 1, NULL, snaps, N(snaps), del), REPL_PRUNE_ALL);
	assert_true(del[0] && del[1] && del[2]);
	assert_false(del[3] || del[4] || del[5]);

	/* after a sync at T2: the others of the job go, T2 stays */
	assert_int_equal(repl_prune_select(JOB, T2, NULL, snaps, N(snaps), del), REPL_PRUNE_OLDER);
	assert_true(del[0]);
	assert_false(del[1]);
	assert_true(del[2]); /* a newer leftover of a failed run */
	assert_false(del[3] || del[4] || del[5]);

	/* a parent that is one of the job's snapshots stays too */
	assert_int_equal(repl_prune_select(JOB, T2, rs(T1), snaps, N(snaps), del),
			 REPL_PRUNE_OLDER);
	assert_false(del[0]);

	/* the expected snapshot is not there: keep everything (pvesr c0b2948) */
	assert_int_equal(repl_prune_select(JOB, T2 + 60, NULL, snaps, N(snaps), del),
			 REPL_PRUNE_EXPECTED_MISSING);
	for (size_t i = 0; i < N(snaps); i++)
		assert_false(del[i]);
}

static void test_prune_after_sync(void **state)
{
	struct storage_snapshot local[] = {
		zsnap(rs(T1), T1, "g1"),
		zsnap(rs(T2), T2, "g2"),
		zsnap("snap", 10, "c"),
	};
	struct storage_snapshot remote[] = {
		zsnap(rs(T1), T1, "g1"),
		zsnap(rs(T2), T2, "g2"),
	};
	bool del[N(local)];

	/* T2 arrived: T1 goes */
	assert_int_equal(repl_prune_after_sync(JOB, T2, NULL, local, 3, remote, 2, del),
			 REPL_PRUNE_OLDER);
	assert_true(del[0]);
	assert_false(del[1] || del[2]);

	/* T2 is not on the target: nothing goes, T1 stays the base */
	assert_int_equal(repl_prune_after_sync(JOB, T2, NULL, local, 3, remote, 1, del),
			 REPL_PRUNE_EXPECTED_MISSING);
	assert_false(del[0] || del[1] || del[2]);

	/* T2 is on the target but is other data: nothing goes either */
	remote[1] = zsnap(rs(T2), T2, "gZ");
	assert_int_equal(repl_prune_after_sync(JOB, T2, NULL, local, 3, remote, 2, del),
			 REPL_PRUNE_EXPECTED_MISSING);
	assert_false(del[0] || del[1] || del[2]);
	remote[1] = zsnap(rs(T2), T2, "g2");

	/* never the newest common one, even if it is not the one just made */
	{
		struct storage_snapshot l3[] = { local[0], local[1], zsnap(rs(T3), T3, "g3") };
		struct storage_snapshot r3[] = { remote[0], remote[1], zsnap(rs(T3), T3, "g3") };
		bool d3[3];

		assert_int_equal(repl_prune_after_sync(JOB, T2, NULL, l3, 3, r3, 3, d3),
				 REPL_PRUNE_OLDER);
		assert_true(d3[0]);
		assert_false(d3[1]);
		assert_false(d3[2]);
	}
	/* nonsense last_sync values prune nothing */
	assert_int_equal(repl_prune_after_sync(JOB, 1, NULL, local, 3, remote, 2, del),
			 REPL_PRUNE_EXPECTED_MISSING);
	assert_int_equal(repl_prune_after_sync(JOB, 0, NULL, local, 3, remote, 2, del),
			 REPL_PRUNE_EXPECTED_MISSING);
}

/* ---- direction switch ------------------------------------------------------ */

static void test_switch_on_migration(void **state)
{
	/* guest 100 on A, replicated to B and C; guest 200 on A to B */
	struct repl_job jobs[] = {
		mkjob(100, 0, "B", "A"),
		mkjob(100, 1, "C", "A"),
		mkjob(200, 0, "B", "A"),
	};
	struct drover_err err = { "" };

	/* 100 migrates to B */
	assert_int_equal(repl_switch_target(jobs, 3, 100, "B", "A", &err), 1);
	assert_string_equal(jobs[0].target, "A");
	assert_string_equal(jobs[0].source, "B");
	assert_string_equal(jobs[1].target, "C");
	assert_string_equal(jobs[1].source, "B");
	assert_string_equal(jobs[2].target, "B");
	assert_string_equal(jobs[2].source, "A");
	assert_int_equal(repl_job_check(&jobs[0], NULL), 0);

	/* and back: the original again */
	assert_int_equal(repl_switch_target(jobs, 3, 100, "A", "B", &err), 1);
	assert_string_equal(jobs[0].target, "B");
	assert_string_equal(jobs[0].source, "A");
	assert_string_equal(jobs[1].source, "A");

	/* to a node that is no target: nothing retargeted, the jobs leave from there */
	assert_int_equal(repl_switch_target(jobs, 3, 100, "D", "A", &err), 0);
	assert_string_equal(jobs[0].target, "B");
	assert_string_equal(jobs[0].source, "D");
}

static void test_switch_refuses_duplicates(void **state)
{
	/* a broken list: a second job of 100 already targets A */
	struct repl_job jobs[] = { mkjob(100, 0, "B", "A"), mkjob(100, 1, "A", "X") };
	struct drover_err err = { "" };

	assert_int_equal(repl_switch_target(jobs, 2, 100, "B", "A", &err), -EEXIST);
	assert_string_equal(err.text, "guest 100: jobs 0 and 1 would both replicate to A");
	assert_string_equal(jobs[0].target, "B"); /* unchanged */
	assert_string_equal(jobs[0].source, "A");
	assert_string_equal(jobs[1].source, "X");
}

static void test_state_transfer(void **state)
{
	struct repl_state on_a, moved;
	struct repl_job_state *js;

	repl_state_init(&on_a);
	repl_state_init(&moved);
	assert_int_equal(repl_state_get(&on_a, 100, "B", &js), 0);
	js->last_sync = T1;
	js->pid = 999; /* the migration's own replication run, on A */
	js->ptime = 5;
	assert_int_equal(repl_state_get(&on_a, 100, "C", &js), 0);
	js->last_sync = T2;
	assert_int_equal(repl_state_get(&on_a, 100, "A", &js), 0); /* stale: A -> A cannot be */
	js->last_sync = 7;
	assert_int_equal(repl_state_get(&on_a, 200, "B", &js), 0);
	js->last_sync = T3;

	assert_int_equal(repl_state_for_transfer(&on_a, 100, "B", "A", &moved), 0);
	assert_int_equal(moved.n, 2);
	js = repl_state_find(&moved, 100, "A");
	assert_non_null(js);
	assert_int_equal(js->last_sync, T1);
	assert_int_equal(js->pid, 0);
	assert_int_equal(repl_state_find(&moved, 100, "C")->last_sync, T2);
	assert_null(repl_state_find(&moved, 100, "B"));
	assert_null(repl_state_find(&moved, 200, "B"));
	repl_state_free(&moved);
	repl_state_free(&on_a);
}

/*
 * The whole turn on ZFS-like storage: A replicated T1 to B; the guest
 * migrates to B with its state; on B the next run finds T1 common and goes
 * incremental to A, then prunes on both sides down to the new snapshot.
 */
static void test_migration_round_trip(void **state)
{
	struct repl_job jobs[] = { mkjob(100, 0, "B", "A") };
	struct repl_state on_a, on_b;
	struct repl_job_state *js;
	struct storage_snapshot at_a[] = { zsnap(rs(T1), T1, "g1"), zsnap(rs(T2), T2, "g2") };
	struct storage_snapshot at_b[] = { zsnap(rs(T1), T1, "g1") };
	struct drover_err err = { "" };
	struct repl_base b;
	bool del[2];

	repl_state_init(&on_a);
	repl_state_init(&on_b);
	assert_int_equal(repl_state_get(&on_a, 100, "B", &js), 0);
	js->last_sync = T1;

	assert_int_equal(repl_state_for_transfer(&on_a, 100, "B", "A", &on_b), 0);
	assert_int_equal(repl_switch_target(jobs, 1, 100, "B", "A", &err), 1);
	assert_string_equal(jobs[0].target, "A");
	js = repl_state_find(&on_b, 100, jobs[0].target);
	assert_non_null(js);

	/* on B, A's leftover T2 (a run A made after T1 that B never got) is not common */
	b = select_base(js->last_sync, NULL, NULL, 0, at_b, 1, at_a, 2);
	assert_int_equal(b.kind, REPL_BASE_INCREMENTAL);
	assert_int_equal(b.rule, REPL_RULE_LAST_SYNC);
	assert_string_equal(b.name, rs(T1));
	assert_int_equal(b.remote_newer, 1); /* A's T2 is rolled back: say so */

	/* the run at T3 succeeded; B deletes T1, A (finalize) deletes T1 and T2 */
	{
		struct storage_snapshot b2[] = { at_b[0], zsnap(rs(T3), T3, "g3") };
		struct storage_snapshot a2[] = { at_a[0], at_a[1], zsnap(rs(T3), T3, "g3") };
		bool da[3];

		repl_job_synced(js, T3);
		assert_int_equal(repl_prune_after_sync(JOB, js->last_sync, NULL, b2, 2, a2, 3, del),
				 REPL_PRUNE_OLDER);
		assert_true(del[0]);
		assert_false(del[1]);
		assert_int_equal(repl_prune_select(JOB, js->last_sync, NULL, a2, 3, da),
				 REPL_PRUNE_OLDER);
		assert_true(da[0] && da[1]);
		assert_false(da[2]);
	}
	repl_state_free(&on_a);
	repl_state_free(&on_b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_full_when_target_has_no_volume),
		cmocka_unit_test(test_last_sync_first),
		cmocka_unit_test(test_guid_mismatch_is_not_common),
		cmocka_unit_test(test_parent_after_rollback),
		cmocka_unit_test(test_newest_common),
		cmocka_unit_test(test_missing_base),
		cmocka_unit_test(test_btrfs_identity_both_ways),
		cmocka_unit_test(test_prune_select),
		cmocka_unit_test(test_prune_after_sync),
		cmocka_unit_test(test_switch_on_migration),
		cmocka_unit_test(test_switch_refuses_duplicates),
		cmocka_unit_test(test_state_transfer),
		cmocka_unit_test(test_migration_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
