/* SPDX-License-Identifier: MIT */
/*
 * The QEMU command line from a VM config (guest/qemu/cmdline): whole
 * argument lists for typical VMs, each kind of drive and NIC, KVM and TCG,
 * migration targets, and every refusal.
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
#include "basic/strv.h"
#include "libdrover/guest/qemu/cmdline.h"
#include "libdrover/guest/qemu/runtime.h"

/* Resolves STORE:NAME to /st/STORE/NAME (raw, or qcow2 for *.qcow2); "ceph:" to RBD; "bad:" fails. */
static int resolver(void *ctx, uint32_t vmid, const char *volid, struct qemu_volume *v,
		    struct drover_err *err)
{
	const char *colon = strchr(volid, ':');
	unsigned *calls = ctx;

	(*calls)++;
	if (strncmp(volid, "bad:", 4) == 0)
		return drover_fail(err, -ENOENT, "storage 'bad' does not exist");
	if (strncmp(volid, "ceph:", 5) == 0) {
		v->driver = QEMU_VOLUME_RBD;
		strcpy(v->rbd_pool, "vmpool");
		snprintf(v->rbd_image, sizeof(v->rbd_image), "%s", colon + 1);
		strcpy(v->rbd_conf, "/etc/drover/priv/ceph/ceph.conf");
		strcpy(v->format, "raw");
		return 0;
	}
	v->driver = QEMU_VOLUME_FILE;
	snprintf(v->path, sizeof(v->path), "/st/%.*s/%s", (int)(colon - volid), volid, colon + 1);
	strcpy(v->format, strstr(volid, ".qcow2") ? "qcow2" : "raw");
	(void)vmid;
	return 0;
}

static unsigned resolver_calls;

static struct qemu_cmdline_opts opts(void)
{
	return (struct qemu_cmdline_opts){ .run_dir = "/run/q",
					   .resolve = resolver,
					   .resolve_ctx = &resolver_calls };
}

/* The argv for text as one string, arguments separated by '\n'; NULL (and err) on failure. */
static char *cmdline_of(const char *text, const struct qemu_cmdline_opts *o, struct drover_err *err)
{
	struct guest_conf *c = NULL;
	struct buf b = BUF_INIT;
	char **argv = NULL;
	int r;

	r = guest_conf_parse(GUEST_QEMU, "qemu-server/100.conf", text, strlen(text), &c, err);
	if (r < 0)
		fail_msg("parse: %s", err->text);
	r = qemu_cmdline(c, 100, o, &argv, err);
	guest_conf_free(c);
	if (r < 0)
		return NULL;
	for (size_t i = 0; argv[i]; i++)
		assert_int_equal(buf_printf(&b, "%s%s", i ? "\n" : "", argv[i]), 0);
	assert_int_equal(buf_terminate(&b), 0);
	strv_free_array(argv);
	return (char *)b.data;
}

static void assert_cmdline(const char *text, const struct qemu_cmdline_opts *o, const char *want)
{
	struct drover_err err = { "" };
	char *got = cmdline_of(text, o, &err);

	if (!got)
		fail_msg("qemu_cmdline failed: %s", err.text);
	if (strcmp(got, want) != 0)
		fail_msg("got:\n%s\n--- want:\n%s", got, want);
	free(got);
}

/* The argv (each argument followed by '\n') must contain part. */
static void assert_has(const char *text, const struct qemu_cmdline_opts *o, const char *part)
{
	struct drover_err err = { "" };
	char *got = cmdline_of(text, o, &err);

	if (!got)
		fail_msg("qemu_cmdline failed: %s", err.text);
	got = realloc(got, strlen(got) + 2);
	strcat(got, "\n");
	if (!strstr(got, part))
		fail_msg("'%s' not in:\n%s", part, got);
	free(got);
}

static void assert_refused(const char *text, const struct qemu_cmdline_opts *o, const char *msg)
{
	struct drover_err err = { "" };
	char *got = cmdline_of(text, o, &err);

	if (got)
		fail_msg("not refused:\n%s", got);
	if (!strstr(err.text, msg))
		fail_msg("error '%s' does not contain '%s'", err.text, msg);
}

