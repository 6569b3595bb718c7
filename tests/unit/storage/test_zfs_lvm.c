/* SPDX-License-Identifier: MIT */
/*
 * The zfspool and lvmthin plugins are thin (no ZFS, no device-mapper on
 * this machine): what is tested is the command lines they build and the
 * parsing of the tools' output, recorded from real hosts.
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

#include "libdrover/storage/lvmthin.h"
#include "libdrover/storage/zfspool.h"

static void same(const struct cmdline *c, const char *want)
{
	char got[CMDLINE_BYTES];

	assert_int_equal(c->error, 0);
	cmdline_join(c, got, sizeof(got));
	if (strcmp(got, want))
		fail_msg("got  '%s'\nwant '%s'", got, want);
	assert_null(c->argv[c->argc]);
}

static struct storage_props zfs_props(bool sparse, const char *blocksize)
{
	struct storage_props p = { .type = "zfspool", .id = "local-zfs", .sparse = sparse };

	snprintf(p.pool, sizeof(p.pool), "rpool/data");
	snprintf(p.blocksize, sizeof(p.blocksize), "%s", blocksize);
	return p;
}

static void test_zfs_command_lines(void **state)
{
	struct storage_props p = zfs_props(false, ""), s = zfs_props(true, "16k");
	struct cmdline c;

	(void)state;
	zfs_cmd_status(&p, &c);
	same(&c, "zfs get -o value -Hp available,used rpool/data");
	zfs_cmd_list(&p, &c);
	same(&c,
	     "zfs list -H -p -r -d 1 -t volume,filesystem -o name,volsize,used,refquota,type rpool/data");
	/* zvols are rounded up to the block size: 1 GiB + 1 byte */
	zfs_cmd_alloc(&p, "vm-100-disk-0", STORAGE_VOLFORMAT_RAW, (1ull << 30) + 1, &c);
	same(&c, "zfs create -V 1073872896 -- rpool/data/vm-100-disk-0");
	zfs_cmd_alloc(&s, "vm-100-disk-1", STORAGE_VOLFORMAT_RAW, 1ull << 30, &c);
	same(&c, "zfs create -s -b 16k -V 1073741824 -- rpool/data/vm-100-disk-1");
	zfs_cmd_alloc(&p, "subvol-101-disk-0", STORAGE_VOLFORMAT_SUBVOL, 8ull << 30, &c);
	same(&c,
	     "zfs create -o acltype=posixacl -o xattr=sa -o refquota=8589934592 -- rpool/data/subvol-101-disk-0");
	zfs_cmd_alloc(&p, "subvol-101-disk-1", STORAGE_VOLFORMAT_SUBVOL, 0, &c);
	same(&c,
	     "zfs create -o acltype=posixacl -o xattr=sa -o refquota=none -- rpool/data/subvol-101-disk-1");
	zfs_cmd_destroy(&p, "vm-100-disk-0", NULL, &c);
	same(&c, "zfs destroy -r -- rpool/data/vm-100-disk-0");
	zfs_cmd_destroy(&p, "vm-100-disk-0", "s1", &c);
	same(&c, "zfs destroy -- rpool/data/vm-100-disk-0@s1");
	zfs_cmd_resize(&s, "vm-100-disk-1", STORAGE_VOLFORMAT_RAW, 2000000, &c);
	same(&c, "zfs set volsize=2015232 rpool/data/vm-100-disk-1");
	zfs_cmd_resize(&p, "subvol-101-disk-0", STORAGE_VOLFORMAT_SUBVOL, 1ull << 34, &c);
	same(&c, "zfs set refquota=17179869184 rpool/data/subvol-101-disk-0");
	zfs_cmd_snapshot(&p, "vm-100-disk-0", "__replicate_100-0_1717410600__", &c);
	same(&c, "zfs snapshot -- rpool/data/vm-100-disk-0@__replicate_100-0_1717410600__");
	zfs_cmd_rollback(&p, "vm-100-disk-0", "s1", &c);
	same(&c, "zfs rollback -- rpool/data/vm-100-disk-0@s1");
	zfs_cmd_snapshots(&p, "vm-100-disk-0", &c);
	same(&c,
	     "zfs list -H -p -t snapshot -o name,guid,creation -s creation -d 1 rpool/data/vm-100-disk-0");
	zfs_cmd_mountpoint(&p, "subvol-101-disk-0", &c);
	same(&c, "zfs get -H -o value mountpoint rpool/data/subvol-101-disk-0");
	/* streams: full, incremental (-i), with the snapshots between (-R -I) */
	zfs_cmd_send(&p, "vm-100-disk-0", "s2", NULL, false, &c);
	same(&c, "zfs send -p -- rpool/data/vm-100-disk-0@s2");
	zfs_cmd_send(&p, "vm-100-disk-0", "s2", "s1", false, &c);
	same(&c, "zfs send -p -i rpool/data/vm-100-disk-0@s1 -- rpool/data/vm-100-disk-0@s2");
	zfs_cmd_send(&p, "vm-100-disk-0", "s2", "s1", true, &c);
	same(&c, "zfs send -R -p -I rpool/data/vm-100-disk-0@s1 -- rpool/data/vm-100-disk-0@s2");
	zfs_cmd_recv(&p, "vm-100-disk-0", &c);
	same(&c, "zfs recv -F -s -x encryption -- rpool/data/vm-100-disk-0");
	zfs_cmd_recv_abort(&p, "vm-100-disk-0", &c);
	same(&c, "zfs recv -A rpool/data/vm-100-disk-0");
	zfs_cmd_resume_token(&p, "vm-100-disk-0", &c);
	same(&c, "zfs get -H -o value receive_resume_token rpool/data/vm-100-disk-0");
	zfs_cmd_send_resume("1-e604ea4bf-e0-789c63a2", &c);
	same(&c, "zfs send -t 1-e604ea4bf-e0-789c63a2");
}

