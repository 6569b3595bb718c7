/* SPDX-License-Identifier: MIT */
/*
 * replication.cfg (libdrover/replication/config.c): pvesr's example read
 * and written back byte for byte, the writer's order, comment escaping,
 * the checks (one job per guest and target, IDs, values) and their
 * FILE:LINE messages.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "libdrover/replication/config.h"

static const char example[] = "local: 100-0\n"
			      "\ttarget pve2\n"
			      "\trate 10\n"
			      "\tschedule */5\n"
			      "\tsource pve1\n"
			      "\n"
			      "local: 100-1\n"
			      "\tcomment nightly%3A offsite\n"
			      "\tdisable\n"
			      "\ttarget pve3\n"
			      "\tschedule mon..fri 22:30\n"
			      "\tsource pve1\n"
			      "\n";

static void test_round_trip(void **state)
{
	struct drover_err err = { "" };
	struct buf out = BUF_INIT;
	struct repl_cfg cfg;
	const struct repl_job *j;

	(void)state;
	assert_int_equal(repl_cfg_parse(example, strlen(example), "replication.cfg", &cfg, &err),
			 0);
	assert_int_equal(cfg.n, 2);
	j = repl_cfg_find(&cfg, 100, 1);
	assert_non_null(j);
	assert_string_equal(j->comment, "nightly: offsite");
	assert_true(j->disable);
	assert_string_equal(j->target, "pve3");
	assert_int_equal(cfg.lines[1], 7);
	j = repl_cfg_find_target(&cfg, 100, "pve2");
	assert_non_null(j);
	assert_true(j->rate == 10);
	assert_int_equal(strlen(cfg.digest), 40);
	assert_int_equal(repl_cfg_write(&cfg, &out), 0);
	assert_int_equal(out.len, strlen(example));
	assert_memory_equal(out.data, example, out.len);
	buf_free(&out);
	repl_cfg_free(&cfg);
}

static void test_writer_order_and_escapes(void **state)
{
	static const char text[] = "local: 200-03\n"
				   "\tsource n1\n"
				   "\tschedule daily\n"
				   "\tremove_job full\n"
				   "\ttarget n2\n"
				   "\tcomment a%25b\n"
				   "\tdisable 0\n"
				   "\n";
	struct drover_err err = { "" };
	struct buf out = BUF_INIT, c = BUF_INIT;
	struct repl_cfg cfg;
	char back[64];

	(void)state;
	assert_int_equal(repl_cfg_parse(text, strlen(text), "replication.cfg", &cfg, &err), 0);
	assert_int_equal(repl_cfg_write(&cfg, &out), 0);
	assert_int_equal(buf_terminate(&out), 0);
	/* comment, (no disable: 0), target, then sorted: remove_job, schedule, source */
	assert_string_equal((char *)out.data, "local: 200-3\n\tcomment a%25b\n\ttarget n2\n"
					      "\tremove_job full\n\tschedule daily\n"
					      "\tsource n1\n\n");
	assert_int_equal(repl_comment_encode("x:y%z\n\xc3\xa9 ok", &c), 0);
	assert_string_equal((char *)c.data, "x%3Ay%25z%0A%C3%A9 ok");
	assert_int_equal(repl_comment_decode((char *)c.data, back, sizeof(back)), 0);
	assert_string_equal(back, "x:y%z\n\xc3\xa9 ok");
	assert_int_equal(repl_comment_decode("bad%4", back, sizeof(back)), -EINVAL);
	buf_free(&c);
	buf_free(&out);
	repl_cfg_free(&cfg);
}

static void test_errors(void **state)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "local: 100-0\n\ttarget n2\n\trate fast\n\n",
		  "replication.cfg:3: rate 'fast' is not a number" },
		{ "local: 100-0\n\ttarget n2\n\n\nlocal: 100-1\n\ttarget n2\n\n",
		  "replication.cfg:5: guest 100 is already replicated to n2 by job 100-0" },
		{ "local: 100-0\n\ttarget n2\n\nlocal: 100-00\n\ttarget n3\n\n",
		  "replication.cfg:4: replication job 100-0 exists already" },
		{ "local: 100-0\n\tschedule */5\n\n",
		  "replication.cfg:1: job 100-0 has no target" },
		{ "remote: 100-0\n\ttarget n2\n\n",
		  "replication.cfg:1: unknown job type 'remote'" },
		{ "local: 99-0\n\ttarget n2\n\n", "replication.cfg:1" },
		{ "local: 100-0\n\ttarget n2\n\tcolour red\n\n",
		  "replication.cfg:3: unknown key 'colour'" },
		{ "local: 100-0\n\ttarget n2\n\tschedule mon..fry\n\n",
		  "replication.cfg:1: job 100-0: schedule" },
		{ "local: 100-0\n\ttarget n2\n\tremove_job some\n\n",
		  "replication.cfg:3: remove_job 'some' is not local or full" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct drover_err err = { "" };
		struct repl_cfg cfg;

		assert_int_not_equal(repl_cfg_parse(bad[i].text, strlen(bad[i].text),
						    "replication.cfg", &cfg, &err),
				     0);
		if (!strstr(err.text, bad[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.text, bad[i].msg);
		assert_int_equal(cfg.n, 0);
	}
}

static void test_add_remove(void **state)
{
	struct drover_err err = { "" };
	struct repl_cfg cfg = { 0 };
	struct repl_job j = { .guest = 100, .jobnum = 0, .target = "n2" };

	(void)state;
	assert_int_equal(repl_cfg_add(&cfg, &j, &err), 0);
	assert_int_equal(repl_cfg_add(&cfg, &j, &err), -EEXIST);
	j.jobnum = 1;
	assert_int_equal(repl_cfg_add(&cfg, &j, &err), -EEXIST);
	assert_non_null(strstr(err.text, "one job per guest and target"));
	snprintf(j.target, sizeof(j.target), "n3");
	assert_int_equal(repl_cfg_add(&cfg, &j, &err), 0);
	j.rate = 0.5;
	j.jobnum = 2;
	snprintf(j.target, sizeof(j.target), "n4");
	assert_int_equal(repl_cfg_add(&cfg, &j, &err), -EINVAL);
	assert_int_equal(cfg.n, 2);
	assert_int_equal(repl_cfg_remove(&cfg, 100, 0), 0);
	assert_int_equal(repl_cfg_remove(&cfg, 100, 0), -ENOENT);
	assert_int_equal(cfg.n, 1);
	assert_string_equal(cfg.jobs[0].target, "n3");
	repl_cfg_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_writer_order_and_escapes),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_add_remove),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
