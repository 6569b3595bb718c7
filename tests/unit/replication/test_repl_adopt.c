/* SPDX-License-Identifier: MIT */
/*
 * A guest taken over (libdrover/replication/adopt): when its jobs are
 * pending adoption, how they turn around, what stays, and what the log says.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "libdrover/replication/adopt.h"
#include "libdrover/replication/job.h"
#include "repl_helpers.h"
#include "libdrover/replication/recover.h"
#include "libdrover/replication/jobstatus.h"
#include "libdrover/replication/schedule.h"
#include "libdrover/replication/state.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_pending(void **state)
{
	struct repl_job jobs[] = {
		mkjob(100, 0, "node2", "node1"),
		mkjob(101, 0, "node2", ""),
		mkjob(102, 0, "node3", "node2"),
	};

	/* the config still where the jobs say it is: nothing to adopt */
	assert_false(repl_adopt_pending(jobs, 3, 100, "node1"));
	/* moved to node2 (or node3): taken over */
	assert_true(repl_adopt_pending(jobs, 3, 100, "node2"));
	assert_true(repl_adopt_pending(jobs, 3, 100, "node3"));
	/* no source recorded: nothing says it moved */
	assert_false(repl_adopt_pending(jobs, 3, 101, "node2"));
	assert_false(repl_adopt_pending(jobs, 3, 102, "node2"));
	/* a guest without jobs */
	assert_false(repl_adopt_pending(jobs, 3, 999, "node2"));
}

static void test_adopt(void **state)
{
	struct repl_job jobs[] = {
		mkjob(100, 0, "node2", ""),
		mkjob(100, 1, "node3", "node1"),
		mkjob(200, 0, "node3", "node1"),
	};
	struct repl_adopt a;
	struct drover_err err = { "" };

	/* on node1, where the guest always was: only the missing source is filled in */
	assert_int_equal(repl_adopt_guest(jobs, 3, 100, "node1", &a, &err), 0);
	assert_true(a.changed);
	assert_false(a.stolen);
	assert_string_equal(jobs[0].source, "node1");
	assert_int_equal(repl_adopt_guest(jobs, 3, 100, "node1", &a, &err), 0);
	assert_false(a.changed);

	/* node1 died, the guest's config was moved to node2: stolen */
	assert_true(repl_adopt_pending(jobs, 3, 100, "node2"));
	assert_int_equal(repl_adopt_guest(jobs, 3, 100, "node2", &a, &err), 0);
	assert_true(a.changed);
	assert_true(a.stolen);
	assert_string_equal(a.old_source, "node1");
	assert_string_equal(jobs[0].target, "node1"); /* node2 -> node1 now */
	assert_string_equal(jobs[0].source, "node2");
	assert_string_equal(jobs[1].target, "node3"); /* node2 -> node3 */
	assert_string_equal(jobs[1].source, "node2");
	assert_string_equal(jobs[2].source, "node1"); /* another guest: untouched */
	assert_string_equal(jobs[2].target, "node3");
	for (int i = 0; i < 2; i++)
		assert_int_equal(repl_job_check(&jobs[i], NULL), 0);
	/* and the next look finds nothing to do */
	assert_false(repl_adopt_pending(jobs, 3, 100, "node2"));
	assert_int_equal(repl_adopt_guest(jobs, 3, 100, "node2", &a, &err), 0);
	assert_false(a.changed);
	assert_false(a.stolen);
}

/* Taken over by a node that is no job's target: the jobs keep their targets. */
static void test_adopt_by_third_node(void **state)
{
	struct repl_job jobs[] = { mkjob(100, 0, "node2", "node1") };
	struct repl_adopt a;
	struct drover_err err = { "" };

	assert_int_equal(repl_adopt_guest(jobs, 1, 100, "node3", &a, &err), 0);
	assert_true(a.stolen);
	assert_string_equal(jobs[0].target, "node2");
	assert_string_equal(jobs[0].source, "node3");
}

