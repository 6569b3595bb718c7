/* SPDX-License-Identifier: MIT */
/* libdrover's error struct: drover_fail and drover_fail_prefix. */
#include <errno.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "libdrover/error.h"

static void test_fail(void **ctx)
{
	struct drover_err err = { { 0 } };

	assert_int_equal(drover_fail(&err, -EINVAL, "storage.cfg:%d: unknown key '%s'", 12, "pth"),
			 -EINVAL);
	assert_string_equal(err.text, "storage.cfg:12: unknown key 'pth'");
	assert_int_equal(drover_fail(NULL, -EIO, "nobody listens"), -EIO);
}

static void test_prefix(void **ctx)
{
	struct drover_err err = { { 0 } };
	char longtext[DROVER_ERR_MAX + 100];

	drover_fail(&err, -EIO, "btrfs send exited with 1");
	assert_int_equal(drover_fail_prefix(&err, -EIO, "export of %s", "local:100/x.raw"), -EIO);
	assert_string_equal(err.text, "export of local:100/x.raw: btrfs send exited with 1");

	/* too long: cut at the end, always terminated */
	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	drover_fail(&err, -EIO, "%s", "inner");
	drover_fail_prefix(&err, -EIO, "%.*s", DROVER_ERR_MAX - 10, longtext);
	assert_int_equal(strlen(err.text), DROVER_ERR_MAX - 10 + strlen(": inner"));
	assert_string_equal(err.text + DROVER_ERR_MAX - 10, ": inner");
	drover_fail(&err, -EIO, "%.*s", DROVER_ERR_MAX - 20, longtext);
	drover_fail_prefix(&err, -EIO, "%.*s", DROVER_ERR_MAX - 20, longtext);
	assert_int_equal(strlen(err.text), DROVER_ERR_MAX - 1); /* the inner text is cut */
	drover_fail_prefix(&err, -EIO, "%s", longtext);
	assert_int_equal(strlen(err.text), DROVER_ERR_MAX - 1);
	assert_int_equal(drover_fail_prefix(NULL, -EIO, "x"), -EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fail),
		cmocka_unit_test(test_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