#define HEAD(name)                                                                             \
	"qemu-system-x86_64\n-name\n" name ",debug-threads=on\n-nodefaults\n-no-user-config\n" \
	"-chardev\nsocket,id=qmp,path=/run/q/100.qmp,server=on,wait=off\n"                     \
	"-mon\nchardev=qmp,mode=control\n-pidfile\n/run/q/100.pid\n"

/* The test guest as the integration tests run it. */
static void test_test_guest(void **state)
{
	struct qemu_cmdline_opts o = opts();

	o.serial_log = true;
	assert_cmdline(
		"name: tg1\nmemory: 524224K\ncores: 1\nkvm: 0\nvga: none\nballoon: 0\n"
		"agent: 1\nserial0: socket\n"
		"virtio0: local:100/vm-100-disk-0.raw,cache=none,size=64M\n"
		"net0: virtio=02:00:00:00:01:00,bridge=vmbr0\n"
		"args: -kernel /g/vmlinuz -initrd /g/initrd.gz -append 'console=ttyS0 drover.ip=10.9.0.2/24'\n",
		&o,
		HEAD("tg1") "-machine\ntype=pc\n-accel\ntcg\n-m\n524224k\n"
			    "-smp\n1,sockets=1,cores=1,maxcpus=1\n-cpu\nqemu64\n-display\nnone\n-rtc\nbase=utc\n"
			    "-chardev\nsocket,id=qga0,path=/run/q/100.qga,server=on,wait=off\n"
			    "-device\nvirtio-serial-pci,id=qga-serial\n"
			    "-device\nvirtserialport,bus=qga-serial.0,chardev=qga0,name=org.qemu.guest_agent.0\n"
			    "-chardev\nsocket,id=serial0,path=/run/q/100.serial0,server=on,wait=off,"
			    "logfile=/run/q/100.serial0.log\n"
			    "-device\nisa-serial,chardev=serial0\n"
			    "-blockdev\ndriver=file,filename=/st/local/100/vm-100-disk-0.raw,node-name=file-virtio0,"
			    "aio=threads,cache.direct=on,cache.no-flush=off,discard=ignore,read-only=off\n"
			    "-blockdev\ndriver=raw,file=file-virtio0,node-name=drive-virtio0,cache.direct=on,"
			    "cache.no-flush=off,discard=ignore,read-only=off\n"
			    "-device\nvirtio-blk-pci,id=virtio0,drive=drive-virtio0,write-cache=on\n"
			    "-netdev\ntap,id=net0,ifname=tap100i0,script=no,downscript=no\n"
			    "-device\nvirtio-net-pci,mac=02:00:00:00:01:00,netdev=net0,id=net0\n"
			    "-kernel\n/g/vmlinuz\n-initrd\n/g/initrd.gz\n-append\nconsole=ttyS0 drover.ip=10.9.0.2/24");
}

