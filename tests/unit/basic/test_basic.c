/* SPDX-License-Identifier: MIT */
/* Unit tests of src/basic's shared helpers: growing arrays, mkdir_p, atomic writes, waiting. */
#include <errno.h>
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

#include "tmpdir.h"

#include "basic/array.h"
#include "basic/process.h"
#include "basic/timefmt.h"
#include "basic/util.h"

struct item {
	uint64_t a, b;
};

static void test_array_grows_and_keeps_items(void **state)
{
	struct item *items = NULL;
	size_t n = 0, cap = 0;

	for (uint64_t i = 0; i < 1000; i++) {
		assert_int_equal(ARRAY_GROW(items, cap, n + 1), 0);
		assert_true(cap >= n + 1);
		items[n++] = (struct item){ i, i * 3 };
	}
	for (uint64_t i = 0; i < 1000; i++)
		assert_true(items[i].a == i && items[i].b == i * 3);
	/* room that is there already: nothing changes */
	{
		size_t before = cap;
		struct item *p = items;

		assert_int_equal(ARRAY_GROW(items, cap, 10), 0);
		assert_true(cap == before && items == p);
	}
	free(items);
}

static void test_array_refuses_overflow(void **state)
{
	struct item *items = NULL;
	size_t cap = 0;

	assert_int_equal(ARRAY_GROW(items, cap, SIZE_MAX / 2), -ENOMEM);
	assert_null(items);
	assert_int_equal(cap, 0);
}

static void tmpdir(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/drover-test-basic-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static void test_mkdir_p_makes_parents_and_accepts_existing(void **state)
{
	char dir[128], path[256];
	struct stat st;

	tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	assert_int_equal(mkdir_p(path, 0700), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(mkdir_p(path, 0700), 0);
	/* a file in the way is an error, not a success */
	snprintf(path, sizeof(path), "%s/file", dir);
	assert_int_equal(write_file_atomic(path, "x", 1, 0644), 0);
	snprintf(path, sizeof(path), "%s/file/below", dir);
	assert_int_equal(mkdir_p(path, 0755), -ENOTDIR);
	tmpdir_remove(dir);
}

static void test_write_file_atomic_replaces_whole(void **state)
{
	char dir[128], path[256], *data;
	size_t len;
	struct stat st;

	tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(write_file_atomic(path, "first version\n", 14, 0640), 0);
	assert_int_equal(write_file_atomic(path, "second\n", 7, 0640), 0);
	assert_int_equal(read_file_max(path, 100, &data, &len), 0);
	assert_int_equal(len, 7);
	assert_string_equal(data, "second\n");
	free(data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	/* no temporary file left behind */
	snprintf(path, sizeof(path), "%s/f.tmp.%d", dir, (int)getpid());
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/no-such-dir/f", dir);
	assert_int_equal(write_file_atomic(path, "x", 1, 0644), -ENOENT);
	tmpdir_remove(dir);
}

static void test_process_wait_reports_status_and_signal(void **state)
{
	char *exit3[] = { "sh", "-c", "exit 3", NULL };
	char *killed[] = { "sh", "-c", "kill -9 $$", NULL };
	pid_t pid = process_spawn(exit3, NULL, NULL);

	assert_true(pid > 0);
	assert_int_equal(process_wait(pid), 3);
	pid = process_spawn(killed, NULL, NULL);
	assert_true(pid > 0);
	assert_int_equal(process_wait(pid), 128 + 9);
	assert_int_equal(process_wait(pid), -ECHILD); /* reaped already */
	assert_int_equal(process_run(exit3, NULL, 0, NULL, NULL), 3);
}

static void test_timefmt_utc_local_and_failures(void **state)
{
	char out[64];

	assert_int_equal(timefmt(0, true, TIMEFMT_DATETIME, out, sizeof(out)), 0);
	assert_string_equal(out, "1970-01-01 00:00:00");
	assert_int_equal(timefmt(1700000000, true, "%Y-%m-%d_%H:%M:%S", out, sizeof(out)), 0);
	assert_string_equal(out, "2023-11-14_22:13:20");
	/* local time follows TZ (a POSIX rule: no zone database needed) */
	setenv("TZ", "CET-1", 1);
	tzset();
	assert_string_equal(timefmt_local(0, out, sizeof(out)), "1970-01-01 01:00:00");
	setenv("TZ", "UTC0", 1);
	tzset();
	assert_string_equal(timefmt_local(1700000000, out, sizeof(out)), "2023-11-14 22:13:20");
	/* too small for the text: nothing half-written */
	assert_int_equal(timefmt(0, true, TIMEFMT_DATETIME, out, 8), -ERANGE);
	assert_string_equal(out, "");
	/* a year the C library cannot break down */
	memcpy(out, "junk", 5);
	assert_int_equal(timefmt(INT64_MAX, false, TIMEFMT_DATETIME, out, sizeof(out)), -ERANGE);
	assert_string_equal(out, "");
	assert_string_equal(timefmt_local(INT64_MAX, out, sizeof(out)), "");
}

static void test_timefmt_duration(void **state)
{
	char out[32];

	timefmt_duration(3725, out, sizeof(out));
	assert_string_equal(out, "1h 02m 05s");
	timefmt_duration(190, out, sizeof(out));
	assert_string_equal(out, "3m 10s");
	timefmt_duration(60, out, sizeof(out));
	assert_string_equal(out, "1m 00s");
	timefmt_duration(42, out, sizeof(out));
	assert_string_equal(out, "42s");
	timefmt_duration(-5, out, sizeof(out));
	assert_string_equal(out, "0s");
	timefmt_duration(100 * 3600, out, sizeof(out));
	assert_string_equal(out, "100h 00m 00s");
}

static void test_hex_digit(void **state)
{
	const char *digits = "0123456789abcdef", *upper = "ABCDEF";

	for (int i = 0; i < 16; i++)
		assert_int_equal(hex_digit(digits[i]), i);
	for (int i = 0; i < 6; i++)
		assert_int_equal(hex_digit(upper[i]), 10 + i);
	assert_int_equal(hex_digit('g'), -1);
	assert_int_equal(hex_digit('G'), -1);
	assert_int_equal(hex_digit('%'), -1);
	assert_int_equal(hex_digit('\0'), -1);
	assert_int_equal(hex_digit((char)0xe9), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_array_grows_and_keeps_items),
		cmocka_unit_test(test_array_refuses_overflow),
		cmocka_unit_test(test_mkdir_p_makes_parents_and_accepts_existing),
		cmocka_unit_test(test_write_file_atomic_replaces_whole),
		cmocka_unit_test(test_process_wait_reports_status_and_signal),
		cmocka_unit_test(test_timefmt_utc_local_and_failures),
		cmocka_unit_test(test_timefmt_duration),
		cmocka_unit_test(test_hex_digit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