/* Recorded on a Proxmox host (OpenZFS 2.2), the pool's own line and strangers included. */
static const char zfs_list_out[] =
	"rpool/data\t-\t12884901888\t0\tfilesystem\n"
	"rpool/data/vm-100-disk-0\t34359738368\t35433480192\t-\tvolume\n"
	"rpool/data/subvol-101-disk-0\t-\t1073741824\t8589934592\tfilesystem\n"
	"rpool/data/vm-100-state-snap1\t4294967296\t4294967296\t-\tvolume\n"
	"rpool/data/other\t-\t1000\t0\tfilesystem\n"
	"rpool/data/vm-102-disk-0\tbad\t1\t-\tvolume\n"
	"rpool/data/subvol-103-disk-0\t1073741824\t1\t-\tvolume\n"
	"rpool/database/vm-104-disk-0\t1073741824\t1\t-\tvolume\n";

static void test_zfs_parsing(void **state)
{
	struct storage_props p = zfs_props(false, "");
	struct drover_err err = { "" };
	struct storage_volume *v;
	struct storage_snapshot *s;
	struct storage_status st;
	char token[128];
	size_t n;

	(void)state;
	assert_int_equal(zfs_parse_status("470142775296\n12884901888\n", &st, &err), 0);
	assert_int_equal(st.avail, 470142775296ull);
	assert_int_equal(st.used, 12884901888ull);
	assert_int_equal(st.total, 470142775296ull + 12884901888ull);
	assert_int_equal(zfs_parse_status("470142775296\n", &st, &err), -EBADMSG);
	assert_int_equal(zfs_parse_status("x\ny\n", &st, &err), -EBADMSG);

	assert_int_equal(zfs_parse_list(&p, zfs_list_out, &v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].volname, "vm-100-disk-0");
	assert_int_equal(v[0].vmid, 100);
	assert_int_equal(v[0].size, 34359738368ull);
	assert_int_equal(v[0].used, 35433480192ull);
	assert_int_equal(v[0].format, STORAGE_VOLFORMAT_RAW);
	assert_string_equal(v[1].volname, "subvol-101-disk-0");
	assert_int_equal(v[1].format, STORAGE_VOLFORMAT_SUBVOL);
	assert_int_equal(v[1].size, 8589934592ull); /* a subvol's size is its refquota */
	assert_int_equal(v[1].content, STORAGE_CONTENT_ROOTDIR);
	assert_string_equal(v[2].volname, "vm-100-state-snap1");
	free(v);
	assert_int_equal(zfs_parse_list(&p, "", &v, &n, &err), 0);
	assert_int_equal(n, 0);
	free(v);

	assert_int_equal(
		zfs_parse_snapshots(
			&p, "vm-100-disk-0",
			"rpool/data/vm-100-disk-0@__replicate_100-0_1717410600__\t12345678901234567890\t1717410600\n"
			"rpool/data/vm-100-disk-0@s1\t987654321\t1717410700\n"
			"rpool/data/vm-100-disk-00@s1\t1\t1\n"
			"rpool/data/vm-100-disk-0@bad/name\t1\t1\n",
			&s, &n, &err),
		0);
	assert_int_equal(n, 2);
	assert_string_equal(s[0].name, "__replicate_100-0_1717410600__");
	assert_string_equal(s[0].id, "12345678901234567890");
	assert_string_equal(s[0].origin_id, "12345678901234567890");
	assert_int_equal(s[0].ctime, 1717410600);
	assert_string_equal(s[1].name, "s1");
	free(s);

	assert_int_equal(zfs_parse_resume_token("1-e604ea4bf-e0-789c63\n", token, sizeof(token)),
			 0);
	assert_string_equal(token, "1-e604ea4bf-e0-789c63");
	assert_int_equal(zfs_parse_resume_token("-\n", token, sizeof(token)), -ENOENT);
}

static struct storage_props lvm_props(void)
{
	struct storage_props p = { .type = "lvmthin", .id = "local-lvm" };

	snprintf(p.vgname, sizeof(p.vgname), "pve");
	snprintf(p.thinpool, sizeof(p.thinpool), "data");
	return p;
}

