/* SPDX-License-Identifier: MIT */
/*
 * Replication's bookkeeping (libdrover/replication): job IDs, snapshot
 * names, job checks, the per-node state and its transitions, its JSON and
 * file, next sync times, the retry ramp and notifications.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "libdrover/replication/job.h"
#include "repl_helpers.h"
#include "libdrover/replication/schedule.h"
#include "libdrover/replication/state.h"
#include "libdrover/replication/state_file.h"
#include "libdrover/replication/state_json.h"

/* ---- job IDs and snapshot names ------------------------------------------ */

static void test_jobid(void **state)
{
	static const struct {
		const char *s;
		uint32_t guest, jobnum;
	} good[] = {
		{ "100-0", 100, 0 },
		{ "100-1", 100, 1 },
		{ "999999999-999999999", 999999999, 999999999 },
		{ "4711-01", 4711, 1 }, /* Proxmox's int(): leading zeros dropped */
	};
	static const char *const bad[] = {
		"99-0",	 "100",	  "100-",    "-1", "0100-1", "1000000000-1", "100-1234567890",
		"abc-1", "100-a", "100-1-2", "",   "100 -1", "100-+1",	     "１００-1",
	};
	char id[REPL_JOBID_MAX];
	uint32_t g, j;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(repl_jobid_parse(good[i].s, &g, &j, NULL), 0);
		assert_int_equal(g, good[i].guest);
		assert_int_equal(j, good[i].jobnum);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct drover_err err = { "" };

		if (repl_jobid_parse(bad[i], &g, &j, &err) != -EINVAL)
			fail_msg("'%s' parsed as a job ID", bad[i]);
		assert_non_null(strstr(err.text, "is not a replication job ID"));
	}
	repl_jobid_format(4711, 1, id);
	assert_string_equal(id, "4711-1");
	repl_jobid_format(999999999, 999999999, id);
	assert_string_equal(id, "999999999-999999999");
}

static void test_snapnames(void **state)
{
	char name[STORAGE_SNAPNAME_MAX], id[REPL_JOBID_MAX];
	int64_t t;
	static const char *const not_ours[] = {
		"__replicate_100-0_1717410600_",
		"__replicate_100-0__",
		"__replicate_100-0___",
		"__replicate__1717410600__",
		"__replicate_100-01_5__", /* not canonical: nobody's */
		"__replicate_99-0_5__",
		"__replicate_100-0_0123__",
		"__replicate_100-0_12a__",
		"__replicate_100-0_1234567890123456789__",
		"__replicate_100_5__",
		"replicate_100-0_5__",
		"snap1",
		"",
	};

	assert_int_equal(repl_snapname("100-0", 1717410600, name, sizeof(name)), 0);
	assert_string_equal(name, "__replicate_100-0_1717410600__");
	assert_true(repl_snapname_is_replication(name));
	assert_true(repl_snapname_parse(name, id, &t));
	assert_string_equal(id, "100-0");
	assert_int_equal(t, 1717410600);
	assert_true(repl_snapname_of_job(name, "100-0", &t));
	assert_false(repl_snapname_of_job(name, "100-1", NULL));
	assert_false(repl_snapname_of_job(name, "1000-0", NULL));
	assert_int_equal(repl_snapname("100-0", 1717410600, name, 20), -ENAMETOOLONG);

	/* the longest ID fits a storage's snapshot name */
	assert_int_equal(repl_snapname("999999999-999999999", 9999999999, name, sizeof(name)), 0);
	assert_true(repl_snapname_parse(name, id, &t));
	assert_string_equal(id, "999999999-999999999");

	for (size_t i = 0; i < sizeof(not_ours) / sizeof(not_ours[0]); i++)
		if (repl_snapname_parse(not_ours[i], id, &t))
			fail_msg("'%s' parsed as a replication snapshot", not_ours[i]);
	assert_true(repl_snapname_is_replication("__replicate_anything"));
	assert_false(repl_snapname_is_replication("__replicat"));
}

