/* SPDX-License-Identifier: MIT */
/*
 * The typed values inside guest configs: property strings, drives and
 * volumes, mount points, NICs, startup, memory, boot order, and the
 * small checks (MAC, CIDR, names).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "basic/shellwords.h"
#include "basic/util.h"
#include "libdrover/format/guest_drive.h"
#include "libdrover/format/guest_net.h"
#include "libdrover/format/guest_options.h"
#include "libdrover/format/guest_schema.h"
#include "libdrover/format/guest_value.h"
#include "libdrover/format/propstr.h"

static void test_propstr(void **state)
{
	struct drover_err err = { "" };
	struct propstr p = PROPSTR_INIT;
	struct buf b = BUF_INIT;

	assert_int_equal(propstr_parse("local:vm-1,size=1G,discard=on", &p, &err), 0);
	assert_int_equal(p.n, 3);
	assert_string_equal(propstr_get(&p, NULL), "local:vm-1");
	assert_string_equal(propstr_get(&p, "size"), "1G");
	assert_null(propstr_get(&p, "cache"));
	assert_int_equal(propstr_set(&p, "size", "2G"), 0);
	assert_int_equal(propstr_set(&p, "cache", "none"), 0);
	assert_int_equal(propstr_set(&p, "discard", NULL), 0);
	assert_int_equal(propstr_format(&p, &b), 0);
	assert_int_equal(buf_terminate(&b), 0);
	assert_string_equal((char *)b.data, "local:vm-1,size=2G,cache=none");
	propstr_free(&p);
	buf_free(&b);

	/* A bare value added later still goes first. */
	assert_int_equal(propstr_parse("size=1G", &p, &err), 0);
	assert_int_equal(propstr_set(&p, NULL, "x:y"), 0);
	assert_int_equal(propstr_format(&p, &b), 0);
	assert_int_equal(buf_terminate(&b), 0);
	assert_string_equal((char *)b.data, "x:y,size=1G");
	propstr_free(&p);
	buf_free(&b);

	assert_int_equal(propstr_parse("", &p, &err), -EINVAL);
	assert_int_equal(propstr_parse("a,,b=1", &p, &err), -EINVAL);
	assert_int_equal(propstr_parse("a,b", &p, &err), -EINVAL);
	assert_string_equal(err.text, "'b' is not key=value");
	assert_int_equal(propstr_parse("a=1,a=2", &p, &err), -EINVAL);
	assert_string_equal(err.text, "property 'a' given twice");
	assert_int_equal(propstr_parse("a=", &p, &err), -EINVAL);
	assert_int_equal(propstr_parse("=1", &p, &err), -EINVAL);
	assert_int_equal(propstr_parse("a b=1", &p, &err), -EINVAL);
	assert_int_equal(propstr_parse("a,", &p, &err), -EINVAL);
}