/* Two jobs would then replicate to the old node: refused, nothing changed. */
static void test_adopt_conflict(void **state)
{
	struct repl_job jobs[] = { mkjob(100, 0, "node2", "node1"),
				   mkjob(100, 1, "node1", "node1") };
	struct repl_adopt a;
	struct drover_err err = { "" };

	assert_int_equal(repl_adopt_guest(jobs, 2, 100, "node2", &a, &err), -EEXIST);
	assert_non_null(strstr(err.text, "would both replicate to node1"));
	assert_false(a.stolen);
	assert_string_equal(jobs[0].target, "node2");
	assert_string_equal(jobs[0].source, "node1");
}

/*
 * No source, and the target is the node the guest is on: filling in the
 * source would make it the target. Refused with a clear error, nothing
 * changed (the other job of the guest keeps its empty source too).
 */
static void test_adopt_target_is_guest_node(void **state)
{
	struct repl_job jobs[] = { mkjob(100, 0, "node3", ""), mkjob(100, 1, "node2", "") };
	struct repl_adopt a;
	struct drover_err err = { "" };

	assert_int_equal(repl_adopt_guest(jobs, 2, 100, "node2", &a, &err), -EINVAL);
	assert_non_null(
		strstr(err.text, "job 100-1: its target node2 is the node guest 100 is on"));
	assert_non_null(strstr(err.text, "must not be the guest's node"));
	assert_false(a.changed);
	assert_string_equal(jobs[0].source, "");
	assert_string_equal(jobs[1].source, "");
	assert_string_equal(jobs[1].target, "node2");
	/* on node1 the same jobs are fine: both get node1 */
	assert_int_equal(repl_adopt_guest(jobs, 2, 100, "node1", &a, &err), 0);
	assert_string_equal(jobs[0].source, "node1");
	assert_string_equal(jobs[1].source, "node1");
}

static void test_warning(void **state)
{
	struct repl_adopt a = { .stolen = true, .changed = true, .old_source = "node1" };
	char text[1024];

	repl_adopt_warning(&a, 100, "node2", text, sizeof(text));
	assert_non_null(strstr(text, "WARNING: guest 100 was taken over from node node1"));
	assert_non_null(strstr(text, "ROLLED BACK (lost) on node1"));
	assert_non_null(strstr(text, "replicate from node2"));
	/* truncated, still terminated */
	repl_adopt_warning(&a, 100, "node2", text, 16);
	assert_int_equal(strlen(text), 15);
}

static struct storage_snapshot snap(const char *name)
{
	struct storage_snapshot s;

	memset(&s, 0, sizeof(s));
	snprintf(s.name, sizeof(s.name), "%s", name);
	return s;
}

/* A recovery rolls back to the newest replication snapshot of any of the guest's jobs. */
static void test_recover_pick(void **state)
{
	struct storage_snapshot v[] = {
		snap("__replicate_100-0_1717410600__"),
		snap("before-upgrade"), /* a config snapshot: not a replica's */
		snap("__replicate_100-1_1717412400__"), /* another job of the guest, newer */
		snap("__replicate_1000-0_1717419999__"), /* guest 1000, not 100 */
		snap("__replicate_100-0_1717411500__"),
		snap("__replicate_100-01_1717499999__"), /* not canonical: nobody's */
	};
	int64_t epoch = -1;
	const struct storage_snapshot *p;

	p = repl_recover_pick(v, 6, 100, &epoch);
	assert_non_null(p);
	assert_string_equal(p->name, "__replicate_100-1_1717412400__");
	assert_int_equal(epoch, 1717412400);
	p = repl_recover_pick(v, 6, 1000, &epoch);
	assert_string_equal(p->name, "__replicate_1000-0_1717419999__");
	/* no replication snapshot of the guest: nothing to recover from */
	assert_null(repl_recover_pick(v, 6, 101, &epoch));
	assert_int_equal(epoch, 0);
	assert_null(repl_recover_pick(v, 2, 1000, NULL));
	assert_null(repl_recover_pick(NULL, 0, 100, &epoch));
}