static void expect_bad_job(const struct repl_job *j, const char *text)
{
	struct drover_err err = { "" };

	assert_int_equal(repl_job_check(j, &err), -EINVAL);
	if (!strstr(err.text, text))
		fail_msg("error '%s', want '%s'", err.text, text);
}

static void test_job_check(void **state)
{
	struct repl_job j = mkjob(100, 0, "node2", "node1");

	assert_int_equal(repl_job_check(&j, NULL), 0);
	assert_string_equal(repl_job_schedule(&j), "*/15");
	snprintf(j.schedule, sizeof(j.schedule), "mon..fri 22:30");
	j.rate = 10;
	assert_int_equal(repl_job_check(&j, NULL), 0);
	assert_string_equal(repl_job_schedule(&j), "mon..fri 22:30");

	j.guest = 99;
	expect_bad_job(&j, "job 99-0: guest IDs below 100 are reserved");
	j = mkjob(100, 0, "-node2", "");
	expect_bad_job(&j, "target '-node2' is not a node name");
	j = mkjob(100, 0, "node2", "node2");
	expect_bad_job(&j, "target node2 is the guest's own node");
	j = mkjob(100, 0, "node2", "no de");
	expect_bad_job(&j, "source 'no de' is not a node name");
	j = mkjob(100, 0, "node2", "");
	snprintf(j.schedule, sizeof(j.schedule), "mon..fri 25:00");
	expect_bad_job(&j, "job 100-0: schedule: calendar 'mon..fri 25:00': position 9: hour 25");
	j = mkjob(100, 0, "node2", "");
	j.rate = 0.5;
	expect_bad_job(&j, "rate 0.5 MB/s is below the minimum of 1");
	j.rate = -1;
	expect_bad_job(&j, "below the minimum");
	j.rate = 0;
	memset(j.comment, 'x', sizeof(j.comment));
	expect_bad_job(&j, "comment longer than 4096 characters");
}

/* ---- state transitions --------------------------------------------------- */

static void test_transitions(void **state)
{
	struct repl_state s;
	struct repl_job_state *js;
	const char *ids[] = { "local-zfs", "a-btrfs", "local-zfs" };
	struct drover_err err = { "" };

	repl_state_init(&s);
	assert_null(repl_state_find(&s, 100, "node2"));
	assert_int_equal(repl_state_get(&s, 100, "node2", &js), 0);
	assert_int_equal(js->last_try, 0);
	assert_int_equal(js->fail_count, 0);
	assert_ptr_equal(repl_state_find(&s, 100, "node2"), js);
	assert_int_equal(repl_state_get(&s, 100, "bad/node", &js), -EINVAL);

	/* a run that fails twice, then succeeds */
	js = repl_state_find(&s, 100, "node2");
	repl_job_started(js, 1000, 1000, "node1", 4242, 777);
	assert_int_equal(js->last_try, 1000);
	assert_int_equal(js->last_iteration, 1000);
	assert_string_equal(js->last_node, "node1");
	assert_true(repl_job_running(js, 777));
	assert_false(repl_job_running(js, 778)); /* the PID was reused */
	assert_false(repl_job_running(js, 0)); /* gone */
	assert_int_equal(repl_job_set_storeids(js, ids, 3, &err), 0);
	assert_int_equal(js->n_storeids, 2);
	assert_string_equal(js->storeids[0], "a-btrfs");
	assert_string_equal(js->storeids[1], "local-zfs");
	repl_job_finished(js, 1000, 2.5, 0, "btrfs send exited with 1\n");
	assert_int_equal(js->fail_count, 1);
	assert_string_equal(js->error, "btrfs send exited with 1");
	assert_int_equal(js->last_sync, 0);
	assert_false(repl_job_running(js, 777));
	assert_int_equal(js->pid, 0);

	repl_job_started(js, 1300, 1300, "node1", 4243, 778);
	repl_job_finished(js, 1300, 1.0, 0, "target storage full");
	assert_int_equal(js->fail_count, 2);
	assert_string_equal(js->error, "target storage full");

	repl_job_started(js, 1900, 1900, "node1", 4244, 779);
	/* schedule-now during the run must not change what the run records */
	repl_job_schedule_now(js);
	assert_int_equal(js->last_try, 0);
	repl_job_synced(js, 1900);
	assert_int_equal(js->last_sync, 1900); /* before any snapshot is removed */
	repl_job_finished(js, 1900, 4.127, 123456, NULL);
	assert_int_equal(js->fail_count, 0);
	assert_string_equal(js->error, "");
	assert_int_equal(js->last_sync, 1900);
	assert_int_equal(js->bytes, 123456);
	assert_true(js->duration == 4.127);

	/* a long error is cut, not overflowed */
	{
		char longer[3000];

		memset(longer, 'e', sizeof(longer) - 1);
		longer[sizeof(longer) - 1] = '\0';
		repl_job_finished(js, 2000, 1, 0, longer);
		assert_int_equal(strlen(js->error), REPL_ERROR_MAX - 1);
	}
	repl_state_free(&s);
}

