/* SPDX-License-Identifier: MIT */
/*
 * Volume IDs and names (storage/volname): their form per storage type, the
 * owner VMID, "..", names of other VMIDs; and the stream format two sides
 * agree on (storage_format_pick).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "libdrover/storage/storage.h"
#include "libdrover/storage/volname.h"

static void ok_file(const char *volname, unsigned vmid, const char *name,
		    enum storage_content content, enum storage_volformat fmt)
{
	struct drover_err err = { "" };
	struct storage_volname v;

	if (storage_volname_parse(volname, STORAGE_NAMING_FILE, &v, &err) < 0)
		fail_msg("%s: %s", volname, err.text);
	assert_int_equal(v.vmid, vmid);
	assert_string_equal(v.name, name);
	assert_int_equal(v.content, content);
	assert_int_equal(v.format, fmt);
}

static void bad(const char *volname, enum storage_naming naming, const char *want)
{
	struct drover_err err = { "" };
	struct storage_volname v;

	assert_int_equal(storage_volname_parse(volname, naming, &v, &err), -EINVAL);
	if (!strstr(err.text, want))
		fail_msg("%s: got '%s', want '%s'", volname, err.text, want);
}

static void test_file_names(void **state)
{
	(void)state;
	ok_file("100/vm-100-disk-0.raw", 100, "vm-100-disk-0", STORAGE_CONTENT_IMAGES,
		STORAGE_VOLFORMAT_RAW);
	ok_file("100/vm-100-disk-12.qcow2", 100, "vm-100-disk-12", STORAGE_CONTENT_IMAGES,
		STORAGE_VOLFORMAT_QCOW2);
	ok_file("101/subvol-101-disk-0.subvol", 101, "subvol-101-disk-0", STORAGE_CONTENT_ROOTDIR,
		STORAGE_VOLFORMAT_SUBVOL);
	ok_file("900/base-900-disk-0.raw", 900, "base-900-disk-0", STORAGE_CONTENT_IMAGES,
		STORAGE_VOLFORMAT_RAW);
	ok_file("100/vm-100-state-snap_1.raw", 100, "vm-100-state-snap_1", STORAGE_CONTENT_IMAGES,
		STORAGE_VOLFORMAT_RAW);
	ok_file("iso/debian-12.iso", 0, "debian-12.iso", STORAGE_CONTENT_ISO,
		STORAGE_VOLFORMAT_RAW);
	ok_file("vztmpl/busybox_1.36+x.tar.zst", 0, "busybox_1.36+x.tar.zst",
		STORAGE_CONTENT_VZTMPL, STORAGE_VOLFORMAT_RAW);

	/* another VMID's name, in either place */
	bad("100/vm-101-disk-0.raw", STORAGE_NAMING_FILE, "belongs to VMID 101, not to 100");
	/* climbing out */
	bad("100/../../etc/passwd", STORAGE_NAMING_FILE, "has '..' in it");
	bad("100/vm-100-disk-0..raw", STORAGE_NAMING_FILE, "has '..' in it");
	bad("iso/../x.iso", STORAGE_NAMING_FILE, "has '..' in it");
	bad("/100/vm-100-disk-0.raw", STORAGE_NAMING_FILE, "is not VMID/NAME.EXT");
	bad("100/sub/vm-100-disk-0.raw", STORAGE_NAMING_FILE, "is not VMID/NAME.EXT");
	bad("0100/vm-100-disk-0.raw", STORAGE_NAMING_FILE, "is not VMID/NAME.EXT");
	bad("vm-100-disk-0.raw", STORAGE_NAMING_FILE, "is not VMID/NAME.EXT");
	bad("100/vm-100-disk-0", STORAGE_NAMING_FILE, "does not end in .raw, .qcow2 or .subvol");
	bad("100/vm-100-disk-0.vmdk", STORAGE_NAMING_FILE, "does not end in");
	bad("100/disk-0.raw", STORAGE_NAMING_FILE, "is not a volume name");
	bad("100/vm-100.raw", STORAGE_NAMING_FILE, "no VMID after");
	bad("100/vm-100-.raw", STORAGE_NAMING_FILE, "nothing after the VMID");
	bad("100/vm-100-disk 0.raw", STORAGE_NAMING_FILE, "only letters, digits");
	bad("100/vm-100-disk@0.raw", STORAGE_NAMING_FILE, "only letters, digits");
	bad("100/vm-100-disk-0.subvol", STORAGE_NAMING_FILE, ".subvol goes with subvol-VMID");
	bad("101/subvol-101-disk-0.raw", STORAGE_NAMING_FILE, ".subvol goes with subvol-VMID");
	bad("iso/x.exe", STORAGE_NAMING_FILE, "does not end in .iso or .img");
	bad("iso/-x.iso", STORAGE_NAMING_FILE, "is not a file name");
	bad("", STORAGE_NAMING_FILE, "empty volume name");
}

