/* SPDX-License-Identifier: MIT */
/*
 * Guest configs (format/guest_conf): byte-for-byte round trips, edits that
 * touch only their own line, descriptions, snapshot and pending sections,
 * the digest, locks, and every refusal with its FILE:LINE.
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

#include "basic/buf.h"
#include "libdrover/format/guest_conf.h"

#define VM_FILE "nodes/n1/qemu-server/100.conf"
#define CT_FILE "nodes/n1/lxc/200.conf"

static const char vm_text[] =
	"#Web server%3A the front\n"
	"#second line\n"
	"agent: 1\n"
	"boot: order=scsi0;net0\n"
	"cores: 2\n"
	"memory: 2048\n"
	"name: web1\n"
	"net0: virtio=BC:24:11:5E:0A:01,bridge=vmbr0,firewall=1\n"
	"onboot: 1\n"
	"parent: before-upgrade\n"
	"scsi0: local-btrfs:100/vm-100-disk-0.raw,discard=on,iothread=1,size=32G\n"
	"scsihw: virtio-scsi-single\n"
	"smbios1: uuid=6e2b3ad1-3c2f-4c6e-9f7a-6f1c2b9e0a11\n"
	"startup: order=2,up=30,down=60\n"
	"vmgenid: 1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9\n"
	"\n"
	"[PENDING]\n"
	"memory: 4096\n"
	"delete: agent,!net1\n"
	"\n"
	"[before-upgrade]\n"
	"#just before apt upgrade\n"
	"cores: 2\n"
	"memory: 2048\n"
	"scsi0: local-btrfs:100/vm-100-disk-0.raw,size=32G\n"
	"snaptime: 1700000000\n"
	"vmstate: local-btrfs:100/vm-100-state-before-upgrade.raw\n";

static struct guest_conf *parse_ok(enum guest_type t, const char *text)
{
	struct drover_err err = { "" };
	struct guest_conf *c = NULL;
	int r = guest_conf_parse(t, t == GUEST_LXC ? CT_FILE : VM_FILE, text, strlen(text), &c,
				 &err);

	if (r != 0)
		fail_msg("parse failed: %s", err.text);
	return c;
}

static char *write_str(const struct guest_conf *c)
{
	struct buf b = BUF_INIT;

	assert_int_equal(guest_conf_write(c, &b), 0);
	assert_int_equal(buf_terminate(&b), 0);
	return (char *)b.data;
}

static void assert_round_trip(enum guest_type t, const char *text)
{
	struct guest_conf *c = parse_ok(t, text);
	char *out = write_str(c);

	assert_string_equal(out, text);
	free(out);
	guest_conf_free(c);
}

/* The error of parsing text, which must fail with r. */
static void assert_refused_n(enum guest_type t, const char *text, size_t len, int r,
			     const char *msg)
{
	struct drover_err err = { "" };
	struct guest_conf *c = NULL;

	if (guest_conf_parse(t, VM_FILE, text, len, &c, &err) != r)
		fail_msg("'%s' not refused with %d (%s)", text, r, err.text);
	assert_null(c);
	if (!strstr(err.text, msg))
		fail_msg("error '%s' does not contain '%s'", err.text, msg);
}

static void assert_refused(enum guest_type t, const char *text, int r, const char *msg)
{
	assert_refused_n(t, text, strlen(text), r, msg);
}