static void test_storeids_limits(void **state)
{
	struct repl_job_state js;
	const char *many[REPL_STOREIDS_MAX + 1];
	char names[REPL_STOREIDS_MAX + 1][16];
	const char *bad[] = { "Local" };
	const char *bad2[] = { "1abc" };
	const char *bad3[] = { "a/b" };
	struct drover_err err = { "" };

	memset(&js, 0, sizeof(js));
	for (int i = 0; i <= REPL_STOREIDS_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "s%d", i);
		many[i] = names[i];
	}
	assert_int_equal(repl_job_set_storeids(&js, many, REPL_STOREIDS_MAX, &err), 0);
	assert_int_equal(js.n_storeids, REPL_STOREIDS_MAX);
	assert_int_equal(repl_job_set_storeids(&js, many, REPL_STOREIDS_MAX + 1, &err), -E2BIG);
	assert_int_equal(repl_job_set_storeids(&js, bad, 1, &err), -EINVAL);
	assert_int_equal(repl_job_set_storeids(&js, bad2, 1, &err), -EINVAL);
	assert_int_equal(repl_job_set_storeids(&js, bad3, 1, &err), -EINVAL);
	assert_int_equal(repl_job_set_storeids(&js, many, 0, &err), 0);
	assert_int_equal(js.n_storeids, 0);
}

static bool keep_guest_100(uint32_t guest, const char *target, void *ctx)
{
	(*(int *)ctx)++;
	return guest == 100 && strcmp(target, "node3") != 0;
}

static void test_sorted_remove_purge(void **state)
{
	struct repl_state s;
	struct repl_job_state *js;
	int calls = 0;

	repl_state_init(&s);
	assert_int_equal(repl_state_get(&s, 200, "node2", &js), 0);
	assert_int_equal(repl_state_get(&s, 100, "node3", &js), 0);
	assert_int_equal(repl_state_get(&s, 100, "node2", &js), 0);
	assert_int_equal(repl_state_get(&s, 150, "node2", &js), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.entries[0].guest, 100);
	assert_string_equal(s.entries[0].target, "node2");
	assert_string_equal(s.entries[1].target, "node3");
	assert_int_equal(s.entries[2].guest, 150);
	assert_int_equal(s.entries[3].guest, 200);

	assert_int_equal(repl_state_purge(&s, keep_guest_100, &calls), 3);
	assert_int_equal(calls, 4);
	assert_int_equal(s.n, 1);
	assert_non_null(repl_state_find(&s, 100, "node2"));

	assert_int_equal(repl_state_get(&s, 100, "node4", &js), 0);
	repl_state_remove(&s, 100, "node2");
	assert_null(repl_state_find(&s, 100, "node2"));
	assert_non_null(repl_state_find(&s, 100, "node4"));
	repl_state_remove(&s, 100, "nonexistent");
	repl_state_remove_guest(&s, 100);
	assert_int_equal(s.n, 0);
	repl_state_free(&s);
}