static void test_drive(void **state)
{
	struct drover_err err = { "" };
	struct guest_drive d;

	assert_int_equal(
		guest_drive_parse("scsi0",
				  "local-btrfs:100/vm-100-disk-0.raw,cache=writeback,discard=on,"
				  "iothread=1,size=1.5G,backup=0,replicate=no,serial=ABC-1",
				  &d, &err),
		0);
	assert_int_equal(d.bus, GUEST_BUS_SCSI);
	assert_int_equal(d.index, 0);
	assert_string_equal(d.key, "scsi0");
	assert_string_equal(d.volume, "local-btrfs:100/vm-100-disk-0.raw");
	assert_int_equal(d.kind, GUEST_VOLUME_STORAGE);
	assert_string_equal(d.cache, "writeback");
	assert_true(d.discard && d.iothread && !d.backup && !d.replicate && !d.cdrom);
	assert_int_equal(d.size, 1536ull << 20);
	assert_string_equal(d.serial, "ABC-1");

	assert_int_equal(guest_drive_parse("virtio15", "file=/dev/sdb,ro=1", &d, &err), 0);
	assert_int_equal(d.kind, GUEST_VOLUME_PATH);
	assert_true(d.ro && d.backup && d.replicate);
	assert_int_equal(guest_drive_parse("ide2", "none,media=cdrom", &d, &err), 0);
	assert_true(d.cdrom);
	assert_int_equal(d.kind, GUEST_VOLUME_NONE);
	assert_int_equal(guest_drive_parse("unused3", "local:100/vm-100-disk-3.raw", &d, &err), 0);

	assert_int_equal(guest_drive_parse("ide2", "none", &d, &err),
			 -EINVAL); /* none only for CD-ROMs */
	assert_int_equal(guest_drive_parse("virtio0", "none,media=cdrom", &d, &err), -EINVAL);
	assert_int_equal(guest_drive_parse("virtio16", "local:x", &d, &err), -EINVAL);
	assert_int_equal(guest_drive_parse("sata6", "local:x", &d, &err), -EINVAL);
	assert_int_equal(guest_drive_parse("scsi0", "local:x,file=local:y", &d, &err), -EINVAL);
	assert_int_equal(guest_drive_parse("scsi0", "size=1G", &d, &err), -EINVAL);
	assert_string_equal(err.text, "no volume");
	assert_int_equal(guest_drive_parse("scsi0", "local:x,cache=fast", &d, &err), -EINVAL);
	assert_int_equal(guest_drive_parse("scsi0", "local:x,size=1.5", &d, &err), -EINVAL);
	assert_int_equal(guest_drive_parse("scsi0", "local:x,iothread=maybe", &d, &err), -EINVAL);
	assert_int_equal(guest_drive_parse("unused0", "/dev/sdb", &d, &err), -EINVAL);
	assert_int_equal(guest_drive_parse("unused0", "local:x,size=1G", &d, &err), -EINVAL);
	assert_int_equal(guest_drive_parse("scsi0", "/a/../etc/shadow", &d, &err), -EINVAL);
	assert_int_equal(guest_drive_parse("scsi0", "Local:x", &d, &err), -EINVAL);
	assert_int_equal(guest_drive_parse("scsi0", "local:", &d, &err), -EINVAL);
	assert_int_equal(guest_drive_parse("scsi0", "local:/abs", &d, &err), -EINVAL);
}

static void test_volume_helpers(void **state)
{
	struct drover_err err = { "" };
	char store[GUEST_STORE_MAX], size[32], *out = NULL;
	const char *volname;
	uint64_t n;

	assert_int_equal(guest_volid_split("local-btrfs:100/vm-100-disk-0.raw", store,
					   sizeof(store), &volname),
			 0);
	assert_string_equal(store, "local-btrfs");
	assert_string_equal(volname, "100/vm-100-disk-0.raw");
	assert_int_equal(guest_volid_split("nocolon", store, sizeof(store), &volname), -EINVAL);

	assert_int_equal(guest_size_parse("4096", &n), 0);
	assert_int_equal(n, 4096);
	assert_int_equal(guest_size_parse("32G", &n), 0);
	assert_int_equal(n, 32ull << 30);
	assert_int_equal(guest_size_parse("0.5T", &n), 0);
	assert_int_equal(n, 512ull << 30);
	assert_int_equal(guest_size_parse("1.25K", &n), 0);
	assert_int_equal(n, 1280);
	assert_int_equal(guest_size_parse("1P", &n), -EINVAL);
	assert_int_equal(guest_size_parse("G", &n), -EINVAL);
	assert_int_equal(guest_size_parse("1.G", &n), -EINVAL);
	assert_int_equal(guest_size_parse("99999999999999999999", &n), -ERANGE);
	assert_int_equal(guest_size_parse("99999999999T", &n), -ERANGE);
	assert_string_equal(guest_size_format(32ull << 30, size, sizeof(size)), "32G");
	assert_string_equal(guest_size_format(1536ull << 20, size, sizeof(size)), "1536M");
	assert_string_equal(guest_size_format(4095, size, sizeof(size)), "4095");
	assert_string_equal(guest_size_format(0, size, sizeof(size)), "0");

	/* Migration swaps a volume and keeps the rest where it was. */
	assert_int_equal(
		guest_value_with_volume("old:vm-1,size=1G,cache=none", "new:vm-1", &out, &err), 0);
	assert_string_equal(out, "new:vm-1,size=1G,cache=none");
	free(out);
	assert_int_equal(guest_value_with_volume("size=1G,file=old:vm-1", "new:vm-1", &out, &err),
			 0);
	assert_string_equal(out, "size=1G,file=new:vm-1");
	free(out);
	assert_int_equal(
		guest_value_with_volume("old:subvol-1,mp=/srv", "new:subvol-1", &out, &err), 0);
	assert_string_equal(out, "new:subvol-1,mp=/srv");
	free(out);
	assert_int_equal(guest_value_with_volume("old:vm-1", "a,b", &out, &err), -EINVAL);
}

