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

static struct guest_conf *parse(const char *text)
{
	struct drover_err err = { "" };
	struct guest_conf *c = NULL;

	assert_int_equal(guest_conf_parse(GUEST_QEMU, "100.conf", text, strlen(text), &c, &err), 0);
	return c;
}

/* The state volume of a snapshot with RAM: qm's name, sized for the RAM. */
static void test_state_volume(void **state)
{
	char name[32];

	(void)state;
	assert_int_equal(vm_state_volume_name(100, "before-upgrade", name, sizeof(name)), 0);
	assert_string_equal(name, "vm-100-state-before-upgrade");
	assert_int_equal(vm_state_volume_name(100, "a-very-long-snapshot-name", name, sizeof(name)),
			 -ENAMETOOLONG);
	/* twice the RAM in whole MiB, plus 500 MiB of device state */
	assert_true(vm_state_size(512 << 10) == (uint64_t)(1024 + 500) << 20);
	/* 262080K is 255.9 MiB: rounded up */
	assert_true(vm_state_size(262080) == (uint64_t)(512 + 500) << 20);
}

static void test_state_storage_and_memory(void **state)
{
	struct drover_err err = { "" };
	struct guest_conf *c = parse("unused0: other:100/vm-100-disk-9.raw\n"
				     "ide2: local:iso/debian.iso,media=cdrom\n"
				     "memory: 262080K\n"
				     "virtio0: fast:100/vm-100-disk-0.raw,size=8G\n"
				     "scsi1: slow:100/vm-100-disk-1.raw,size=1G\n");
	char store[64];
	uint64_t kib;

	(void)state;
	assert_int_equal(vm_state_storage(guest_conf_current(c), store, sizeof(store), &err), 0);
	assert_string_equal(store, "fast");
	assert_int_equal(vm_state_memory_kib(guest_conf_current(c), &kib, &err), 0);
	assert_true(kib == 262080);
	guest_conf_free(c);

	c = parse("ide2: local:iso/debian.iso,media=cdrom\nscsi0: /dev/sdb,size=1G\n");
	assert_int_equal(vm_state_storage(guest_conf_current(c), store, sizeof(store), &err),
			 -ENOENT);
	assert_non_null(strstr(err.text, "no disk on a storage"));
	assert_int_equal(vm_state_memory_kib(guest_conf_current(c), &kib, &err), 0);
	assert_true(kib == 512 << 10);
	guest_conf_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_volumes),
		cmocka_unit_test(test_state_volume),
		cmocka_unit_test(test_state_storage_and_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
