/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of what libdrover's operations share: the error struct, the
 * reporter, the preconditions, the database file set, and the cluster
 * status as JSON. The operations themselves run on sandbox clusters
 * (tests/integration/test_cluster_*.py).
 */
#include <corosync/votequorum.h>
#include <errno.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "basic/util.h"
#include "libdrover/cfs/dbfiles.h"
#include "libdrover/cluster/require.h"
#include "libdrover/cluster/status.h"
#include "libdrover/error.h"
#include "libdrover/report.h"

static void test_fail_prefix_append_and_run(void **state)
{
	struct drover_err err = { "" };

	assert_int_equal(drover_fail(&err, -EINVAL, "storage.cfg:%d: unknown key", 12), -EINVAL);
	assert_string_equal(err.text, "storage.cfg:12: unknown key");
	drover_fail_prefix(&err, -EINVAL, "reading %s", "the config");
	assert_string_equal(err.text, "reading the config: storage.cfg:12: unknown key");
	drover_fail_append(&err, -EINVAL, " (fix it and retry)");
	assert_string_equal(err.text,
			    "reading the config: storage.cfg:12: unknown key (fix it and retry)");
	/* a program's output without its newline; one that could not run: errno */
	assert_int_equal(drover_fail_run(&err, 1, "no such subvolume\n", "btrfs %s", "send"), -EIO);
	assert_string_equal(err.text, "btrfs send: no such subvolume");
	assert_int_equal(drover_fail_run(&err, -ENOENT, NULL, "zstd"), -ENOENT);
	assert_string_equal(err.text, "zstd: No such file or directory");
	/* NULL: nothing to fill, the code still comes back */
	assert_int_equal(drover_fail(NULL, -EIO, "x"), -EIO);
	assert_int_equal(drover_fail_append(NULL, -EIO, "x"), -EIO);
}

static void test_fail_prefix_cuts_long_text_at_the_end(void **state)
{
	struct drover_err err;
	char long_text[DROVER_ERR_MAX * 2];

	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	drover_fail(&err, -EIO, "%s", long_text);
	drover_fail_prefix(&err, -EIO, "step");
	assert_true(strlen(err.text) < DROVER_ERR_MAX);
	assert_memory_equal(err.text, "step: xxx", 9);
	drover_fail_append(&err, -EIO, "more");
	assert_true(strlen(err.text) < DROVER_ERR_MAX);
}

struct seen {
	int n;
	enum drover_event_kind kinds[8];
	char texts[8][64];
};

static void record(void *ctx, const struct drover_event *ev)
{
	struct seen *s = ctx;

	assert_true(s->n < 8);
	s->kinds[s->n] = ev->kind;
	snprintf(s->texts[s->n], sizeof(s->texts[0]), "%s", ev->text ? ev->text : "");
	s->n++;
}

static void test_reporter_kinds(void **state)
{
	struct seen s = { 0 };
	struct drover_reporter rep = { record, &s };

	drover_report_log(&rep, "step %d", 1);
	drover_report_warn(&rep, "careful");
	drover_report_note(&rep, "note: %s", "advice");
	drover_report_error(&rep, "node2: %s", "unreachable");
	drover_report_bytes(&rep, 10, 100, 5, 2);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.kinds[0], DROVER_EVENT_LOG);
	assert_string_equal(s.texts[0], "step 1");
	assert_int_equal(s.kinds[1], DROVER_EVENT_WARN);
	assert_int_equal(s.kinds[2], DROVER_EVENT_NOTE);
	assert_string_equal(s.texts[2], "note: advice");
	assert_int_equal(s.kinds[3], DROVER_EVENT_ERROR);
	assert_string_equal(s.texts[3], "node2: unreachable");
	assert_int_equal(s.kinds[4], DROVER_EVENT_BYTES);
	/* no reporter, or one without a function: nothing happens */
	drover_report_log(NULL, "x");
	drover_report_warn(&(struct drover_reporter){ NULL, NULL }, "x");
}

static void test_require_checks_only_what_is_asked(void **state)
{
	struct drover_err err = { "" };
	struct cfs_brief b;

	assert_int_equal(drover_require(0, "cluster status", NULL, &b, &err), 0);
	if (geteuid() == 0)
		assert_int_equal(drover_require(DROVER_NEED_ROOT, "cluster add", NULL, &b, &err),
				 0);
	else
		assert_int_equal(drover_require(DROVER_NEED_ROOT, "cluster add", NULL, &b, &err),
				 -EPERM);
	/* no droverfs at this socket: said so, with the socket's path */
	memset(&err, 0, sizeof(err));
	assert_true(drover_require(DROVER_NEED_CFS, "cluster nextid", "/nonexistent/cfs.sock", &b,
				   &err) < 0);
	assert_non_null(strstr(err.text, "cannot reach droverfs at /nonexistent/cfs.sock"));
}