static void test_mount(void **state)
{
	struct drover_err err = { "" };
	struct guest_mount m;

	assert_int_equal(guest_mount_parse("rootfs", "local-btrfs:subvol-200-disk-0,size=8G,acl=1",
					   &m, &err),
			 0);
	assert_true(m.rootfs);
	assert_string_equal(m.mp, "/");
	assert_int_equal(m.size, 8ull << 30);
	assert_int_equal(m.acl, 1);
	assert_int_equal(
		guest_mount_parse("mp3",
				  "volume=/srv/share,mp=/mnt/share,ro=1,mountoptions=noatime;nodev",
				  &m, &err),
		0);
	assert_int_equal(m.index, 3);
	assert_int_equal(m.kind, GUEST_VOLUME_PATH);
	assert_true(m.ro);
	assert_int_equal(m.acl, -1);
	assert_string_equal(m.mountoptions, "noatime;nodev");

	assert_int_equal(guest_mount_parse("rootfs", "/srv/root", &m, &err), -EINVAL);
	assert_int_equal(guest_mount_parse("rootfs", "local:x,mp=/a", &m, &err), -EINVAL);
	assert_int_equal(guest_mount_parse("rootfs", "local:x,backup=1", &m, &err), -EINVAL);
	assert_int_equal(guest_mount_parse("mp0", "local:x,mp=/", &m, &err), -EINVAL);
	assert_int_equal(guest_mount_parse("mp0", "local:x,mp=relative", &m, &err), -EINVAL);
	assert_int_equal(guest_mount_parse("mp0", "local:x,mp=/a/../../etc", &m, &err), -EINVAL);
	assert_int_equal(guest_mount_parse("mp0", "local:x,mp=/a,mountoptions=suid", &m, &err),
			 -EINVAL);
	assert_int_equal(
		guest_mount_parse("mp0", "local:x,mp=/a,mountoptions=noatime;noatime", &m, &err),
		-EINVAL);
	assert_int_equal(guest_mount_parse("mp256", "local:x,mp=/a", &m, &err), -EINVAL);
}

static void test_nics(void **state)
{
	struct drover_err err = { "" };
	struct guest_ct_nic c;
	struct guest_nic n;

	assert_int_equal(
		guest_nic_parse(
			"net0",
			"virtio=BC:24:11:5E:0A:01,bridge=vmbr0,firewall=1,tag=20,mtu=1400,queues=2,rate=12.5,trunks=10;20",
			&n, &err),
		0);
	assert_string_equal(n.model, "virtio");
	assert_string_equal(n.mac, "BC:24:11:5E:0A:01");
	assert_string_equal(n.bridge, "vmbr0");
	assert_true(n.firewall && !n.link_down);
	assert_int_equal(n.tag, 20);
	assert_int_equal(n.mtu, 1400);
	assert_int_equal(n.queues, 2);
	assert_true(n.rate > 12.4 && n.rate < 12.6);
	assert_string_equal(n.trunks, "10;20");
	assert_int_equal(guest_nic_parse("net31", "e1000,bridge=vmbr1", &n, &err), 0);
	assert_string_equal(n.model, "e1000");
	assert_string_equal(n.mac, "");
	assert_int_equal(
		guest_nic_parse("net1", "model=virtio,macaddr=02:00:00:00:00:01", &n, &err), 0);
	assert_string_equal(n.mac, "02:00:00:00:00:01");

	assert_int_equal(guest_nic_parse("net0", "virtio=01:00:00:00:00:01", &n, &err),
			 -EINVAL); /* multicast */
	assert_int_equal(guest_nic_parse("net0", "virtio=BC:24:11:5E:0A:01,e1000=BC:24:11:5E:0A:02",
					 &n, &err),
			 -EINVAL);
	assert_int_equal(guest_nic_parse("net0", "bridge=vmbr0", &n, &err), -EINVAL);
	assert_int_equal(guest_nic_parse("net0", "fastnic=BC:24:11:5E:0A:01", &n, &err), -EINVAL);
	assert_int_equal(guest_nic_parse("net0", "virtio,bridge=a/b", &n, &err), -EINVAL);
	assert_int_equal(guest_nic_parse("net0", "virtio,bridge=averyveryverylongname", &n, &err),
			 -EINVAL);
	assert_int_equal(guest_nic_parse("net0", "virtio,tag=4095", &n, &err), -EINVAL);
	assert_int_equal(guest_nic_parse("net32", "virtio", &n, &err), -EINVAL);

	assert_int_equal(
		guest_ct_nic_parse(
			"net0",
			"name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=10.0.0.5/24,gw=10.0.0.1,ip6=fd00::5/64,gw6=fd00::1,type=veth",
			&c, &err),
		0);
	assert_string_equal(c.name, "eth0");
	assert_string_equal(c.ip, "10.0.0.5/24");
	assert_string_equal(c.gw, "10.0.0.1");
	assert_string_equal(c.ip6, "fd00::5/64");
	assert_string_equal(c.gw6, "fd00::1");
	assert_int_equal(guest_ct_nic_parse("net1", "name=eth1,ip=dhcp,ip6=auto", &c, &err), 0);
	assert_int_equal(guest_ct_nic_parse("net0", "name=eth0,ip=dhcp,gw=10.0.0.1", &c, &err),
			 -EINVAL);
	assert_int_equal(guest_ct_nic_parse("net0", "name=eth0,ip=10.0.0.5", &c, &err), -EINVAL);
	assert_int_equal(guest_ct_nic_parse("net0", "name=eth0,ip=10.0.0.5/33", &c, &err), -EINVAL);
	assert_int_equal(guest_ct_nic_parse("net0", "name=eth0,ip6=10.0.0.5/24", &c, &err),
			 -EINVAL);
	assert_int_equal(guest_ct_nic_parse("net0", "name=eth0,type=macvlan", &c, &err), -EINVAL);
	assert_int_equal(guest_ct_nic_parse("net0", "eth0", &c, &err), -EINVAL);
}

