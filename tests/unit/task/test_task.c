/* SPDX-License-Identifier: MIT */
/* Tasks: UPIDs (format, parse, log path, process start) and the start/stop order of guests. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "libdrover/task/startup_order.h"
#include "libdrover/task/upid.h"

static void test_upid_format(void **state)
{
	struct upid u = { .node = "node1",
			  .pid = 0x1a2b,
			  .pstart = 0x5f5e100,
			  .starttime = 1700000000,
			  .type = "qmstart",
			  .id = "100",
			  .user = "root@pam" };
	char out[UPID_MAX];

	assert_int_equal(upid_format(&u, out, sizeof(out)), 59);
	assert_string_equal(out, "UPID:node1:00001A2B:05F5E100:6553F100:qmstart:100:root@pam:");
	u.pstart = 0x123456789ull; /* 9 digits after 497 days of uptime */
	assert_true(upid_format(&u, out, sizeof(out)) > 0);
	assert_string_equal(out, "UPID:node1:00001A2B:123456789:6553F100:qmstart:100:root@pam:");
	u.id[0] = '\0';
	assert_true(upid_format(&u, out, sizeof(out)) > 0);
	assert_string_equal(out, "UPID:node1:00001A2B:123456789:6553F100:qmstart::root@pam:");
	assert_int_equal(upid_format(&u, out, 20), -ENOSPC);

	u.pstart = 1ull << 36;
	assert_int_equal(upid_format(&u, out, sizeof(out)), -EINVAL);
	u.pstart = 1;
	strcpy(u.type, "a:b");
	assert_int_equal(upid_format(&u, out, sizeof(out)), -EINVAL);
	strcpy(u.type, "");
	assert_int_equal(upid_format(&u, out, sizeof(out)), -EINVAL);
	strcpy(u.type, "x");
	strcpy(u.user, "root pam");
	assert_int_equal(upid_format(&u, out, sizeof(out)), -EINVAL);
	strcpy(u.user, "root@pam");
	strcpy(u.node, "-bad");
	assert_int_equal(upid_format(&u, out, sizeof(out)), -EINVAL);
}

static void test_upid_parse(void **state)
{
	struct upid u;
	char out[UPID_MAX];
	const char *text = "UPID:pve-1:0000C0DE:00ABCDEF:6553F10a:vzdump:101:backup@pve!tok:";

	assert_int_equal(upid_parse(text, &u), 0);
	assert_string_equal(u.node, "pve-1");
	assert_int_equal(u.pid, 0xc0de);
	assert_int_equal(u.pstart, 0xabcdef);
	assert_int_equal(u.starttime, 0x6553f10a);
	assert_string_equal(u.type, "vzdump");
	assert_string_equal(u.id, "101");
	assert_string_equal(u.user, "backup@pve!tok");
	/* Written back, it is the same but for the hex case. */
	assert_true(upid_format(&u, out, sizeof(out)) > 0);
	assert_string_equal(out,
			    "UPID:pve-1:0000C0DE:00ABCDEF:6553F10A:vzdump:101:backup@pve!tok:");

	assert_int_equal(upid_parse("UPID:n:00000001:000000001:00000002:t::u:", &u), 0);
	assert_int_equal(u.pstart, 1);
	assert_string_equal(u.id, "");

	assert_int_equal(upid_parse("UPID:n:0000001:00000001:00000002:t:i:u:", &u), -EINVAL);
	assert_int_equal(upid_parse("UPID:n:00000001:0000000001:00000002:t:i:u:", &u), -EINVAL);
	assert_int_equal(upid_parse("UPID:n:00000001:00000001:0000000G:t:i:u:", &u), -EINVAL);
	assert_int_equal(upid_parse("UPID:n:00000001:00000001:00000002:t:i:u", &u), -EINVAL);
	assert_int_equal(upid_parse("UPID:n:00000001:00000001:00000002:t:i:u:x", &u), -EINVAL);
	assert_int_equal(upid_parse("UPID:n:00000001:00000001:00000002::i:u:", &u), -EINVAL);
	assert_int_equal(upid_parse("UPID:n:00000001:00000001:00000002:t:i::", &u), -EINVAL);
	assert_int_equal(upid_parse("UPID:n_1:00000001:00000001:00000002:t:i:u:", &u), -EINVAL);
	assert_int_equal(upid_parse("UPID:n:00000001:00000001:00000002:t:i i:u:", &u), -EINVAL);
	assert_int_equal(upid_parse("upid:n:00000001:00000001:00000002:t:i:u:", &u), -EINVAL);
	assert_int_equal(upid_parse("", &u), -EINVAL);
}