/* A Proxmox-made VM: defaults everywhere, KVM where it works. */
static void test_proxmox_vm(void **state)
{
	struct qemu_cmdline_opts o = opts();

	o.kvm_usable = true;
	o.binary = "/usr/bin/qemu-system-x86_64";
	o.daemonize = true;
	assert_cmdline(
		"#web\nboot: order=scsi0;net0\ncores: 2\nmemory: 2048\nname: web1\n"
		"machine: pc-i440fx-7.2+pve0\nsockets: 2\nostype: l26\n"
		"scsi0: local-btrfs:100/vm-100-disk-0.qcow2,discard=on,iothread=1,size=32G,ssd=1\n"
		"scsihw: virtio-scsi-single\n"
		"smbios1: uuid=6e2b3ad1-3c2f-4c6e-9f7a-6f1c2b9e0a11\n"
		"net0: virtio=BC:24:11:5E:0A:01,bridge=vmbr0,firewall=1,queues=2,mtu=1400\n"
		"vmgenid: 1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9\n",
		&o,
		"/usr/bin/qemu-system-x86_64\n-name\nweb1,debug-threads=on\n-nodefaults\n-no-user-config\n"
		"-chardev\nsocket,id=qmp,path=/run/q/100.qmp,server=on,wait=off\n"
		"-mon\nchardev=qmp,mode=control\n-pidfile\n/run/q/100.pid\n"
		"-machine\ntype=pc-i440fx-7.2\n-accel\nkvm\n"
		"-smbios\ntype=1,uuid=6e2b3ad1-3c2f-4c6e-9f7a-6f1c2b9e0a11\n-m\n2048\n"
		"-smp\n4,sockets=2,cores=2,maxcpus=4\n-cpu\nkvm64\n"
		"-boot\nmenu=on,strict=on,reboot-timeout=1000\n-display\nnone\n"
		"-device\nVGA,id=vga\n-device\npiix3-usb-uhci,id=uhci\n"
		"-device\nusb-tablet,id=tablet,bus=uhci.0,port=1\n-rtc\nbase=utc\n"
		"-device\nvirtio-balloon-pci,id=balloon0\n"
		"-device\nvmgenid,guid=1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9\n"
		"-object\niothread,id=iothread-virtioscsi0\n"
		"-device\nvirtio-scsi-pci,id=virtioscsi0,iothread=iothread-virtioscsi0\n"
		"-blockdev\ndriver=file,filename=/st/local-btrfs/100/vm-100-disk-0.qcow2,"
		"node-name=file-scsi0,aio=threads,cache.direct=on,cache.no-flush=off,discard=unmap,"
		"read-only=off\n"
		"-blockdev\ndriver=qcow2,file=file-scsi0,node-name=drive-scsi0,cache.direct=on,"
		"cache.no-flush=off,discard=unmap,read-only=off\n"
		"-device\nscsi-hd,bus=virtioscsi0.0,channel=0,scsi-id=0,lun=0,id=scsi0,drive=drive-scsi0,"
		"write-cache=on,rotation_rate=1,bootindex=100\n"
		"-netdev\ntap,id=net0,ifname=tap100i0,script=no,downscript=no,queues=2\n"
		"-device\nvirtio-net-pci,mac=BC:24:11:5E:0A:01,netdev=net0,id=net0,bootindex=101,"
		"mq=on,vectors=6,host_mtu=1400\n"
		"-daemonize");
}

static void test_drive_kinds(void **state)
{
	struct qemu_cmdline_opts o = opts();
	const char *many = "memory: 512\nkvm: 0\nvga: none\n"
			   "ide0: local:100/vm-100-disk-1.raw,cache=writethrough,serial=IDE0\n"
			   "ide2: none,media=cdrom\n"
			   "ide3: local:iso/debian.iso,media=cdrom\n"
			   "sata1: /dev/sdb,cache=directsync,aio=native\n"
			   "scsi0: ceph:vm-100-disk-0,cache=writeback\n"
			   "scsi8: local:100/vm-100-disk-8.raw,ro=1,cache=unsafe\n"
			   "scsihw: lsi\n"
			   "virtio3: /srv/img.raw,iothread=1\n"
			   "unused0: local:100/vm-100-disk-9.raw\n";

	assert_has(
		many, &o,
		"-device\nide-hd,bus=ide.0,unit=0,id=ide0,drive=drive-ide0,write-cache=off,serial=IDE0\n");
	assert_has(
		many, &o,
		"-blockdev\ndriver=file,filename=/st/local/100/vm-100-disk-1.raw,node-name=file-ide0,aio=threads,cache.direct=off,cache.no-flush=off,discard=ignore,read-only=off\n");
	assert_has(many, &o, "-device\nide-cd,bus=ide.1,unit=0,id=ide2\n");
	assert_has(many, &o, "-device\nide-cd,bus=ide.1,unit=1,id=ide3,drive=drive-ide3\n");
	assert_has(
		many, &o,
		"driver=raw,file=file-ide3,node-name=drive-ide3,cache.direct=on,cache.no-flush=off,discard=ignore,read-only=on\n");
	assert_has(many, &o, "-device\nahci,id=ahci0\n");
	assert_has(
		many, &o,
		"-blockdev\ndriver=host_device,filename=/dev/sdb,node-name=file-sata1,aio=native,cache.direct=on,");
	assert_has(many, &o,
		   "-device\nide-hd,bus=ahci0.1,id=sata1,drive=drive-sata1,write-cache=off\n");
	assert_has(
		many, &o,
		"-blockdev\ndriver=rbd,pool=vmpool,image=vm-100-disk-0,conf=/etc/drover/priv/ceph/ceph.conf,node-name=file-scsi0,cache.direct=off,cache.no-flush=off,discard=ignore,read-only=off\n");
	assert_has(many, &o, "-device\nlsi,id=scsihw0\n-device\nlsi,id=scsihw1\n");
	assert_has(
		many, &o,
		"-device\nscsi-hd,bus=scsihw1.0,scsi-id=1,id=scsi8,drive=drive-scsi8,write-cache=on\n");
	assert_has(many, &o, "cache.direct=off,cache.no-flush=on,discard=ignore,read-only=on\n");
	assert_has(
		many, &o,
		"-object\niothread,id=iothread-virtio3\n-device\nvirtio-blk-pci,id=virtio3,drive=drive-virtio3,iothread=iothread-virtio3,write-cache=on");
	/* Unused volumes are not attached. */
	resolver_calls = 0;
	assert_has(many, &o, "drive-virtio3");
	assert_int_equal(resolver_calls, 4); /* ide0, ide3, scsi0, scsi8 */

	/* q35: IDE drives are AHCI ports. */
	assert_has("memory: 512\nmachine: q35\nide1: local:100/x.raw\n", &o,
		   "-device\nide-hd,bus=ide.1,id=ide1,drive=drive-ide1,write-cache=on");
	/* The default SCSI controller: one virtio-scsi-pci for all. */
	assert_has("memory: 512\nscsi3: local:100/x.raw\nscsi5: local:100/y.raw\n", &o,
		   "-device\nvirtio-scsi-pci,id=scsihw0\n");
	assert_has("memory: 512\nscsi3: local:100/x.raw\nscsi5: local:100/y.raw\n", &o,
		   "-device\nscsi-hd,bus=scsihw0.0,channel=0,scsi-id=0,lun=5,id=scsi5");
}