static void test_startup(void **state)
{
	struct drover_err err = { "" };
	struct guest_startup s;

	assert_int_equal(guest_startup_parse("order=3,up=30,down=60", &s, &err), 0);
	assert_int_equal(s.order, 3);
	assert_int_equal(s.up, 30);
	assert_int_equal(s.down, 60);
	assert_int_equal(guest_startup_parse("2", &s, &err), 0);
	assert_int_equal(s.order, 2);
	assert_int_equal(s.up, -1);
	assert_int_equal(s.down, -1);
	assert_int_equal(guest_startup_parse("up=5", &s, &err), 0);
	assert_int_equal(s.order, -1);
	assert_int_equal(guest_startup_parse("2,order=3", &s, &err), -EINVAL);
	assert_int_equal(guest_startup_parse("order=-1", &s, &err), -EINVAL);
	assert_int_equal(guest_startup_parse("later=1", &s, &err), -EINVAL);
}

static void test_memory_boot_agent(void **state)
{
	struct drover_err err = { "" };
	struct guest_agent a;
	struct guest_boot b;
	uint64_t kib;

	assert_int_equal(guest_memory_parse("2048", &kib, &err), 0);
	assert_int_equal(kib, 2048 << 10);
	assert_int_equal(guest_memory_parse("524224K", &kib, &err), 0);
	assert_int_equal(kib, 524224);
	assert_int_equal(guest_memory_parse("2G", &kib, &err), 0);
	assert_int_equal(kib, 2 << 20);
	assert_int_equal(guest_memory_parse("0", &kib, &err), -EINVAL);
	assert_int_equal(guest_memory_parse("15", &kib, &err), -EINVAL);
	assert_int_equal(guest_memory_parse("524226K", &kib, &err), -EINVAL); /* not whole pages */
	assert_int_equal(guest_memory_parse("1.5G", &kib, &err), -EINVAL);
	assert_int_equal(guest_memory_parse("512X", &kib, &err), -EINVAL);
	assert_int_equal(guest_memory_parse("", &kib, &err), -EINVAL);

	assert_int_equal(guest_boot_parse("order=scsi0;net0;ide2", &b, &err), 0);
	assert_int_equal(b.n, 3);
	assert_string_equal(b.order[2], "ide2");
	assert_int_equal(guest_boot_parse("cdn", &b, &err), 0);
	assert_string_equal(b.legacy, "cdn");
	assert_int_equal(guest_boot_parse("order=scsi0;scsi0", &b, &err), -EINVAL);
	assert_int_equal(guest_boot_parse("order=unused0", &b, &err), -EINVAL);
	assert_int_equal(guest_boot_parse("order=scsi0;", &b, &err), -EINVAL);
	assert_int_equal(guest_boot_parse("xyz", &b, &err), -EINVAL);

	assert_int_equal(guest_agent_parse("1", &a, &err), 0);
	assert_true(a.enabled);
	assert_string_equal(a.type, "virtio");
	assert_int_equal(guest_agent_parse("enabled=0,type=isa,fstrim_cloned_disks=1", &a, &err),
			 0);
	assert_true(!a.enabled && a.fstrim_cloned_disks);
	assert_int_equal(guest_agent_parse("1,type=usb", &a, &err), -EINVAL);
}