/* A run that broke after the first volume: the disks come back from one moment, the older. */
static void test_recover_pick_common(void **state)
{
	struct storage_snapshot a[] = {
		snap("__replicate_100-0_1000__"),
		snap("__replicate_100-0_2000__"), /* only on disk a */
	};
	struct storage_snapshot b[] = {
		snap("__replicate_100-0_1000__"),
		snap("before-upgrade"),
	};
	struct storage_snapshot c[] = { snap("__replicate_100-0_2000__") };
	struct repl_recover_volume vols[] = { { a, 2 }, { b, 2 } };
	struct repl_recover_volume apart[] = { { b, 2 }, { c, 1 } };
	int64_t epoch = -1;
	const char *name = repl_recover_pick_common(vols, 2, 100, &epoch);

	assert_non_null(name);
	assert_string_equal(name, "__replicate_100-0_1000__");
	assert_int_equal(epoch, 1000);
	/* one volume: its newest */
	name = repl_recover_pick_common(vols, 1, 100, &epoch);
	assert_string_equal(name, "__replicate_100-0_2000__");
	/* nothing in common, another guest, no volumes */
	assert_null(repl_recover_pick_common(apart, 2, 100, &epoch));
	assert_int_equal(epoch, 0);
	assert_null(repl_recover_pick_common(vols, 2, 101, NULL));
	assert_null(repl_recover_pick_common(NULL, 0, 100, &epoch));
}

/*
 * A job pending adoption is due at once; once an adoption failed (recorded
 * as a failed run), it waits out the retry ramp instead of running again
 * at every look of the scheduler.
 */
static void test_adopt_retry_ramp(void **state)
{
	char dir[] = "/tmp/test-repl-adopt.XXXXXX", path[512];
	struct cfs_brief b = { .node = "node1" };
	struct repl_job jobs[] = { mkjob(100, 0, "node2", "node2") };
	struct repl_cfg cfg = { .jobs = jobs, .n = 1 };
	struct repl_job_status *v = NULL;
	struct repl_job_state *js;
	struct repl_state st;
	struct drover_err err;
	size_t n = 0;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(b.mountpoint, sizeof(b.mountpoint), "%s", dir);
	snprintf(path, sizeof(path), "%s/nodes/node1/qemu-server", dir);
	assert_int_equal(mkdir_p(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/nodes/node1/qemu-server/100.conf", dir);
	assert_non_null(f = fopen(path, "w"));
	fclose(f);

	repl_state_init(&st);
	assert_int_equal(repl_jobs_status(&b, &cfg, &st, NULL, true, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_true(v[0].adopt);
	assert_int_equal(v[0].next_sync, REPL_NEXT_NOW);
	free(v);

	/* the adoption failed at t=1000: five minutes, then ten, as a failed run */
	assert_int_equal(repl_state_get(&st, 100, "node2", &js), 0);
	repl_job_started(js, 1000, 1000, "node1", 0, 0);
	repl_job_finished(js, 1000, 0, 0, "adopting guest 100's jobs: no lock");
	assert_int_equal(repl_jobs_status(&b, &cfg, &st, NULL, true, &v, &n, &err), 0);
	assert_int_equal(v[0].next_sync, 1000 + 5 * 60);
	assert_false(repl_job_due(v[0].next_sync, 1000 + 60));
	free(v);
	repl_job_started(js, 2000, 2000, "node1", 0, 0);
	repl_job_finished(js, 2000, 0, 0, "adopting guest 100's jobs: no lock");
	assert_int_equal(repl_jobs_status(&b, &cfg, &st, NULL, true, &v, &n, &err), 0);
	assert_int_equal(v[0].next_sync, 2000 + 10 * 60);
	free(v);
	/* schedule-now still runs it at once */
	repl_job_schedule_now(js);
	assert_int_equal(repl_jobs_status(&b, &cfg, &st, NULL, true, &v, &n, &err), 0);
	assert_int_equal(v[0].next_sync, REPL_NEXT_NOW);
	free(v);
	repl_state_free(&st);

	unlink(path);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_adopt),
		cmocka_unit_test(test_adopt_by_third_node),
		cmocka_unit_test(test_adopt_conflict),
		cmocka_unit_test(test_adopt_target_is_guest_node),
		cmocka_unit_test(test_warning),
		cmocka_unit_test(test_recover_pick),
		cmocka_unit_test(test_recover_pick_common),
		cmocka_unit_test(test_adopt_retry_ramp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
