/* SPDX-License-Identifier: MIT */
/*
 * The job edits of drover replication (libdrover/replication/jobs_edit):
 * a new job's nodes against the guest's, update's changes and deletions,
 * delete's three modes. The pure halves, on replication.cfg in memory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "libdrover/replication/jobs_edit.h"
#include "repl_helpers.h"

static const char example[] = "local: 100-0\n"
			      "\ttarget node2\n"
			      "\trate 10\n"
			      "\tschedule */5\n"
			      "\tsource node1\n"
			      "\n"
			      "local: 100-1\n"
			      "\tcomment nightly\n"
			      "\tdisable\n"
			      "\ttarget node3\n"
			      "\tsource node1\n"
			      "\n";

static void load(struct repl_cfg *cfg)
{
	struct drover_err err = { "" };

	assert_int_equal(repl_cfg_parse(example, strlen(example), "replication.cfg", cfg, &err), 0);
}

static void test_place(void **state)
{
	struct drover_err err = { "" };
	struct repl_job j = mkjob(100, 0, "node2", "");

	/* the source is set to the guest's node */
	assert_int_equal(repl_job_place(&j, false, "node1", true, &err), 0);
	assert_string_equal(j.source, "node1");
	/* a given source must be the guest's node */
	j = mkjob(100, 0, "node2", "node1");
	assert_int_equal(repl_job_place(&j, true, "node1", true, &err), 0);
	j = mkjob(100, 0, "node2", "node3");
	assert_int_equal(repl_job_place(&j, true, "node1", true, &err), -EINVAL);
	assert_string_equal(err.text, "source 'node3' is not the guest's node (node1)");
	/* a target that is no member */
	j = mkjob(100, 0, "node9", "");
	assert_int_equal(repl_job_place(&j, false, "node1", false, &err), -ENOENT);
	assert_string_equal(err.text, "target 'node9' is not a member of this cluster");
	/* the target is the guest's node, with no source given: never source = target */
	j = mkjob(100, 0, "node1", "");
	assert_int_equal(repl_job_place(&j, false, "node1", true, &err), -EINVAL);
	assert_non_null(strstr(err.text, "target node1 is the node guest 100 is on"));
	assert_string_equal(j.source, "");
}

static void test_update(void **state)
{
	struct drover_err err = { "" };
	struct repl_cfg cfg;
	struct repl_job_edit e = { .job = mkjob(100, 0, "", "") };
	const struct repl_job *j;

	load(&cfg);
	/* only what is given changes */
	e.has_comment = true;
	snprintf(e.job.comment, sizeof(e.job.comment), "hourly");
	e.has_disable = true;
	e.job.disable = true;
	e.deletes = "rate,schedule";
	assert_int_equal(repl_job_edit_apply(&cfg, &e, &err), 0);
	j = repl_cfg_find(&cfg, 100, 0);
	assert_string_equal(j->comment, "hourly");
	assert_true(j->disable);
	assert_true(j->rate == 0);
	assert_string_equal(j->schedule, "");
	assert_string_equal(j->target, "node2");
	assert_string_equal(j->source, "node1");
	/* the other job is untouched */
	j = repl_cfg_find(&cfg, 100, 1);
	assert_string_equal(j->comment, "nightly");
	assert_true(j->disable);

	/* the target stays; unknown keys and jobs are errors */
	e = (struct repl_job_edit){ .job = mkjob(100, 0, "", ""), .deletes = "target" };
	assert_int_equal(repl_job_edit_apply(&cfg, &e, &err), -EINVAL);
	assert_string_equal(err.text, "--delete: target cannot be deleted");
	e.deletes = "comment;colour";
	assert_int_equal(repl_job_edit_apply(&cfg, &e, &err), -EINVAL);
	assert_string_equal(err.text, "--delete: 'colour' is not a job property");
	e = (struct repl_job_edit){ .job = mkjob(100, 7, "", "") };
	assert_int_equal(repl_job_edit_apply(&cfg, &e, &err), -ENOENT);
	assert_string_equal(err.text, "replication job '100-7' does not exist");
	repl_cfg_free(&cfg);
}

static void test_delete(void **state)
{
	struct drover_err err = { "" };
	struct repl_cfg cfg;

	load(&cfg);
	assert_int_equal(repl_job_delete_apply(&cfg, 100, 0, REPL_DELETE_FULL, &err), 0);
	assert_int_equal(repl_cfg_find(&cfg, 100, 0)->remove_job, REPL_REMOVE_FULL);
	assert_int_equal(repl_job_delete_apply(&cfg, 100, 0, REPL_DELETE_KEEP, &err), 0);
	assert_int_equal(repl_cfg_find(&cfg, 100, 0)->remove_job, REPL_REMOVE_LOCAL);
	assert_int_equal(repl_job_delete_apply(&cfg, 100, 1, REPL_DELETE_FORCE, &err), 0);
	assert_null(repl_cfg_find(&cfg, 100, 1));
	assert_int_equal(cfg.n, 1);
	assert_int_equal(repl_job_delete_apply(&cfg, 100, 1, REPL_DELETE_FULL, &err), -ENOENT);
	assert_string_equal(err.text, "replication job '100-1' does not exist");
	repl_cfg_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_place),
		cmocka_unit_test(test_update),
		cmocka_unit_test(test_delete),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