static void test_lvm_command_lines(void **state)
{
	struct storage_props p = lvm_props();
	struct cmdline c;
	char lv[128];

	(void)state;
	lvm_cmd_status(&p, &c);
	same(&c,
	     "lvs --separator : --noheadings --units b --unbuffered --nosuffix --options lv_size,data_percent pve/data");
	lvm_cmd_lvs(&p, &c);
	same(&c,
	     "lvs --separator : --noheadings --units b --unbuffered --nosuffix --config report/time_format=\"%s\" --options vg_name,lv_name,lv_size,lv_attr,pool_lv,origin,uuid,time pve");
	lvm_cmd_alloc(&p, "vm-100-disk-0", (1ull << 30) + 1, &c);
	same(&c, "lvcreate -aly -V 1073742848b --name vm-100-disk-0 --thinpool pve/data");
	lvm_cmd_remove(&p, "vm-100-disk-0", &c);
	same(&c, "lvremove -f pve/vm-100-disk-0");
	lvm_cmd_resize(&p, "vm-100-disk-0", 2ull << 30, &c);
	same(&c, "lvresize --size 2147483648b pve/vm-100-disk-0");
	lvm_snap_lv("vm-100-disk-0", "s1", lv, sizeof(lv));
	assert_string_equal(lv, "snap_vm-100-disk-0_s1");
	lvm_cmd_snapshot(&p, "vm-100-disk-0", "s1", &c);
	same(&c, "lvcreate -n snap_vm-100-disk-0_s1 -pr -s pve/vm-100-disk-0");
	lvm_cmd_rollback(&p, "vm-100-disk-0", "s1", &c);
	same(&c, "lvcreate -kn -n vm-100-disk-0 -s pve/snap_vm-100-disk-0_s1");
	lvm_cmd_activate(&p, "snap_vm-100-disk-0_s1", &c);
	same(&c, "lvchange -ay -K pve/snap_vm-100-disk-0_s1");
}

/* Recorded on a Proxmox host (LVM 2.03): the pool, root, volumes, a snapshot, another pool's volume. */
static const char lvs_out[] =
	"  pve:data:181009301504:twi-aotz--:::lpN3Xf-aaaa-bbbb:1700000000\n"
	"  pve:root:101468602368:-wi-ao----:::Abc123-root:1700000000\n"
	"  pve:vm-100-disk-0:34359738368:Vwi-aotz--:data::u1:1700000100\n"
	"  pve:snap_vm-100-disk-0_s1:34359738368:Vri---tz-k:data:vm-100-disk-0:u2:1700000200\n"
	"  pve:snap_vm-100-disk-0_a_b:34359738368:Vri---tz-k:data:vm-100-disk-0:u3:1700000150\n"
	"  pve:vm-101-disk-0:8589934592:Vwi-a-tz--:data::u4:1700000300\n"
	"  pve:vm-102-disk-0:1073741824:Vwi-a-tz--:otherpool::u5:1700000400\n"
	"\n";

static void test_lvm_parsing(void **state)
{
	struct drover_err err = { "" };
	struct storage_status st;
	struct lvm_lv *lvs;
	size_t n;

	(void)state;
	assert_int_equal(lvm_parse_status("  181009301504:12.50\n", &st, &err), 0);
	assert_int_equal(st.total, 181009301504ull);
	assert_int_equal(st.used, 22626162688ull);
	assert_int_equal(st.avail, 181009301504ull - 22626162688ull);
	assert_int_equal(lvm_parse_status("  181009301504:0.00\n", &st, &err), 0);
	assert_int_equal(st.used, 0);
	assert_int_equal(lvm_parse_status("  181009301504:100.00\n", &st, &err), 0);
	assert_int_equal(st.avail, 0);
	assert_int_equal(lvm_parse_status("garbage\n", &st, &err), -EBADMSG);
	assert_int_equal(lvm_parse_status("  1:abc\n", &st, &err), -EBADMSG);

	assert_int_equal(lvm_parse_lvs(lvs_out, &lvs, &n, &err), 0);
	assert_int_equal(n, 7);
	assert_string_equal(lvs[0].name, "data");
	assert_string_equal(lvs[0].attr, "twi-aotz--");
	assert_string_equal(lvs[2].name, "vm-100-disk-0");
	assert_string_equal(lvs[2].pool, "data");
	assert_int_equal(lvs[2].size, 34359738368ull);
	assert_int_equal(lvs[3].time, 1700000200);
	assert_string_equal(lvs[3].origin, "vm-100-disk-0");
	assert_string_equal(lvs[3].uuid, "u2");
	free(lvs);
	assert_int_equal(lvm_parse_lvs("  pve:x:1:a\n", &lvs, &n, &err), -EBADMSG);
	assert_string_equal(err.text,
			    "lvs output line 1 is not vg:lv:size:attr:pool:origin:uuid:time");
	assert_int_equal(lvm_parse_lvs("  pve:x:big:a:b:c:d:1\n", &lvs, &n, &err), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zfs_command_lines),
		cmocka_unit_test(test_zfs_parsing),
		cmocka_unit_test(test_lvm_command_lines),
		cmocka_unit_test(test_lvm_parsing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
