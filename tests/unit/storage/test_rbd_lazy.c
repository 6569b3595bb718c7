/* SPDX-License-Identifier: MIT */
/*
 * librados and librbd loaded on demand (rbd_lazy.c): the table is filled
 * from the real libraries, a missing library or symbol is named, a library
 * that could not be opened is tried again at the next load, and a process
 * that never opens an rbd storage has neither library mapped.
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

#define RBD_LAZY_NO_MACROS
#include "libdrover/storage/rbd_lazy.h"

/* Is a library whose path contains name mapped into this process? */
static bool mapped(const char *name)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	bool found = false;

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, name) != NULL;
	fclose(f);
	return found;
}

static void test_not_loaded_until_asked(void **state)
{
	(void)state;
	assert_false(mapped("librbd.so"));
	assert_false(mapped("librados.so"));
	assert_null(rbd_lib.rbd_open);
}

static void test_missing_library_is_named(void **state)
{
	struct rbd_lib lib = { 0 };
	char why[256] = "";
	bool lasting = true;

	(void)state;
	assert_int_equal(rbd_lib_open("libdrover-no-such-rados.so.2", RBD_LIB_RBD, &lib, why,
				      sizeof(why), &lasting),
			 -ENOPKG);
	assert_non_null(strstr(why, "libdrover-no-such-rados.so.2"));
	assert_null(lib.rados_create2);
	assert_false(lasting); /* it may be installed later */
}

static void test_missing_symbol_is_named(void **state)
{
	struct rbd_lib lib = { 0 };
	char why[256] = "";
	bool lasting = false;

	(void)state;
	/* librados as "librbd": it has none of librbd's functions */
	assert_int_equal(
		rbd_lib_open(RBD_LIB_RADOS, RBD_LIB_RADOS, &lib, why, sizeof(why), &lasting),
		-ENOPKG);
	assert_string_equal(why, "librados.so.2 has no rbd_aio_create_completion");
	assert_true(lasting); /* the mapped library will not grow the function */
}

/*
 * A library that cannot be opened fails this load only: the process's
 * table stays empty and the next load (here with the real names, which
 * stand for a library installed meanwhile) fills it.
 */
static void test_unopenable_library_is_retried(void **state)
{
	struct drover_err err = { "" };

	(void)state;
	assert_int_equal(rbd_lib_load_from("libdrover-no-such-rados.so.2", RBD_LIB_RBD, &err),
			 -ENOPKG);
	assert_non_null(strstr(err.text, "librados2 and librbd1"));
	assert_non_null(strstr(err.text, "libdrover-no-such-rados.so.2"));
	assert_null(rbd_lib.rados_create2);
}

static void test_load_fills_every_function(void **state)
{
	struct drover_err err = { "" };
	void *const *slot = (void *const *)&rbd_lib;

	(void)state;
	assert_int_equal(rbd_lib_load(&err), 0);
	for (size_t i = 0; i < sizeof(rbd_lib) / sizeof(void *); i++)
		assert_non_null(slot[i]);
	assert_true(mapped("librbd.so"));
	/* a call through the table reaches the library */
	{
		rados_t cluster;

		assert_int_equal(rbd_lib.rados_create2(&cluster, "ceph", "client.admin", 0), 0);
		rbd_lib.rados_shutdown(cluster);
	}
	assert_int_equal(rbd_lib_load(&err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_loaded_until_asked),
		cmocka_unit_test(test_missing_library_is_named),
		cmocka_unit_test(test_missing_symbol_is_named),
		cmocka_unit_test(test_unopenable_library_is_retried),
		cmocka_unit_test(test_load_fills_every_function),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