static void test_accel_and_cpu(void **state)
{
	struct qemu_cmdline_opts o = opts();

	/* No kvm key: TCG where KVM does not work, KVM where it does. */
	assert_has("memory: 512\n", &o, "-accel\ntcg\n");
	assert_has("memory: 512\n", &o, "-cpu\nqemu64\n");
	o.kvm_usable = true;
	assert_has("memory: 512\n", &o, "-accel\nkvm\n");
	assert_has("memory: 512\nkvm: 0\n", &o, "-accel\ntcg\n");
	assert_has("memory: 512\ncpu: host,flags=+aes;-pcid,hidden=1\n", &o,
		   "-cpu\nhost,+aes,-pcid,kvm=off\n");
	assert_has("memory: 512\nsockets: 2\ncores: 2\nvcpus: 3\n", &o,
		   "-smp\n3,sockets=2,cores=2,maxcpus=4\n");
	assert_has("memory: 2048\nsockets: 2\ncores: 2\nnuma: 1\n", &o,
		   "-object\nmemory-backend-ram,id=ram-node0,size=1024M\n"
		   "-numa\nnode,nodeid=0,cpus=0-1,memdev=ram-node0\n"
		   "-object\nmemory-backend-ram,id=ram-node1,size=1024M\n"
		   "-numa\nnode,nodeid=1,cpus=2-3,memdev=ram-node1\n");
	assert_has("memory: 512\nacpi: 0\nlocaltime: 1\nballoon: 256\n", &o,
		   "-machine\ntype=pc,acpi=off\n");
	assert_has("memory: 512\nacpi: 0\nlocaltime: 1\nballoon: 256\n", &o,
		   "-rtc\nbase=localtime\n-device\nvirtio-balloon-pci,id=balloon0");
	assert_has("memory: 512\nboot: cdn\n", &o, "-boot\norder=cdn\n");
	assert_has("memory: 512\nvga: virtio,memory=32\ntablet: 0\n", &o,
		   "-device\nvirtio-vga,id=vga,vgamem_mb=32\n-rtc");
	assert_has(
		"memory: 512\nsmbios1: uuid=6e2b3ad1-3c2f-4c6e-9f7a-6f1c2b9e0a11,manufacturer=QWNtZSwgSW5jLg==,base64=1\n",
		&o,
		"-smbios\ntype=1,uuid=6e2b3ad1-3c2f-4c6e-9f7a-6f1c2b9e0a11,manufacturer=Acme,, Inc.\n");
	assert_has(
		"memory: 512\nnet1: e1000=02:00:00:00:00:09\n", &o,
		"-netdev\nuser,id=net1\n-device\ne1000,mac=02:00:00:00:00:09,netdev=net1,id=net1");
	assert_has(
		"memory: 512\nserial1: /dev/ttyS1\n", &o,
		"-chardev\nserial,id=serial1,path=/dev/ttyS1\n-device\nisa-serial,chardev=serial1");
	assert_has("memory: 512\nagent: 1,type=isa\n", &o, "-device\nisa-serial,chardev=qga0\n");
}