static void test_other_options(void **state)
{
	struct drover_err err = { "" };
	struct guest_features f;
	struct guest_smbios s;
	struct guest_cpu c;
	struct guest_vga v;

	assert_int_equal(guest_cpu_parse("host,flags=+aes;-pcid", &c, &err), 0);
	assert_string_equal(c.type, "host");
	assert_string_equal(c.flags, "+aes;-pcid");
	assert_int_equal(guest_cpu_parse("qemu64,flags=aes", &c, &err), -EINVAL);
	assert_int_equal(guest_vga_parse("none", &v, &err), 0);
	assert_string_equal(v.type, "none");
	assert_int_equal(guest_vga_parse("type=std,memory=32", &v, &err), 0);
	assert_int_equal(guest_vga_parse("hdmi", &v, &err), -EINVAL);
	assert_int_equal(
		guest_smbios_parse(
			"uuid=6e2b3ad1-3c2f-4c6e-9f7a-6f1c2b9e0a11,manufacturer=QWNtZSwgSW5jLg==,base64=1",
			&s, &err),
		0);
	assert_string_equal(s.manufacturer, "Acme, Inc.");
	assert_int_equal(guest_smbios_parse("uuid=nope", &s, &err), -EINVAL);
	assert_int_equal(guest_features_parse("nesting=1,keyctl=1", &f, &err), 0);
	assert_true(f.nesting && f.keyctl && !f.fuse);
	assert_int_equal(guest_tags_check("web;prod-1;a.b", &err), 0);
	assert_int_equal(guest_tags_check("web;-x", &err), -EINVAL);
	assert_int_equal(guest_tags_check("we b", &err), -EINVAL);
	assert_int_equal(guest_serial_check("socket", &err), 0);
	assert_int_equal(guest_serial_check("/dev/ttyS1", &err), 0);
	assert_int_equal(guest_serial_check("/dev/../etc/x", &err), -EINVAL);
	assert_int_equal(guest_machine_check("pc-i440fx-7.2+pve0", &err), 0);
	assert_int_equal(guest_machine_check("pc-q35-8.1", &err), 0);
	assert_int_equal(guest_machine_check("pc-q35-8", &err), -EINVAL);
	assert_int_equal(guest_machine_check("virt", &err), -EINVAL);
	assert_true(guest_machine_is_q35("pc-q35-8.1"));
	assert_false(guest_machine_is_q35("pc"));
}

static void test_small_checks(void **state)
{
	char mac[18];
	uint8_t m[6];
	unsigned idx;

	assert_int_equal(guest_index_parse("0", 4, &idx), 0);
	assert_int_equal(guest_index_parse("3", 4, &idx), 0);
	assert_int_equal(idx, 3);
	assert_int_equal(guest_index_parse("4", 4, &idx), -EINVAL);
	assert_int_equal(guest_index_parse("03", 4, &idx), -EINVAL);
	assert_int_equal(guest_index_parse("", 4, &idx), -EINVAL);
	assert_int_equal(guest_index_parse("99999999999999999999", 4, &idx), -EINVAL);
	assert_int_equal(guest_mac_random(mac), 0);
	assert_int_equal(guest_mac_parse(mac, m), 0);
	/* Proxmox's prefix, for VMs and containers alike */
	assert_int_equal(m[0], 0xBC);
	assert_int_equal(m[1], 0x24);
	assert_int_equal(m[2], 0x11);
	assert_int_equal(strlen(mac), 17);
	{
		char other[18];
		int differ = 0;

		/* three random bytes: 8 draws all equal would be a 2^-168 event */
		for (int i = 0; i < 8; i++) {
			assert_int_equal(guest_mac_random(other), 0);
			assert_true(str_has_prefix(other, "BC:24:11:"));
			differ |= strcmp(other, mac) != 0;
		}
		assert_true(differ);
	}
	assert_true(guest_cidr_valid("10.0.0.1/24", 0));
	assert_true(guest_cidr_valid("fd00::1/64", AF_INET6));
	assert_false(guest_cidr_valid("fd00::1/64", AF_INET));
	assert_false(guest_cidr_valid("10.0.0.1/024", 0));
	assert_true(guest_dns_name_valid("web-1.example.com"));
	assert_false(guest_dns_name_valid("-web"));
	assert_false(guest_dns_name_valid("web..x"));
	assert_false(guest_dns_name_valid("web_1"));
	assert_true(guest_uuid_valid("6e2b3ad1-3c2f-4c6e-9f7a-6f1c2b9e0a11"));
	assert_false(guest_uuid_valid("6e2b3ad1-3c2f-4c6e-9f7a-6f1c2b9e0a1"));
	assert_false(guest_uuid_valid("6e2b3ad1-3c2f-4c6e-9f7a-6f1c2b9e0a111"));
}