static void test_block_names(void **state)
{
	struct drover_err err = { "" };
	struct storage_volname v;

	(void)state;
	assert_int_equal(storage_volname_parse("vm-100-disk-0", STORAGE_NAMING_BLOCK, &v, &err), 0);
	assert_int_equal(v.vmid, 100);
	assert_int_equal(v.format, STORAGE_VOLFORMAT_RAW);
	assert_int_equal(storage_volname_parse("subvol-7-disk-1", STORAGE_NAMING_BLOCK, &v, &err),
			 0);
	assert_int_equal(v.format, STORAGE_VOLFORMAT_SUBVOL);
	bad("100/vm-100-disk-0.raw", STORAGE_NAMING_BLOCK, "no '/' on this storage");
	bad("vm-100-disk-0.raw", STORAGE_NAMING_BLOCK, "only letters, digits");
	bad("vm-0100-disk-0", STORAGE_NAMING_BLOCK, "no VMID after");
	bad("vm-4294967296-disk-0", STORAGE_NAMING_BLOCK, "no VMID after");
	bad("-vm-100-disk-0", STORAGE_NAMING_BLOCK, "is not a volume name");
	assert_int_equal(storage_naming_of("rbd"), STORAGE_NAMING_BLOCK);
	assert_int_equal(storage_naming_of("zfspool"), STORAGE_NAMING_BLOCK);
	assert_int_equal(storage_naming_of("lvmthin"), STORAGE_NAMING_BLOCK);
	assert_int_equal(storage_naming_of("dir"), STORAGE_NAMING_FILE);
	assert_int_equal(storage_naming_of("btrfs"), STORAGE_NAMING_FILE);
}

static void test_alloc_names(void **state)
{
	struct drover_err err = { "" };
	enum storage_volformat f;
	char out[256];

	(void)state;
	f = STORAGE_VOLFORMAT_RAW;
	assert_int_equal(
		storage_name_check("vm-100-disk-3", 100, STORAGE_NAMING_FILE, &f, false, &err), 0);
	assert_int_equal(f, STORAGE_VOLFORMAT_RAW);
	assert_int_equal(storage_name_check("vm-100-disk-3.qcow2", 100, STORAGE_NAMING_FILE, &f,
					    false, &err),
			 0);
	assert_int_equal(f, STORAGE_VOLFORMAT_QCOW2);
	f = STORAGE_VOLFORMAT_RAW;
	assert_int_equal(
		storage_name_check("vm-100-disk-3.qcow2", 100, STORAGE_NAMING_FILE, &f, true, &err),
		-EINVAL);
	assert_string_equal(err.text,
			    "volume name 'vm-100-disk-3.qcow2' says qcow2, --format says raw");
	assert_int_equal(
		storage_name_check("subvol-100-disk-0", 100, STORAGE_NAMING_FILE, &f, false, &err),
		0);
	assert_int_equal(f, STORAGE_VOLFORMAT_SUBVOL);
	f = STORAGE_VOLFORMAT_RAW;
	assert_int_equal(
		storage_name_check("subvol-100-disk-0", 100, STORAGE_NAMING_FILE, &f, true, &err),
		-EINVAL);
	assert_int_equal(
		storage_name_check("vm-101-disk-0", 100, STORAGE_NAMING_FILE, &f, false, &err),
		-EPERM);
	assert_string_equal(err.text,
			    "volume name 'vm-101-disk-0' belongs to VMID 101, not to 100");
	assert_int_equal(
		storage_name_check("../vm-100-disk-0", 100, STORAGE_NAMING_FILE, &f, false, &err),
		-EINVAL);
	assert_int_equal(
		storage_name_check("vm-100-disk-0.raw", 100, STORAGE_NAMING_BLOCK, &f, false, &err),
		-EINVAL);

	assert_int_equal(storage_volname_make(STORAGE_NAMING_FILE, 100, "vm-100-disk-0",
					      STORAGE_VOLFORMAT_RAW, out, sizeof(out)),
			 0);
	assert_string_equal(out, "100/vm-100-disk-0.raw");
	assert_int_equal(storage_volname_make(STORAGE_NAMING_BLOCK, 100, "vm-100-disk-0",
					      STORAGE_VOLFORMAT_RAW, out, sizeof(out)),
			 0);
	assert_string_equal(out, "vm-100-disk-0");
	assert_int_equal(storage_volname_make(STORAGE_NAMING_FILE, 100, "vm-100-disk-0",
					      STORAGE_VOLFORMAT_RAW, out, 8),
			 -ENAMETOOLONG);
}