static void test_migration_target(void **state)
{
	struct qemu_cmdline_opts o = opts();

	o.paused = true;
	o.incoming = "defer";
	o.machine = "pc-i440fx-7.2+pve0";
	assert_has("memory: 512\nmachine: q35\n", &o, "-machine\ntype=pc-i440fx-7.2\n");
	assert_has("memory: 512\nargs: -snapshot\n", &o, "\n-snapshot\n-S\n-incoming\ndefer");
}

static void test_refusals(void **state)
{
	struct qemu_cmdline_opts o = opts();
	struct qemu_cmdline_opts none = { .run_dir = "/run/q" };
	struct drover_err err = { "" };
	struct guest_conf *ct = guest_conf_new(GUEST_LXC);
	char **argv = NULL;

	assert_refused("memory: 512\nnet0: virtio,bridge=vmbr0\n", &o, "net0 has no MAC address");
	assert_refused("memory: 512\nscsi0: local:100/x.raw\n", &none,
		       "scsi0: no storage to resolve 'local:100/x.raw'");
	assert_refused("memory: 512\nscsi0: bad:100/x.raw\n", &o,
		       "scsi0: storage 'bad' does not exist");
	assert_refused("memory: 512\nscsi0: local:100/x.raw,format=qcow2\n", &o,
		       "scsi0: format=qcow2, but the volume is raw");
	assert_refused("memory: 512\nvirtio0: /srv/x.raw,cache=writeback,aio=native\n", &o,
		       "virtio0: aio=native needs cache=none or directsync");
	assert_refused("memory: 512\nkvm: 1\n", &o, "KVM does not work on this host");
	assert_refused("memory: 512\ncpu: host\n", &o, "cpu: host needs KVM");
	assert_refused("memory: 512\nbios: ovmf\n", &o, "bios: ovmf is not supported");
	assert_refused("memory: 512\nvcpus: 2\n", &o, "vcpus (2) is more than sockets x cores (1)");
	assert_refused("memory: 1000\nsockets: 3\nnuma: 1\n", &o,
		       "numa: memory must divide into 3");
	o.run_dir =
		"/a/very/long/run/directory/that/does/not/fit/into/the/path/of/a/unix/socket/address/xyzxyz/more/and/more";
	assert_refused("memory: 512\n", &o, "is too long for socket paths");
	assert_int_equal(qemu_cmdline(ct, 100, &none, &argv, &err), -EINVAL);
	assert_string_equal(err.text, "100 is not a VM");
	guest_conf_free(ct);
}

static void test_names_and_paths(void **state)
{
	struct drover_err err = { "" };
	struct qemu_paths p;
	char tap[16];

	qemu_tap_name(999999999, 31, tap);
	assert_string_equal(tap, "tap999999999i31");
	qemu_tap_name(100, 0, tap);
	assert_string_equal(tap, "tap100i0");
	assert_int_equal(qemu_paths_init(NULL, 100, &p, &err), 0);
	assert_string_equal(p.qmp, "/run/drover/qemu-server/100.qmp");
	assert_string_equal(p.qga, "/run/drover/qemu-server/100.qga");
	assert_string_equal(p.pid, "/run/drover/qemu-server/100.pid");
	assert_string_equal(p.serial[0], "/run/drover/qemu-server/100.serial0");
	assert_string_equal(p.serial_log[3], "/run/drover/qemu-server/100.serial3.log");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_test_guest),	 cmocka_unit_test(test_proxmox_vm),
		cmocka_unit_test(test_drive_kinds),	 cmocka_unit_test(test_accel_and_cpu),
		cmocka_unit_test(test_migration_target), cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_names_and_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