static void test_schema(void **state)
{
	struct drover_err err = { "" };
	size_t n;
	const struct guest_key *keys = guest_keys(&n);

	assert_true(n > 50);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(keys[i].help);
		assert_true(keys[i].types != 0 && keys[i].where != 0);
		if (keys[i].type == GUEST_KEY_CUSTOM)
			assert_non_null(keys[i].check);
	}
	assert_non_null(guest_key_find(GUEST_QEMU, "scsi30"));
	assert_null(guest_key_find(GUEST_QEMU, "scsi31"));
	assert_null(guest_key_find(GUEST_LXC, "scsi0"));
	assert_non_null(guest_key_find(GUEST_LXC, "mp255"));
	assert_true(guest_key_is_raw_lxc(GUEST_LXC, "lxc.cgroup.devices.allow"));
	assert_false(guest_key_is_raw_lxc(GUEST_QEMU, "lxc.cgroup.devices.allow"));
	assert_false(guest_key_is_raw_lxc(GUEST_LXC, "lxc."));
	assert_false(guest_key_is_raw_lxc(GUEST_LXC, "lxc.A"));
	assert_int_equal(guest_key_check(GUEST_QEMU, GUEST_IN_CURRENT, "onboot", "1", &err), 0);
	assert_int_equal(guest_key_check(GUEST_QEMU, GUEST_IN_CURRENT, "onboot", "2", &err),
			 -EINVAL);
	assert_string_equal(err.text, "onboot must be 0 or 1, not '2'");
	assert_int_equal(guest_key_check(GUEST_QEMU, GUEST_IN_CURRENT, "cores", "0", &err),
			 -EINVAL);
	assert_int_equal(guest_key_check(GUEST_QEMU, GUEST_IN_CURRENT, "cpulimit", "1.5", &err), 0);
	assert_int_equal(guest_key_check(GUEST_QEMU, GUEST_IN_CURRENT, "cpulimit", "1e3", &err),
			 -EINVAL);
	assert_int_equal(guest_key_check(GUEST_QEMU, GUEST_IN_CURRENT, "ostype", "l26", &err), 0);
	assert_int_equal(guest_key_check(GUEST_LXC, GUEST_IN_CURRENT, "ostype", "l26", &err),
			 -EINVAL);
	assert_int_equal(guest_key_check(GUEST_LXC, GUEST_IN_CURRENT, "memory", "512", &err), 0);
	assert_int_equal(guest_key_check(GUEST_LXC, GUEST_IN_CURRENT, "memory", "512M", &err),
			 -EINVAL);
	assert_int_equal(guest_key_check(GUEST_LXC, GUEST_IN_PENDING, "lxc.a", "1", &err), -EINVAL);
	assert_int_equal(
		guest_key_check(GUEST_QEMU, GUEST_IN_CURRENT, "hotplug", "network,disk", &err), 0);
	assert_int_equal(
		guest_key_check(GUEST_QEMU, GUEST_IN_CURRENT, "hotplug", "network,gpu", &err),
		-EINVAL);
	assert_int_equal(guest_key_check(GUEST_QEMU, GUEST_IN_CURRENT, "meta",
					 "creation-qemu=7.2.0,ctime=1700000000", &err),
			 0);
	assert_true(guest_key_syntax_ok(GUEST_QEMU, "migrate_speed"));
	assert_true(guest_key_syntax_ok(GUEST_QEMU, "net12"));
	assert_false(guest_key_syntax_ok(GUEST_QEMU, "net1a"));
	assert_false(guest_key_syntax_ok(GUEST_QEMU, "1net"));
}