static void test_round_trip(void **state)
{
	assert_round_trip(GUEST_QEMU, vm_text);
	/* Oddities an admin may leave: no final newline, CRLF, blanks, unsorted keys, spaces. */
	assert_round_trip(GUEST_QEMU, "memory: 512");
	assert_round_trip(GUEST_QEMU, "");
	assert_round_trip(GUEST_QEMU, "\n\n  \nmemory:   512   \r\ncores:2\r\n\n\n");
	assert_round_trip(GUEST_QEMU, "name: a\n\n\n[snap1]  \nmemory: 64\nsnaptime: 5\n\n");
	assert_round_trip(
		GUEST_LXC,
		"arch: amd64\nhostname: ct1\nmemory: 512\n"
		"net0: name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=10.0.0.5/24,gw=10.0.0.1\n"
		"ostype: debian\nrootfs: local-btrfs:subvol-200-disk-0,size=8G\n"
		"mp0: local-btrfs:subvol-200-disk-1,mp=/srv/data,backup=1,size=2G\n"
		"lxc.cgroup.devices.allow: c 10:200 rwm\n"
		"lxc.cgroup.devices.allow: c 10:229 rwm\n"
		"lxc.mount.entry: /dev/net dev/net none bind,create=dir\n");
}

static void test_digest(void **state)
{
	struct guest_conf *c = parse_ok(GUEST_QEMU, "memory: 512\n");
	struct drover_err err = { "" };
	char d[GUEST_DIGEST_LEN + 1];

	/* sha1sum of the file, as Proxmox's digest. */
	assert_string_equal(guest_conf_digest(c), "21b62d471309a3f7474fdb8b45e9ae722dfe5e51");
	assert_int_equal(guest_digest("", 0, d), 0);
	assert_string_equal(d, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	assert_int_equal(guest_conf_check_digest(c, NULL, &err), 0);
	assert_int_equal(
		guest_conf_check_digest(c, "21B62D471309A3F7474FDB8B45E9AE722DFE5E51", &err), 0);
	assert_int_equal(guest_conf_check_digest(c, d, &err), -ESTALE);
	assert_non_null(strstr(err.text, "changed by someone else"));
	guest_conf_free(c);
}

static void test_sections(void **state)
{
	struct guest_conf *c = parse_ok(GUEST_QEMU, vm_text);
	struct guest_section *cur = guest_conf_current(c);
	struct guest_section *pend = guest_conf_pending(c, false);
	struct guest_section *snap = guest_conf_snapshot(c, "before-upgrade");
	char *d;

	assert_string_equal(guest_get(cur, "memory"), "2048");
	assert_string_equal(guest_get(cur, "parent"), "before-upgrade");
	assert_null(guest_get(cur, "balloon"));
	assert_non_null(pend);
	assert_string_equal(guest_section_name(pend), "PENDING");
	assert_string_equal(guest_get(pend, "memory"), "4096");
	assert_string_equal(guest_get(pend, "delete"), "agent,!net1");
	assert_non_null(snap);
	assert_string_equal(guest_get(snap, "snaptime"), "1700000000");
	assert_int_equal(guest_conf_snapshot_count(c), 1);
	assert_ptr_equal(guest_conf_snapshot_at(c, 0), snap);
	assert_null(guest_conf_snapshot_at(c, 1));
	assert_null(guest_conf_snapshot(c, "PENDING"));

	assert_int_equal(guest_description(cur, &d), 0);
	assert_string_equal(d, "Web server: the front\nsecond line");
	free(d);
	assert_int_equal(guest_description(snap, &d), 0);
	assert_string_equal(d, "just before apt upgrade");
	free(d);
	assert_int_equal(guest_description(pend, &d), 0);
	assert_string_equal(d, "");
	free(d);
	guest_conf_free(c);
}

/* Replace the first occurrence of from by to in text (a new string). */
static char *replaced(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	char *out;

	assert_non_null(at);
	out = malloc(strlen(text) - strlen(from) + strlen(to) + 1);
	sprintf(out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	return out;
}

static void test_edit_in_place(void **state)
{
	struct guest_conf *c = parse_ok(GUEST_QEMU, vm_text);
	struct guest_section *cur = guest_conf_current(c);
	struct drover_err err = { "" };
	char *out, *want, *tmp;

	/* Same value: nothing changes at all. */
	assert_int_equal(guest_set(cur, "cores", "2", &err), 0);
	out = write_str(c);
	assert_string_equal(out, vm_text);
	free(out);

	assert_int_equal(guest_set(cur, "cores", "4", &err), 0);
	assert_int_equal(guest_set(cur, "balloon", "1024", &err), 0); /* sorts first after agent */
	assert_int_equal(guest_set(cur, "vga", "std", &err), 0); /* sorts last */
	assert_int_equal(guest_delete(cur, "onboot"), 0);
	assert_int_equal(guest_delete(cur, "onboot"), -ENOENT);
	out = write_str(c);
	want = replaced(vm_text, "cores: 2\nmemory: 2048\nname", "cores: 4\nmemory: 2048\nname");
	tmp = replaced(want, "agent: 1\n", "agent: 1\nballoon: 1024\n");
	free(want);
	want = replaced(tmp, "vmgenid: ", "vga: std\nvmgenid: ");
	free(tmp);
	tmp = replaced(want, "onboot: 1\n", "");
	assert_string_equal(out, tmp);
	free(tmp);
	free(want);
	free(out);
	guest_conf_free(c);
}

static void test_edit_refusals(void **state)
{
	struct guest_conf *c = parse_ok(GUEST_QEMU, vm_text);
	struct guest_section *cur = guest_conf_current(c);
	struct guest_section *snap = guest_conf_snapshot(c, "before-upgrade");
	struct drover_err err = { "" };
	char *out;

	assert_int_equal(guest_set(cur, "memory", "0", &err), -EINVAL);
	assert_non_null(strstr(err.text, "memory"));
	assert_int_equal(guest_set(cur, "memroy", "512", &err), -EINVAL);
	assert_string_equal(err.text, "unknown key 'memroy'");
	assert_int_equal(guest_set(cur, "hostname", "x", &err), -EINVAL); /* a container key */
	assert_int_equal(guest_set(cur, "snaptime", "5", &err), -EINVAL);
	assert_non_null(strstr(err.text, "does not belong"));
	assert_int_equal(guest_set(snap, "lock", "backup", &err), -EINVAL);
	assert_int_equal(guest_set(cur, "net1", "virtio=01:00:00:00:00:01", &err), -EINVAL);
	assert_int_equal(guest_set(cur, "name", "a\nb", &err), -EINVAL);
	/* Nothing of it reached the text. */
	out = write_str(c);
	assert_string_equal(out, vm_text);
	free(out);
	guest_conf_free(c);
}

static void test_description(void **state)
{
	struct guest_conf *c = parse_ok(GUEST_QEMU, "memory: 512\n#old\nname: a\n");
	struct guest_section *cur = guest_conf_current(c);
	struct drover_err err = { "" };
	char *out, *d;

	assert_int_equal(guest_set(cur, "description", "50% done: yes\nnext\x01", &err), 0);
	out = write_str(c);
	assert_string_equal(out, "#50%25 done%3A yes\n#next%01\nmemory: 512\nname: a\n");
	free(out);
	assert_int_equal(guest_description(cur, &d), 0);
	assert_string_equal(d, "50% done: yes\nnext\x01");
	free(d);
	assert_int_equal(guest_set_description(cur, NULL, &err), 0);
	out = write_str(c);
	assert_string_equal(out, "memory: 512\nname: a\n");
	free(out);
	guest_conf_free(c);

	/* A description: line counts too (and is decoded). */
	c = parse_ok(GUEST_QEMU, "#top\ndescription: a%3Ab\nmemory: 512\n");
	assert_int_equal(guest_description(guest_conf_current(c), &d), 0);
	assert_string_equal(d, "top\na:b");
	free(d);
	guest_conf_free(c);
}

static void test_snapshot_take(void **state)
{
	struct guest_conf *c = parse_ok(GUEST_QEMU, "cores: 1\nlock: snapshot\nmemory: 512\n"
						    "\n[a1]\nmemory: 256\nsnaptime: 10\n");
	struct drover_err err = { "" };
	struct guest_section *s;
	char *out;

	assert_int_equal(guest_conf_snapshot_take(c, "b2", 20, "first", &err), 0);
	assert_int_equal(guest_conf_snapshot_take(c, "c3", 30, NULL, &err), 0);
	assert_int_equal(guest_conf_snapshot_take(c, "b2", 40, NULL, &err), -EEXIST);
	assert_int_equal(guest_conf_snapshot_take(c, "x", 40, NULL, &err), -EINVAL);
	assert_int_equal(guest_conf_snapshot_take(c, "pending", 40, NULL, &err), -EINVAL);
	out = write_str(c);
	assert_string_equal(out, "cores: 1\nlock: snapshot\nmemory: 512\nparent: c3\n"
				 "\n[a1]\nmemory: 256\nsnaptime: 10\n"
				 "\n[b2]\n#first\ncores: 1\nmemory: 512\nsnaptime: 20\n"
				 "\n[c3]\ncores: 1\nmemory: 512\nparent: b2\nsnaptime: 30\n");
	free(out);
	/* Removing a snapshot takes its blank line with it. */
	s = guest_conf_snapshot(c, "a1");
	guest_conf_section_remove(c, s);
	assert_int_equal(guest_delete(guest_conf_current(c), "lock"), 0);
	out = write_str(c);
	assert_string_equal(out, "cores: 1\nmemory: 512\nparent: c3\n"
				 "\n[b2]\n#first\ncores: 1\nmemory: 512\nsnaptime: 20\n"
				 "\n[c3]\ncores: 1\nmemory: 512\nparent: b2\nsnaptime: 30\n");
	free(out);
	assert_int_equal(guest_conf_validate(c, &err), 0);
	guest_conf_free(c);
}

static void test_pending_and_new(void **state)
{
	struct guest_conf *c = guest_conf_new(GUEST_QEMU);
	struct drover_err err = { "" };
	struct guest_section *p;
	char *out;

	assert_string_equal(guest_conf_digest(c), "");
	assert_null(guest_conf_pending(c, false));
	assert_int_equal(guest_set(guest_conf_current(c), "memory", "524224K", &err), 0);
	assert_int_equal(guest_set(guest_conf_current(c), "cores", "1", &err), 0);
	assert_int_equal(guest_conf_snapshot_add(c, "s1", NULL, &err), 0);
	p = guest_conf_pending(c, true);
	assert_non_null(p);
	assert_ptr_equal(guest_conf_pending(c, true), p);
	assert_int_equal(guest_set(p, "delete", "cores", &err), 0);
	assert_int_equal(guest_set(p, "delete", "nosuchkey", &err), -EINVAL);
	assert_int_equal(guest_set(p, "lock", "backup", &err), -EINVAL);
	out = write_str(c);
	assert_string_equal(out, "cores: 1\nmemory: 524224K\n\n[PENDING]\ndelete: cores\n\n[s1]\n");
	free(out);
	guest_conf_section_remove(c, p);
	guest_conf_section_remove(c, guest_conf_current(c)); /* not removable: ignored */
	out = write_str(c);
	assert_string_equal(out, "cores: 1\nmemory: 524224K\n\n[s1]\n");
	free(out);
	guest_conf_free(c);
}

static void test_lock(void **state)
{
	struct guest_conf *c = parse_ok(GUEST_QEMU, "lock: migrate\nmemory: 512\n");
	struct guest_conf *ct = parse_ok(GUEST_LXC, "memory: 512\n");
	struct drover_err err = { "" };

	assert_int_equal(guest_conf_check_lock(c, 100, NULL, &err), -EBUSY);
	assert_string_equal(err.text, "VM 100 is locked (migrate)");
	assert_int_equal(guest_conf_check_lock(c, 100, "migrate", &err), 0);
	assert_int_equal(guest_conf_check_lock(c, 100, "backup", &err), -EBUSY);
	assert_int_equal(guest_conf_check_lock(ct, 200, NULL, &err), 0);
	assert_int_equal(guest_set(guest_conf_current(ct), "lock", "backup", &err), 0);
	assert_int_equal(guest_conf_check_lock(ct, 200, NULL, &err), -EBUSY);
	assert_string_equal(err.text, "CT 200 is locked (backup)");
	assert_int_equal(guest_set(guest_conf_current(ct), "lock", "stuck", &err), -EINVAL);
	guest_conf_free(c);
	guest_conf_free(ct);
}

static void test_raw_lxc(void **state)
{
	struct guest_conf *c = parse_ok(GUEST_LXC, "memory: 512\nlxc.a.b: 1\nlxc.a.b: 2\n");
	struct guest_section *cur = guest_conf_current(c);
	struct drover_err err = { "" };
	const char *key, *value;
	unsigned n = 0;
	char *out;

	assert_string_equal(guest_get(cur, "lxc.a.b"), "1");
	assert_int_equal(guest_set(cur, "cores", "2", &err), 0); /* before the raw keys */
	assert_int_equal(guest_add_raw_lxc(cur, "lxc.a.b", "3", &err), 0);
	assert_int_equal(guest_add_raw_lxc(cur, "memory", "3", &err), -EINVAL);
	out = write_str(c);
	assert_string_equal(out, "cores: 2\nmemory: 512\nlxc.a.b: 1\nlxc.a.b: 2\nlxc.a.b: 3\n");
	free(out);
	for (size_t i = 0; i < guest_section_size(cur); i++)
		if ((key = guest_line_key(cur, i, &value)) && strcmp(key, "lxc.a.b") == 0)
			n++;
	assert_int_equal(n, 3);
	assert_int_equal(guest_delete(cur, "lxc.a.b"), 0);
	out = write_str(c);
	assert_string_equal(out, "cores: 2\nmemory: 512\n");
	free(out);
	guest_conf_free(c);
}

static void test_refusals(void **state)
{
	/* Every refusal names the file and the line. */
	assert_refused(GUEST_QEMU, "memory: 512\nfoo: 1\n", -EINVAL,
		       VM_FILE ":2: unknown key 'foo'");
	assert_refused(GUEST_QEMU, "memory: 0\n", -EINVAL, VM_FILE ":1: memory");
	assert_refused(GUEST_QEMU, "memory: 512\n\nmemory: 1024\n", -EINVAL,
		       ":3: key 'memory' given twice (also on line 1)");
	assert_refused(GUEST_QEMU, "memory:\n", -EINVAL, ":1: key 'memory' has no value");
	assert_refused(GUEST_QEMU, "memory 512\n", -EINVAL, ":1: not a 'key: value' line");
	assert_refused(GUEST_QEMU, " memory: 512\n", -EINVAL, ":1: not a 'key: value' line");
	assert_refused(GUEST_QEMU, "Memory: 512\n", -EINVAL, ":1: bad key 'Memory'");
	assert_refused(GUEST_QEMU, "cores: 1\n[snap 1]\n", -EINVAL, ":2: bad snapshot name");
	assert_refused(GUEST_QEMU, "cores: 1\n[s1\n", -EINVAL, ":2: bad section header");
	assert_refused(GUEST_QEMU, "cores: 1\n[s1] x\n", -EINVAL, ":2: bad section header");
	assert_refused(GUEST_QEMU, "[s1]\n[s1]\n", -EINVAL, ":2: snapshot [s1] given twice");
	assert_refused(GUEST_QEMU, "[PENDING]\n[pending]\n", -EINVAL, ":2: a second [PENDING]");
	assert_refused(GUEST_QEMU, "[special:cloudinit]\n", -EINVAL,
		       ":1: section [special:cloudinit]");
	assert_refused(GUEST_QEMU, "parent: s9\n", -EINVAL,
		       ":1: parent 's9' is not another snapshot");
	assert_refused(GUEST_QEMU, "[s1]\nparent: s2\n[s2]\nparent: s1\n", -EINVAL,
		       "snapshot parents form a loop");
	assert_refused(GUEST_QEMU, "[s1]\nparent: s1\n", -EINVAL, ":2: parent 's1' is not another");
	assert_refused(GUEST_QEMU, "snaptime: 5\n", -EINVAL, ":1: key 'snaptime' does not belong");
	assert_refused(GUEST_QEMU, "[s1]\nlock: backup\n", -EINVAL,
		       ":2: key 'lock' does not belong");
	assert_refused(GUEST_QEMU, "delete: memory\n", -EINVAL, ":1: key 'delete' does not belong");
	assert_refused(GUEST_QEMU, "memory: 512\nballoon: 1024\n", -EINVAL,
		       ":2: balloon (1024 MiB) is more than memory");
	assert_refused_n(GUEST_QEMU, "cores: 1\nname: a\0b\n", 17, -EINVAL, ":2: NUL byte");
	assert_refused(GUEST_QEMU, "lock: weird\n", -EINVAL, ":1: lock must be backup, clone");
	assert_refused(GUEST_QEMU, "scsi0: local:vm-100-disk-0,cachee=none\n", -EINVAL,
		       ":1: unknown property 'cachee'");
	assert_refused(GUEST_QEMU, "scsi31: local:vm-100-disk-0\n", -EINVAL,
		       ":1: unknown key 'scsi31'");
	assert_refused(GUEST_QEMU, "scsi01: local:vm-100-disk-0\n", -EINVAL,
		       ":1: unknown key 'scsi01'");
	assert_refused(GUEST_QEMU, "virtio0: local:../../etc/shadow\n", -EINVAL,
		       ":1: bad volume name");
	assert_refused(GUEST_QEMU, "net0: virtio=BC:24:11,bridge=vmbr0\n", -EINVAL,
		       ":1: bad MAC address");
	assert_refused(GUEST_QEMU, "startup: order=1,up=x\n", -EINVAL,
		       ":1: up must be a whole number");
	assert_refused(GUEST_QEMU, "args: -kernel 'x\n", -EINVAL, ":1: args: unbalanced quote");
	assert_refused(GUEST_LXC, "rootfs: local:subvol-200-disk-0,size=8G\nmp0: local:x\n",
		       -EINVAL, ":2: mount point without mp=");
	assert_refused(GUEST_LXC, "net0: bridge=vmbr0\n", -EINVAL, ":1: no name=");
	assert_refused(GUEST_LXC, "net0: name=eth0,ip=10.0.0.300/24\n", -EINVAL, ":1: bad ip");
	assert_refused(GUEST_LXC, "memory: 512\nname: x\n", -EINVAL, ":2: unknown key 'name'");
	assert_refused(GUEST_LXC, "features: mount=nfs\n", -EINVAL,
		       "feature 'mount' is not supported");
}

static void test_size_limit(void **state)
{
	size_t len = 10 * 1000 * 1000;
	char *big = malloc(len);
	struct drover_err err = { "" };
	struct guest_conf *c = NULL;

	/* A 10 MB config of valid lines is refused for its size alone, before anything else. */
	for (size_t i = 0; i + 12 <= len; i += 12)
		memcpy(big + i, "#comment 12\n", 12);
	assert_int_equal(guest_conf_parse(GUEST_QEMU, VM_FILE, big, len, &c, &err), -EFBIG);
	assert_null(c);
	assert_non_null(strstr(err.text, VM_FILE ": 10000000 bytes, more than the 1048576"));
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),    cmocka_unit_test(test_digest),
		cmocka_unit_test(test_sections),      cmocka_unit_test(test_edit_in_place),
		cmocka_unit_test(test_edit_refusals), cmocka_unit_test(test_description),
		cmocka_unit_test(test_snapshot_take), cmocka_unit_test(test_pending_and_new),
		cmocka_unit_test(test_lock),	      cmocka_unit_test(test_raw_lxc),
		cmocka_unit_test(test_refusals),      cmocka_unit_test(test_size_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