/* ---- JSON ------------------------------------------------------------------ */

static void assert_job_state_equal(const struct repl_job_state *a, const struct repl_job_state *b)
{
	assert_int_equal(a->last_iteration, b->last_iteration);
	assert_int_equal(a->last_try, b->last_try);
	assert_int_equal(a->last_sync, b->last_sync);
	assert_int_equal(a->fail_count, b->fail_count);
	assert_true(a->duration == b->duration);
	assert_true(a->bytes == b->bytes);
	assert_string_equal(a->error, b->error);
	assert_string_equal(a->last_node, b->last_node);
	assert_int_equal(a->n_storeids, b->n_storeids);
	for (size_t i = 0; i < a->n_storeids; i++)
		assert_string_equal(a->storeids[i], b->storeids[i]);
	assert_int_equal(a->pid, b->pid);
	assert_true(a->ptime == b->ptime);
}

static const char pvesr_example[] =
	"{\"100\":{\"local/pve2\":{\"last_iteration\":1717410600,\"last_try\":1717410600,"
	"\"last_sync\":1717410600,\n \"fail_count\":0,\"duration\":4.127,\"last_node\":\"pve1\","
	"\"storeid_list\":[\"local-zfs\"]}}}";

static void test_json_pvesr_example(void **state)
{
	struct repl_state s;
	struct repl_job_state *js;
	struct drover_err err = { "" };
	char *text;

	repl_state_init(&s);
	assert_int_equal(repl_state_from_json(pvesr_example, strlen(pvesr_example), &s, &err), 0);
	js = repl_state_find(&s, 100, "pve2");
	assert_non_null(js);
	assert_int_equal(js->last_iteration, 1717410600);
	assert_int_equal(js->last_try, 1717410600);
	assert_int_equal(js->last_sync, 1717410600);
	assert_int_equal(js->fail_count, 0);
	assert_true(js->duration == 4.127);
	assert_string_equal(js->last_node, "pve1");
	assert_int_equal(js->n_storeids, 1);
	assert_string_equal(js->storeids[0], "local-zfs");
	assert_int_equal(js->pid, 0);

	assert_int_equal(repl_state_to_json(&s, &text), 0);
	assert_string_equal(text, "{\"100\":{\"local/pve2\":{\"last_iteration\":1717410600,"
				  "\"last_try\":1717410600,\"last_sync\":1717410600,"
				  "\"fail_count\":0,\"duration\":4.127,\"last_node\":\"pve1\","
				  "\"storeid_list\":[\"local-zfs\"]}}}");
	free(text);
	repl_state_free(&s);
}

static void test_json_round_trip(void **state)
{
	struct repl_state s, again;
	struct repl_job_state *js;
	struct drover_err err = { "" };
	const char *ids[] = { "local-btrfs", "ceph" };
	char *text, *text2;

	repl_state_init(&s);
	repl_state_init(&again);
	assert_int_equal(repl_state_get(&s, 100, "node2", &js), 0);
	repl_job_started(js, 1000, 999, "node1", 31337, 12345678);
	assert_int_equal(repl_job_set_storeids(js, ids, 2, &err), 0);
	js->fail_count = 7;
	js->bytes = 1ULL << 40;
	snprintf(js->error, sizeof(js->error), "a \"quoted\" error\nwith a line break: ünïcode");
	assert_int_equal(repl_state_get(&s, 4711, "node3", &js), 0);
	js->duration = 0.25;

	assert_int_equal(repl_state_to_json(&s, &text), 0);
	assert_int_equal(repl_state_from_json(text, strlen(text), &again, &err), 0);
	assert_int_equal(again.n, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(again.entries[i].guest, s.entries[i].guest);
		assert_string_equal(again.entries[i].target, s.entries[i].target);
		assert_job_state_equal(&again.entries[i].st, &s.entries[i].st);
	}
	assert_int_equal(repl_state_to_json(&again, &text2), 0);
	assert_string_equal(text, text2);
	free(text);
	free(text2);

	/* empty */
	repl_state_free(&again);
	assert_int_equal(repl_state_from_json("{}", 2, &again, &err), 0);
	assert_int_equal(again.n, 0);
	assert_int_equal(repl_state_to_json(&again, &text), 0);
	assert_string_equal(text, "{}");
	free(text);
	repl_state_free(&s);
}

