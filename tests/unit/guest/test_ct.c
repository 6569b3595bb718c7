/* SPDX-License-Identifier: MIT */
/* What the container operations share and can be checked without a host: volumes of a config, paths. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "libdrover/guest/lxc/ct_internal.h"

static struct guest_conf *parse(const char *text)
{
	struct drover_err err = { "" };
	struct guest_conf *c = NULL;
	int r = guest_conf_parse(GUEST_LXC, "lxc/100.conf", text, strlen(text), &c, &err);

	if (r < 0)
		fail_msg("parse: %s", err.text);
	return c;
}

static void test_section_volumes(void **state)
{
	struct guest_conf *c = parse("arch: amd64\n"
				     "mp0: local:100/vm-100-disk-1.raw,mp=/data,size=1G\n"
				     "mp1: /srv/host,mp=/host\n"
				     "rootfs: local-btrfs:100/subvol-100-disk-0.subvol,size=8G\n"
				     "unused0: local:100/vm-100-disk-2.raw\n");
	struct drover_err err = { "" };
	char vols[8][256];
	size_t n = 0;

	(void)state;
	/* rootfs first, then mpN with a volume (a host path is no volume), unusedN when asked */
	assert_int_equal(ct_section_volumes(guest_conf_current(c), false, vols, 8, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(vols[0], "local-btrfs:100/subvol-100-disk-0.subvol");
	assert_string_equal(vols[1], "local:100/vm-100-disk-1.raw");
	assert_int_equal(ct_section_volumes(guest_conf_current(c), true, vols, 8, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(vols[2], "local:100/vm-100-disk-2.raw");
	/* too many for the caller's room: refused, not cut */
	assert_int_equal(ct_section_volumes(guest_conf_current(c), true, vols, 1, &n, &err),
			 -E2BIG);
	guest_conf_free(c);
}

static void test_dir(void **state)
{
	char p[64];

	(void)state;
	assert_int_equal(ct_dir(100, NULL, p, sizeof(p)), 0);
	assert_string_equal(p, CT_LXC_PATH "/100");
	assert_int_equal(ct_dir(100, "config", p, sizeof(p)), 0);
	assert_string_equal(p, CT_LXC_PATH "/100/config");
	assert_int_equal(ct_dir(100, "a-name-that-does-not-fit-into-the-buffer-at-all", p, 32),
			 -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_section_volumes),
		cmocka_unit_test(test_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