static void test_upid_log_path(void **state)
{
	char path[512];

	assert_int_equal(
		upid_log_path("/var/log/drover/tasks",
			      "UPID:node1:00001A2B:05F5E100:6553F10C:qmstart:100:root@pam:", path,
			      sizeof(path)),
		0);
	assert_string_equal(
		path,
		"/var/log/drover/tasks/C/UPID:node1:00001A2B:05F5E100:6553F10C:qmstart:100:root@pam:");
	assert_int_equal(upid_log_path("/x", "UPID:bad", path, sizeof(path)), -EINVAL);
	assert_int_equal(upid_log_path("/x", "UPID:n:00000001:00000001:00000002:t:i:u:", path, 10),
			 -ENOSPC);
}

static void test_proc_start(void **state)
{
	uint64_t a = 0, b = 0;

	/* Our own start time: stable across calls, and after the boot (not 0). */
	assert_int_equal(upid_proc_start(getpid(), &a), 0);
	assert_int_equal(upid_proc_start(getpid(), &b), 0);
	assert_int_equal(a, b);
	assert_true(a > 0);
	/* init started before us. */
	assert_int_equal(upid_proc_start(1, &b), 0);
	assert_true(b <= a);
	assert_int_equal(upid_proc_start(0x7ffffff0, &b), -ESRCH);
}

static struct startup_guest G(uint32_t vmid, long order, long up, long down) {
	return (struct startup_guest){ .vmid = vmid, .order = order, .up = up, .down = down };
}

static void
test_startup_order(void **state)
{
	struct startup_guest g[] = {
		G(300, -1, -1, -1), G(102, 2, 10, -1),	G(101, 2, -1, 30),
		G(200, 1, -1, -1),  G(100, -1, -1, -1), G(150, 0, 5, -1),
	};
	const uint32_t start[] = { 150, 200, 101, 102, 100, 300 };
	const uint32_t stop[] = { 300, 100, 102, 101, 200, 150 };

	startup_sort_start(g, 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(g[i].vmid, start[i]);
	startup_sort_stop(g, 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(g[i].vmid, stop[i]);
	assert_int_equal(startup_up_delay(&g[2]), 10);
	assert_int_equal(startup_up_delay(&g[0]), 0);
	assert_int_equal(startup_down_timeout(&g[3], 180), 30);
	assert_int_equal(startup_down_timeout(&g[0], 180), 180);
	startup_sort_start(g, 0);
}

static void test_startup_from_conf(void **state)
{
	const char *text = "memory: 512\nonboot: 1\nstartup: order=4,up=20\n";
	struct drover_err err = { "" };
	struct guest_conf *c = NULL;
	struct startup_guest g;

	assert_int_equal(guest_conf_parse(GUEST_LXC, "lxc/105.conf", text, strlen(text), &c, &err),
			 0);
	assert_int_equal(startup_guest_from_conf(c, 105, &g, &err), 0);
	assert_int_equal(g.vmid, 105);
	assert_int_equal(g.type, GUEST_LXC);
	assert_true(g.onboot);
	assert_int_equal(g.order, 4);
	assert_int_equal(g.up, 20);
	assert_int_equal(g.down, -1);
	guest_conf_free(c);

	c = guest_conf_new(GUEST_QEMU);
	assert_int_equal(startup_guest_from_conf(c, 7, &g, &err), 0);
	assert_false(g.onboot);
	assert_int_equal(g.order, -1);
	guest_conf_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upid_format),   cmocka_unit_test(test_upid_parse),
		cmocka_unit_test(test_upid_log_path), cmocka_unit_test(test_proc_start),
		cmocka_unit_test(test_startup_order), cmocka_unit_test(test_startup_from_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