static void test_json_hostile(void **state)
{
	static const struct {
		const char *json;
		const char *error;
	} cases[] = {
		{ "", "not JSON" },
		{ "{", "not JSON" },
		{ "[]", "not one JSON object" },
		{ "{} {}", "not one JSON object" },
		{ "{}x", "not one JSON object" },
		{ "{\"abc\":{}}", "'abc' is not a guest ID" },
		{ "{\"0100\":{}}", "'0100' is not a guest ID" },
		{ "{\"99999999999\":{}}", "is not a guest ID" },
		{ "{\"100\":[]}", "100: not an object" },
		{ "{\"100\":{\"remote/x\":{}}}", "'remote/x' is not local/NODE" },
		{ "{\"100\":{\"local/-x\":{}}}", "'local/-x' is not local/NODE" },
		{ "{\"100\":{\"local/\":{}}}", "is not local/NODE" },
		{ "{\"100\":{\"local/n\":7}}", "100 local/n: state is not an object" },
		{ "{\"100\":{\"local/n\":{\"fail_count\":\"3\"}}}",
		  "fail_count is not a whole number" },
		{ "{\"100\":{\"local/n\":{\"fail_count\":4294967296}}}",
		  "fail_count is out of range" },
		{ "{\"100\":{\"local/n\":{\"last_sync\":-5}}}", "last_sync is out of range" },
		{ "{\"100\":{\"local/n\":{\"last_try\":1.5}}}", "last_try is not a whole number" },
		{ "{\"100\":{\"local/n\":{\"last_try\":99999999999999999999999}}}", "last_try" },
		{ "{\"100\":{\"local/n\":{\"pid\":2147483648}}}", "pid is out of range" },
		{ "{\"100\":{\"local/n\":{\"duration\":\"x\"}}}", "duration is not a number" },
		{ "{\"100\":{\"local/n\":{\"duration\":-1.0}}}", "duration is out of range" },
		{ "{\"100\":{\"local/n\":{\"error\":5}}}", "error is not a string" },
		{ "{\"100\":{\"local/n\":{\"last_node\":\"a b\"}}}",
		  "last_node is not a node name" },
		{ "{\"100\":{\"local/n\":{\"storeid_list\":\"x\"}}}",
		  "storeid_list is not a list" },
		{ "{\"100\":{\"local/n\":{\"storeid_list\":[1]}}}", "not a storage ID" },
		{ "{\"100\":{\"local/n\":{\"storeid_list\":[\"../etc\"]}}}", "not a storage ID" },
	};
	char many[2048];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct repl_state s;
		struct drover_err err = { "" };

		repl_state_init(&s);
		if (repl_state_from_json(cases[i].json, strlen(cases[i].json), &s, &err) != -EINVAL)
			fail_msg("'%s' was accepted", cases[i].json);
		if (!strstr(err.text, cases[i].error))
			fail_msg("'%s': error '%s', want '%s'", cases[i].json, err.text,
				 cases[i].error);
		assert_int_equal(s.n, 0);
		assert_null(s.entries);
	}

	/* more storages than a state holds */
	n += (size_t)snprintf(many + n, sizeof(many) - n,
			      "{\"100\":{\"local/n\":{\"storeid_list\":[");
	for (int i = 0; i <= REPL_STOREIDS_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "%s\"s%d\"", i ? "," : "", i);
	snprintf(many + n, sizeof(many) - n, "]}}}");
	{
		struct repl_state s;
		struct drover_err err = { "" };

		repl_state_init(&s);
		assert_int_equal(repl_state_from_json(many, strlen(many), &s, &err), -EINVAL);
		assert_non_null(strstr(err.text, "more than 32 storages"));
	}

	/* what is missing or null is 0; unknown keys are for later versions */
	{
		const char *ok = "{\"100\":{\"local/n\":{\"error\":null,\"future\":[1,{}],"
				 "\"last_sync\":null}},\"101\":{}}";
		struct repl_state s;
		struct drover_err err = { "" };

		repl_state_init(&s);
		assert_int_equal(repl_state_from_json(ok, strlen(ok), &s, &err), 0);
		assert_int_equal(s.n, 1);
		assert_int_equal(s.entries[0].st.last_sync, 0);
		repl_state_free(&s);
	}
}