static void touch(const char *path, const char *text)
{
	assert_int_equal(write_file_atomic(path, text, strlen(text), 0600), 0);
}

static void test_db_files_move_the_whole_set(void **state)
{
	char dir[64] = "/tmp/drover-test-ops-XXXXXX", from[128], to[128], path[160];
	char *data;
	size_t len;

	assert_non_null(mkdtemp(dir));
	snprintf(from, sizeof(from), "%s/config.db", dir);
	snprintf(to, sizeof(to), "%s/backup.db", dir);
	touch(from, "db");
	snprintf(path, sizeof(path), "%s-wal", from);
	touch(path, "wal");
	snprintf(path, sizeof(path), "%s.journal", from);
	touch(path, "journal");
	/* no -shm: skipped */
	assert_int_equal(db_files_move(from, to, NULL), 0);
	assert_int_equal(access(from, F_OK), -1);
	for (size_t i = 0; i < db_file_suffix_count; i++) {
		snprintf(path, sizeof(path), "%s%s", to, db_file_suffixes[i]);
		if (streq(db_file_suffixes[i], "-shm")) {
			assert_int_equal(access(path, F_OK), -1);
			continue;
		}
		assert_int_equal(read_file_max(path, 100, &data, &len), 0);
		assert_string_equal(data, streq(db_file_suffixes[i], "")       ? "db"
					  : streq(db_file_suffixes[i], "-wal") ? "wal"
									       : "journal");
		free(data);
		unlink(path);
	}
	assert_int_equal(rmdir(dir), 0);
}

static void test_db_files_move_says_what_failed(void **state)
{
	char dir[64] = "/tmp/drover-test-ops-XXXXXX", from[128];
	struct drover_err err = { "" };

	assert_non_null(mkdtemp(dir));
	snprintf(from, sizeof(from), "%s/config.db", dir);
	touch(from, "db");
	assert_int_equal(db_files_move(from, "/nonexistent/dir/config.db", &err), -ENOENT);
	assert_non_null(strstr(err.text, "moving"));
	assert_non_null(strstr(err.text, "/nonexistent/dir/config.db"));
	assert_int_equal(unlink(from), 0);
	assert_int_equal(rmdir(dir), 0);
}

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	return json_object_get_string(v);
}

static void test_status_json_and_flags(void **state)
{
	struct cs_status *s = calloc(1, sizeof(*s));
	struct json_object *o, *nodes, *n, *links, *q;
	char flags[160];

	snprintf(s->cluster_name, sizeof(s->cluster_name), "alpha");
	s->config_version = 7;
	s->quorate = true;
	s->flags = VOTEQUORUM_INFO_QUORATE | VOTEQUORUM_INFO_QDEVICE_REGISTERED;
	snprintf(s->qdevice_model, sizeof(s->qdevice_model), "net");
	snprintf(s->qdevice_host, sizeof(s->qdevice_host), "10.99.0.254");
	s->nnodes = 1;
	s->nodes[0] = (struct cs_member){
		.nodeid = 1, .votes = 1, .online = true, .local = true, .link_mask = 3, .link_up = 1
	};
	snprintf(s->nodes[0].name, sizeof(s->nodes[0].name), "node1");
	cluster_status_flag_names(s->flags, flags, sizeof(flags));
	assert_string_equal(flags, "Quorate Qdevice");
	assert_true(cluster_status_qdevice_registered(s));
	o = cluster_status_json(s);
	assert_non_null(o);
	assert_string_equal(get_str(o, "cluster_name"), "alpha");
	assert_string_equal(get_str(o, "flags"), "Quorate Qdevice");
	assert_true(json_object_object_get_ex(o, "qdevice", &q) && q);
	assert_string_equal(get_str(q, "host"), "10.99.0.254");
	assert_true(json_object_object_get_ex(o, "nodes", &nodes));
	assert_int_equal(json_object_array_length(nodes), 1);
	n = json_object_array_get_idx(nodes, 0);
	assert_string_equal(get_str(n, "name"), "node1");
	assert_true(json_object_object_get_ex(n, "links", &links));
	assert_string_equal(get_str(links, "link0"), "true");
	assert_string_equal(get_str(links, "link1"), "false");
	json_object_put(o);
	/* without a device: null */
	s->qdevice_model[0] = '\0';
	o = cluster_status_json(s);
	assert_true(json_object_object_get_ex(o, "qdevice", &q) && !q);
	json_object_put(o);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fail_prefix_append_and_run),
		cmocka_unit_test(test_fail_prefix_cuts_long_text_at_the_end),
		cmocka_unit_test(test_reporter_kinds),
		cmocka_unit_test(test_require_checks_only_what_is_asked),
		cmocka_unit_test(test_db_files_move_the_whole_set),
		cmocka_unit_test(test_db_files_move_says_what_failed),
		cmocka_unit_test(test_status_json_and_flags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
