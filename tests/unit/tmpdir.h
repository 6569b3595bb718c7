/* SPDX-License-Identifier: MIT */
/* Shared by the unit tests that work in a temporary folder (mkdtemp). */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

/* Remove a test's temporary folder and all in it; a failure fails the test. */
static inline void tmpdir_remove(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}