/* set-state: one guest's states between nodes */
static void test_json_guest(void **state)
{
	struct repl_state s;
	struct repl_job_state *js;
	struct drover_err err = { "" };
	char *text;

	repl_state_init(&s);
	assert_int_equal(repl_state_get(&s, 100, "node2", &js), 0);
	js->last_sync = 1000;
	assert_int_equal(repl_state_get(&s, 100, "node3", &js), 0);
	assert_int_equal(repl_state_get(&s, 200, "node2", &js), 0);
	js->last_sync = 2000;

	assert_int_equal(repl_state_guest_to_json(&s, 100, &text), 0);
	assert_non_null(strstr(text, "\"local/node2\":{"));
	assert_non_null(strstr(text, "\"local/node3\":{"));
	assert_null(strstr(text, "2000"));
	free(text);

	/* replaces guest 100's states, leaves guest 200 alone */
	text = "{\"local/node9\":{\"last_sync\":5000}}";
	assert_int_equal(repl_state_guest_from_json(text, strlen(text), 100, &s, &err), 0);
	assert_null(repl_state_find(&s, 100, "node2"));
	assert_null(repl_state_find(&s, 100, "node3"));
	assert_int_equal(repl_state_find(&s, 100, "node9")->last_sync, 5000);
	assert_int_equal(repl_state_find(&s, 200, "node2")->last_sync, 2000);

	/* a bad text changes nothing */
	text = "{\"local/node8\":{\"last_sync\":1},\"local/x y\":{}}";
	assert_int_equal(repl_state_guest_from_json(text, strlen(text), 100, &s, &err), -EINVAL);
	assert_non_null(repl_state_find(&s, 100, "node9"));
	assert_null(repl_state_find(&s, 100, "node8"));
	repl_state_free(&s);
}

/* ---- the file ------------------------------------------------------------- */

