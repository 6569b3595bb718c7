/* SPDX-License-Identifier: MIT */
/*
 * Which volumes a VM owns as the VM operations see them (snapshot, destroy):
 * every storage volume of the current config and of its snapshots, unused
 * ones included; no CD-ROMs, no host paths, no "none".
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "basic/buf.h"
#include "libdrover/guest/vm.h"

static const char conf_text[] = "memory: 512\n"
				"ide2: local:iso/debian.iso,media=cdrom\n"
				"parent: s1\n"
				"scsi0: local-btrfs:100/vm-100-disk-0.raw,size=8G\n"
				"scsi1: /dev/sdb,size=1G\n"
				"unused0: local-btrfs:100/vm-100-disk-2.raw\n"
				"sata0: none,media=cdrom\n"
				"\n"
				"[s1]\n"
				"memory: 512\n"
				"scsi0: local-btrfs:100/vm-100-disk-0.raw,size=8G\n"
				"scsi2: local-btrfs:100/vm-100-disk-1.raw,size=1G\n"
				"snaptime: 1700000000\n";

static int note(void *ctx, const char *key, const char *volid)
{
	return buf_printf(ctx, "%s=%s|", key, volid);
}

static void test_volumes(void **state)
{
	struct drover_err err = { "" };
	struct guest_conf *c = NULL;
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(
		guest_conf_parse(GUEST_QEMU, "100.conf", conf_text, strlen(conf_text), &c, &err),
		0);
	assert_int_equal(vm_section_volumes(guest_conf_current(c), note, &b), 0);
	assert_int_equal(buf_terminate(&b), 0);
	assert_string_equal((char *)b.data, "scsi0=local-btrfs:100/vm-100-disk-0.raw|"
					    "unused0=local-btrfs:100/vm-100-disk-2.raw|");
	buf_free(&b);
	assert_int_equal(vm_each_volume(c, note, &b), 0);
	assert_int_equal(buf_terminate(&b), 0);
	assert_string_equal((char *)b.data, "scsi0=local-btrfs:100/vm-100-disk-0.raw|"
					    "unused0=local-btrfs:100/vm-100-disk-2.raw|"
					    "scsi0=local-btrfs:100/vm-100-disk-0.raw|"
					    "scsi2=local-btrfs:100/vm-100-disk-1.raw|");
	buf_free(&b);
	guest_conf_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_volumes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