static void test_volids(void **state)
{
	struct drover_err err = { "" };
	char id[64], name[256];

	(void)state;
	assert_int_equal(storage_volid_split("local-btrfs:100/vm-100-disk-0.raw", id, sizeof(id),
					     name, sizeof(name), &err),
			 0);
	assert_string_equal(id, "local-btrfs");
	assert_string_equal(name, "100/vm-100-disk-0.raw");
	assert_int_equal(storage_volid_split("no-colon", id, sizeof(id), name, sizeof(name), &err),
			 -EINVAL);
	assert_string_equal(err.text, "'no-colon' is not a volume ID (STORAGE:VOLUME)");
	assert_int_equal(storage_volid_split("Bad:x", id, sizeof(id), name, sizeof(name), &err),
			 -EINVAL);
	assert_int_equal(storage_volid_split("local:", id, sizeof(id), name, sizeof(name), &err),
			 -EINVAL);
	assert_int_equal(storage_volid_split(":x", id, sizeof(id), name, sizeof(name), &err),
			 -EINVAL);
	assert_true(storage_snapname_valid("s1"));
	assert_true(storage_snapname_valid("__replicate_100-0_1717410600__"));
	assert_true(storage_snapname_valid("__migration__"));
	assert_false(storage_snapname_valid(""));
	assert_false(storage_snapname_valid("-s"));
	assert_false(storage_snapname_valid("a/b"));
	assert_false(storage_snapname_valid("a@b"));
	assert_false(storage_snapname_valid("a..b"));
	assert_false(storage_snapname_valid(
		"0123456789012345678901234567890123456789012345678901234567890123"));
}

static void test_format_negotiation(void **state)
{
	enum storage_format f;
	unsigned btrfs = 1u << STORAGE_FORMAT_BTRFS, raw = 1u << STORAGE_FORMAT_RAW_SIZE,
		 zfs = 1u << STORAGE_FORMAT_ZFS, rbd = 1u << STORAGE_FORMAT_RBD_DIFF;
	char text[64];

	(void)state;
	/* the first format in Proxmox's order that both have */
	assert_int_equal(storage_format_pick(btrfs | raw, btrfs | raw, &f), 0);
	assert_int_equal(f, STORAGE_FORMAT_BTRFS);
	assert_int_equal(storage_format_pick(btrfs | raw, raw, &f), 0); /* btrfs -> dir */
	assert_int_equal(f, STORAGE_FORMAT_RAW_SIZE);
	assert_int_equal(storage_format_pick(rbd | raw, btrfs | raw, &f), 0); /* rbd -> btrfs */
	assert_int_equal(f, STORAGE_FORMAT_RAW_SIZE);
	assert_int_equal(storage_format_pick(zfs | rbd | raw, zfs | rbd | raw, &f), 0);
	assert_int_equal(f, STORAGE_FORMAT_ZFS);
	assert_int_equal(storage_format_pick(btrfs, raw, &f),
			 -ENOTSUP); /* incremental btrfs -> dir */
	assert_int_equal(storage_format_pick(0, raw, &f), -ENOTSUP);
	for (unsigned i = 0; i < STORAGE_FORMAT_COUNT; i++) {
		assert_int_equal(storage_format_parse(storage_format_name(i), &f), 0);
		assert_int_equal(f, i);
	}
	assert_int_equal(storage_format_parse("tar+size", &f), -EINVAL);
	storage_formats_text(btrfs | raw, text, sizeof(text));
	assert_string_equal(text, "btrfs, raw+size");
	storage_formats_text(0, text, sizeof(text));
	assert_string_equal(text, "none");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_names),	   cmocka_unit_test(test_block_names),
		cmocka_unit_test(test_alloc_names),	   cmocka_unit_test(test_volids),
		cmocka_unit_test(test_format_negotiation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