static char *tmpdir(void)
{
	char *d = strdup("/tmp/drover-repl-XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void test_file(void **state)
{
	char *dir = tmpdir(), path[256], tmp[300];
	struct repl_state s, back;
	struct repl_job_state *js;
	struct drover_err err = { "" };
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "%s/replication-state.json", dir);
	repl_state_init(&s);
	repl_state_init(&back);

	/* no file yet: no state */
	assert_int_equal(repl_state_load(path, &back, &err), 0);
	assert_int_equal(back.n, 0);

	assert_int_equal(repl_state_get(&s, 100, "node2", &js), 0);
	js->last_sync = 1717410600;
	assert_int_equal(repl_state_save(path, &s, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(repl_state_load(path, &back, &err), 0);
	assert_int_equal(repl_state_find(&back, 100, "node2")->last_sync, 1717410600);
	repl_state_free(&back);

	/* a temporary file left by a crashed process with our PID does not block saving */
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "w");
	assert_non_null(f);
	fputs("half", f);
	fclose(f);
	js->last_sync = 1717411500;
	assert_int_equal(repl_state_save(path, &s, &err), 0);
	assert_int_equal(repl_state_load(path, &back, &err), 0);
	assert_int_equal(repl_state_find(&back, 100, "node2")->last_sync, 1717411500);
	repl_state_free(&back);

	/* a damaged file is an error that names it, and loads nothing */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"100\": {\"local/node2\": {\"last_sync\": ", f);
	fclose(f);
	assert_int_equal(repl_state_load(path, &back, &err), -EINVAL);
	assert_non_null(strstr(err.text, path));
	assert_non_null(strstr(err.text, "not JSON"));
	assert_int_equal(back.n, 0);

	/* over 1 MiB is refused */
	f = fopen(path, "w");
	assert_non_null(f);
	fputc('{', f);
	for (int i = 0; i < REPL_STATE_FILE_MAX / 8 + 1; i++)
		fputs("        ", f);
	fputc('}', f);
	fclose(f);
	assert_int_equal(repl_state_load(path, &back, &err), -EFBIG);

	/* a directory that is not there */
	snprintf(tmp, sizeof(tmp), "%s/nope/state.json", dir);
	assert_true(repl_state_save(tmp, &s, &err) < 0);
	assert_non_null(strstr(err.text, tmp));

	unlink(path);
	rmdir(dir);
	free(dir);
	repl_state_free(&s);
}

/* ---- next sync, retries, notifications ------------------------------------ */

static void test_next_sync(void **state)
{
	struct calendar_event every15, never;
	struct repl_job_state js;
	struct repl_sched_input in = { .schedule = &every15, .state = &js, .target_online = true };

	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(calendar_parse("*/15", &every15, NULL, NULL), 0);
	assert_int_equal(calendar_parse("02-30", &never, NULL, NULL), 0);
	memset(&js, 0, sizeof(js));

	/* a new job: the first event after 0 is long past, so it is due at once */
	in.state = NULL;
	assert_int_equal(repl_next_sync(&in), 900);
	assert_true(repl_job_due(repl_next_sync(&in), 1717410600));
	in.state = &js;
	js.last_try = 1717410600; /* on a quarter hour */
	assert_int_equal(repl_next_sync(&in), 1717410600 + 900);
	assert_false(repl_job_due(1717410600 + 900, 1717410600 + 899));
	assert_true(repl_job_due(1717410600 + 900, 1717410600 + 900));
	js.last_try = 1717410600 + 7;
	assert_int_equal(repl_next_sync(&in), 1717410600 + 900);

	/* schedule-now */
	repl_job_schedule_now(&js);
	assert_true(repl_job_due(repl_next_sync(&in), 1717410600));

	/* pvesr's test log: failures at 1000, then retries at 1300, 1900, 2800, 4600, 6400 */
	{
		const int64_t want[] = { 1300, 1900, 2800, 4600, 6400, 8200 };
		int64_t t = 1000;

		memset(&js, 0, sizeof(js));
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			repl_job_started(&js, t, t, "node1", 1, 1);
			repl_job_finished(&js, t, 1, 0, "failed");
			t = repl_next_sync(&in);
			assert_int_equal(t, want[i]);
		}
		/* no retries while the target is away (the first failure was tried) */
		in.target_online = false;
		assert_int_equal(repl_next_sync(&in), REPL_NEXT_NEVER);
		assert_false(repl_job_due(REPL_NEXT_NEVER, INT64_MAX));
		/* a success brings the schedule back */
		in.target_online = true;
		repl_job_started(&js, 9000, 9000, "node1", 1, 1);
		repl_job_finished(&js, 9000, 1, 0, NULL);
		assert_int_equal(repl_next_sync(&in), 9900);
	}
	/* an offline target does not matter while there is no failure */
	in.target_online = false;
	assert_int_equal(repl_next_sync(&in), 9900);

	/* removal: due at once, even offline, even failing */
	in.removing = true;
	js.fail_count = 3;
	assert_int_equal(repl_next_sync(&in), REPL_NEXT_NOW);
	assert_true(repl_job_due(REPL_NEXT_NOW, 2));
	in.removing = false;
	js.fail_count = 0;

	/* a schedule that never fires: never */
	in.schedule = &never;
	assert_int_equal(repl_next_sync(&in), REPL_NEXT_NEVER);
}

