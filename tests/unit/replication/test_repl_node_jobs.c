/* SPDX-License-Identifier: MIT */
/*
 * This node's jobs as the front ends ask for them
 * (libdrover/replication/node_jobs): the Prometheus text of metrics, and
 * set-state on a real state file (its lock, its atomic replacement).
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

#include "tmpdir.h"

#include "libdrover/replication/node_jobs.h"
#include "libdrover/replication/state_store.h"
#include "repl_helpers.h"

static void test_metrics(void **state)
{
	struct repl_job_status v[2] = { { .job = mkjob(100, 0, "node2", "node1") },
					{ .job = mkjob(101, 1, "node3", "node1") } };
	struct buf out = BUF_INIT;
	char *text;

	v[0].st.last_sync = 1000;
	v[0].st.bytes = 4096;
	v[0].next_sync = 1900;
	v[1].running = true;
	v[1].st.fail_count = 2;
	assert_int_equal(repl_metrics_text(v, 2, 1600, &out), 0);
	assert_int_equal(buf_terminate(&out), 0);
	text = (char *)out.data;
	assert_non_null(strstr(text, "# HELP drover_replication_lag_seconds Now minus the last "
				     "successful sync (-1: never).\n"
				     "# TYPE drover_replication_lag_seconds gauge\n"
				     "drover_replication_lag_seconds{job=\"100-0\",guest=\"100\","
				     "target=\"node2\"} 600\n"
				     "drover_replication_lag_seconds{job=\"101-1\",guest=\"101\","
				     "target=\"node3\"} -1\n"));
	assert_non_null(strstr(text, "drover_replication_bytes{job=\"100-0\",guest=\"100\","
				     "target=\"node2\"} 4096\n"));
	assert_non_null(strstr(text, "drover_replication_running{job=\"101-1\",guest=\"101\","
				     "target=\"node3\"} 1\n"));
	assert_non_null(strstr(text, "drover_replication_fail_count{job=\"101-1\",guest=\"101\","
				     "target=\"node3\"} 2\n"));
	/* seven gauges, each with its HELP and TYPE and a line per job */
	{
		int lines = 0;

		for (char *p = text; *p; p++)
			lines += *p == '\n';
		assert_int_equal(lines, 7 * (2 + 2));
	}
	buf_free(&out);
}

static void test_set_state(void **state)
{
	char dir[] = "/tmp/drover-nodejobs-XXXXXX", path[128];
	struct drover_err err = { "" };
	struct repl_state st;
	const struct repl_job_state *js;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	assert_int_equal(repl_state_set_guest(path, 100,
					      "{\"local/node3\":{\"last_sync\":1700000000,"
					      "\"fail_count\":0}}",
					      &err),
			 0);
	assert_int_equal(repl_state_read(path, &st, &err), 0);
	js = repl_state_find(&st, 100, "node3");
	assert_non_null(js);
	assert_int_equal(js->last_sync, 1700000000);
	repl_state_free(&st);
	/* bad JSON: the parser's error, and the file as it was */
	assert_int_not_equal(repl_state_set_guest(path, 100, "{\"local/node3\":", &err), 0);
	assert_true(err.text[0] != '\0');
	assert_int_equal(repl_state_read(path, &st, &err), 0);
	assert_non_null(repl_state_find(&st, 100, "node3"));
	repl_state_free(&st);
	tmpdir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_set_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