/* Every key of the schema is described in docs/guest-config.md. */
static void test_keys_documented(void **state)
{
	size_t n, len;
	const struct guest_key *keys = guest_keys(&n);
	char *doc = NULL;

	assert_int_equal(
		read_file_max(DROVER_SOURCE_ROOT "/docs/guest-config.md", 1 << 20, &doc, &len), 0);
	for (size_t i = 0; i < n; i++) {
		char plain[64], numbered[64], line[64];

		snprintf(plain, sizeof(plain), "`%s`", keys[i].name);
		snprintf(numbered, sizeof(numbered), "`%sN`", keys[i].name);
		snprintf(line, sizeof(line), "`%s:", keys[i].name);
		if (!strstr(doc, keys[i].count ? numbered : plain) && !strstr(doc, line))
			fail_msg("key '%s' is not in docs/guest-config.md", keys[i].name);
	}
	free(doc);
}

static void test_shellwords(void **state)
{
	struct strv w = STRV_INIT;

	assert_int_equal(shellwords_split("  -kernel /a/b 'x y' \"q\\\"z\" a\\ b ''  ", &w), 0);
	assert_int_equal(w.n, 6);
	assert_string_equal(w.v[0], "-kernel");
	assert_string_equal(w.v[2], "x y");
	assert_string_equal(w.v[3], "q\"z");
	assert_string_equal(w.v[4], "a b");
	assert_string_equal(w.v[5], "");
	assert_null(w.v[6]);
	assert_int_equal(shellwords_split("'open", &w), -EINVAL);
	assert_int_equal(shellwords_split("\"open", &w), -EINVAL);
	assert_int_equal(shellwords_split("end\\", &w), -EINVAL);
	assert_int_equal(w.n, 6);
	strv_free(&w);
}

/* Quoted words read back as themselves, through shellwords_split and sh -c. */
static void test_shellwords_quote(void **state)
{
	static const char *const words[] = {
		"-machine",
		"type=pc,accel=tcg",
		"",
		"a b",
		"it's",
		"$HOME",
		"x\\y",
		"*",
		"\"q\"",
		"tab\there",
		"file=/run/drover/1.qmp,server=on,wait=off",
	};
	struct buf line = BUF_INIT;
	struct strv w = STRV_INIT;
	size_t n = sizeof(words) / sizeof(words[0]);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(shellwords_quote(words[i], &line), 0);
		assert_int_equal(buf_append(&line, " ", 1), 0);
	}
	assert_int_equal(buf_terminate(&line), 0);
	assert_string_equal(
		strstr((char *)line.data, "type="),
		"type=pc,accel=tcg '' 'a b' 'it'\\''s' '$HOME' "
		"'x\\y' '*' '\"q\"' 'tab\there' file=/run/drover/1.qmp,server=on,wait=off ");
	assert_int_equal(shellwords_split((char *)line.data, &w), 0);
	assert_int_equal(w.n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(w.v[i], words[i]);
	{
		/* sh itself: printf prints each argument on its own line */
		struct buf cmd = BUF_INIT;
		char out[512] = "";
		FILE *f;
		size_t got;

		assert_int_equal(buf_printf(&cmd, "printf '%%s|' %s", (char *)line.data), 0);
		assert_int_equal(buf_terminate(&cmd), 0);
		f = popen((char *)cmd.data, "r");
		assert_non_null(f);
		got = fread(out, 1, sizeof(out) - 1, f);
		out[got] = '\0';
		assert_int_equal(pclose(f), 0);
		assert_string_equal(
			out, "-machine|type=pc,accel=tcg||a b|it's|$HOME|x\\y|*|\"q\"|tab\there|"
			     "file=/run/drover/1.qmp,server=on,wait=off|");
		buf_free(&cmd);
	}
	strv_free(&w);
	buf_free(&line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_propstr),
		cmocka_unit_test(test_drive),
		cmocka_unit_test(test_volume_helpers),
		cmocka_unit_test(test_mount),
		cmocka_unit_test(test_nics),
		cmocka_unit_test(test_startup),
		cmocka_unit_test(test_memory_boot_agent),
		cmocka_unit_test(test_other_options),
		cmocka_unit_test(test_small_checks),
		cmocka_unit_test(test_schema),
		cmocka_unit_test(test_shellwords),
		cmocka_unit_test(test_shellwords_quote),
		cmocka_unit_test(test_keys_documented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