static void test_retry_ramp(void **state)
{
	struct repl_retry r;
	struct drover_err err = { "" };
	static const char *const bad[] = {
		"",
		",",
		"5,",
		",5",
		"0",
		"5,3",
		"x",
		"5;10",
		"10081",
		"1234567",
		"-5",
		" 5",
		"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17",
	};
	struct calendar_event ev;
	struct repl_job_state js;
	struct repl_sched_input in = { .schedule = &ev, .state = &js, .target_online = true };

	assert_int_equal(repl_retry_delay(&repl_retry_default, 1), 300);
	assert_int_equal(repl_retry_delay(&repl_retry_default, 2), 600);
	assert_int_equal(repl_retry_delay(&repl_retry_default, 3), 900);
	assert_int_equal(repl_retry_delay(&repl_retry_default, 4), 1800);
	assert_int_equal(repl_retry_delay(&repl_retry_default, 1000000), 1800);

	assert_int_equal(repl_retry_parse("1,2,60", &r, &err), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(repl_retry_delay(&r, 1), 60);
	assert_int_equal(repl_retry_delay(&r, 2), 120);
	assert_int_equal(repl_retry_delay(&r, 3), 3600);
	assert_int_equal(repl_retry_delay(&r, 9), 3600);
	assert_int_equal(repl_retry_parse("30", &r, &err), 0);
	assert_int_equal(repl_retry_delay(&r, 1), 1800);
	assert_int_equal(repl_retry_parse("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", &r, &err), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (repl_retry_parse(bad[i], &r, &err) != -EINVAL)
			fail_msg("retry '%s' accepted", bad[i]);
	assert_int_equal(repl_retry_parse("5,3", &r, &err), -EINVAL);
	assert_non_null(strstr(err.text, "step 2 is shorter than the one before"));

	/* the job uses its ramp */
	assert_int_equal(calendar_parse("daily", &ev, NULL, NULL), 0);
	assert_int_equal(repl_retry_parse("1,2,60", &r, &err), 0);
	in.retry = &r;
	memset(&js, 0, sizeof(js));
	js.last_try = 5000;
	js.fail_count = 2;
	assert_int_equal(repl_next_sync(&in), 5120);
}

static void test_notifications(void **state)
{
	for (uint32_t n = 0; n < 2000; n++) {
		bool want = (n >= 1 && n <= 3) || n == 48 || n == 96 || n == 192 || n == 384 ||
			    n == 768 || n == 1536;

		if (repl_notify_at_failure(n) != want)
			fail_msg("failure %u: notify %d", n, !want);
	}
	assert_true(repl_notify_at_failure(48u << 20));
	assert_false(repl_notify_at_failure(48u * 3 << 20));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jobid),
		cmocka_unit_test(test_snapnames),
		cmocka_unit_test(test_job_check),
		cmocka_unit_test(test_transitions),
		cmocka_unit_test(test_storeids_limits),
		cmocka_unit_test(test_sorted_remove_purge),
		cmocka_unit_test(test_json_pvesr_example),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_json_hostile),
		cmocka_unit_test(test_json_guest),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_next_sync),
		cmocka_unit_test(test_retry_ramp),
		cmocka_unit_test(test_notifications),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
