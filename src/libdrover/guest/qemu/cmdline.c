/* SPDX-License-Identifier: MIT */
/* The QEMU command line: machine, CPUs, memory, firmware, display; the devices in cmdline_*.c. */
#include "cmdline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/shellwords.h"
#include "basic/util.h"
#include "cmdline_internal.h"
#include "libdrover/format/propstr.h"

int qb_add(struct qemu_build *b, ...)
{
	const char *s;
	va_list ap;
	int r = 0;

	va_start(ap, b);
	while (r == 0 && (s = va_arg(ap, const char *)))
		r = strv_add(&b->argv, s);
	va_end(ap);
	return r < 0 ? drover_fail(b->err, r, "out of memory") : 0;
}

int qb_addf(struct qemu_build *b, const char *opt, const char *fmt, ...)
{
	char *value;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&value, fmt, ap);
	va_end(ap);
	if (r < 0)
		return drover_fail(b->err, -ENOMEM, "out of memory");
	r = qb_add(b, opt, value, NULL);
	free(value);
	return r;
}

const char *qb_escape(const char *value, char *buf, size_t len)
{
	size_t o = 0;

	for (const char *p = value; *p && o + 2 < len; p++) {
		buf[o++] = *p;
		if (*p == ',')
			buf[o++] = ',';
	}
	buf[o] = '\0';
	return buf;
}

int qb_bootindex(const struct qemu_build *b, const char *key)
{
	for (size_t i = 0; i < b->boot.n; i++)
		if (streq(b->boot.order[i], key))
			return 100 + (int)i;
	return -1;
}

void qemu_tap_name(uint32_t vmid, unsigned index, char out[16])
{
	snprintf(out, 16, "tap%" PRIu32 "i%u", vmid, index);
}

/* A boolean key: 1/0, or dflt when missing. */
static bool get_bool(const struct qemu_build *b, const char *key, bool dflt)
{
	const char *v = guest_get(b->cur, key);
	bool on = dflt;

	if (v)
		propstr_bool(v, &on);
	return on;
}

static unsigned get_uint(const struct qemu_build *b, const char *key, unsigned dflt)
{
	const char *v = guest_get(b->cur, key);
	uint64_t n;

	return v && parse_u64(v, UINT32_MAX, &n) == 0 ? (unsigned)n : dflt;
}

static int accel(struct qemu_build *b)
{
	const char *kvm = guest_get(b->cur, "kvm");
	bool want = get_bool(b, "kvm", true);

	if (kvm && want && !b->o->kvm_usable)
		return drover_fail(
			b->err, -EINVAL,
			"kvm: 1, but KVM does not work on this host (set kvm: 0 for TCG)");
	b->kvm = want && b->o->kvm_usable;
	return qb_add(b, "-accel", b->kvm ? "kvm" : "tcg", NULL);
}

/* The machine type without Proxmox's "+pveN" (QEMU has no such types). */
static int machine(struct qemu_build *b)
{
	const char *m = b->o->machine ? b->o->machine : guest_get(b->cur, "machine");
	char type[64];
	char *plus;

	if (m && guest_machine_check(m, b->err) < 0)
		return -EINVAL;
	snprintf(type, sizeof(type), "%s", m ? m : "pc");
	plus = strstr(type, "+pve");
	if (plus)
		*plus = '\0';
	b->q35 = guest_machine_is_q35(type);
	return qb_addf(b, "-machine", "type=%s%s", type,
		       get_bool(b, "acpi", true) ? "" : ",acpi=off");
}

static int firmware(struct qemu_build *b)
{
	const char *bios = guest_get(b->cur, "bios");

	if (bios && streq(bios, "ovmf"))
		return drover_fail(b->err, -EINVAL, "bios: ovmf is not supported by drover yet");
	return 0;
}

static int smbios(struct qemu_build *b)
{
	const char *v = guest_get(b->cur, "smbios1");
	static const char *const names[] = { "manufacturer", "product", "version",
					     "serial",	     "sku",	"family" };
	struct guest_smbios s;
	struct buf arg = BUF_INIT;
	int r;

	if (!v)
		return 0;
	if (guest_smbios_parse(v, &s, b->err) < 0)
		return -EINVAL;
	r = buf_printf(&arg, "type=1");
	if (r == 0 && s.uuid[0])
		r = buf_printf(&arg, ",uuid=%s", s.uuid);
	for (size_t i = 0; i < ARRAY_SIZE(names) && r == 0; i++) {
		const char *f = (const char *[]){ s.manufacturer, s.product, s.version,
						  s.serial,	  s.sku,     s.family }[i];
		char esc[300];

		if (f[0])
			r = buf_printf(&arg, ",%s=%s", names[i], qb_escape(f, esc, sizeof(esc)));
	}
	if (r == 0)
		r = buf_terminate(&arg);
	if (r == 0)
		r = qb_add(b, "-smbios", (char *)arg.data, NULL);
	buf_free(&arg);
	return r == -ENOMEM ? drover_fail(b->err, r, "out of memory") : r;
}

/* -m, and with numa: 1 one memory backend and NUMA node per socket. */
static int memory(struct qemu_build *b)
{
	const char *v = guest_get(b->cur, "memory");
	unsigned sockets = get_uint(b, "sockets", 1), cores = get_uint(b, "cores", 1);
	uint64_t kib = 512 << 10;
	int r;

	if (v && guest_memory_parse(v, &kib, b->err) < 0)
		return -EINVAL;
	if (kib % 1024 == 0)
		r = qb_addf(b, "-m", "%" PRIu64, kib >> 10);
	else
		r = qb_addf(b, "-m", "%" PRIu64 "k", kib);
	if (r < 0 || !get_bool(b, "numa", false))
		return r;
	if (kib % (sockets * 1024ull))
		return drover_fail(b->err, -EINVAL,
				   "numa: memory must divide into %u whole MiB parts", sockets);
	for (unsigned s = 0; s < sockets && r == 0; s++) {
		r = qb_addf(b, "-object", "memory-backend-ram,id=ram-node%u,size=%" PRIu64 "M", s,
			    kib / sockets >> 10);
		if (r == 0)
			r = qb_addf(b, "-numa", "node,nodeid=%u,cpus=%u-%u,memdev=ram-node%u", s,
				    s * cores, s * cores + cores - 1, s);
	}
	return r;
}

static int cpus(struct qemu_build *b)
{
	unsigned sockets = get_uint(b, "sockets", 1), cores = get_uint(b, "cores", 1);
	unsigned total = sockets * cores, vcpus = get_uint(b, "vcpus", total);
	const char *v = guest_get(b->cur, "cpu");
	struct guest_cpu c = { .type = "" };
	struct buf arg = BUF_INIT;
	char *save = NULL;
	int r;

	if (vcpus > total)
		return drover_fail(b->err, -EINVAL, "vcpus (%u) is more than sockets x cores (%u)",
				   vcpus, total);
	r = qb_addf(b, "-smp", "%u,sockets=%u,cores=%u,maxcpus=%u", vcpus, sockets, cores, total);
	if (r < 0 || (v && guest_cpu_parse(v, &c, b->err) < 0))
		return r < 0 ? r : -EINVAL;
	if (!c.type[0])
		strcpy(c.type, b->kvm ? "kvm64" : "qemu64");
	if (streq(c.type, "host") && !b->kvm)
		return drover_fail(b->err, -EINVAL,
				   "cpu: host needs KVM, and this VM runs under TCG");
	r = buf_printf(&arg, "%s", c.type);
	/* "+aes;-pcid" -> ",+aes,-pcid" */
	for (char *f = strtok_r(c.flags, ";", &save); r == 0 && f; f = strtok_r(NULL, ";", &save))
		r = buf_printf(&arg, ",%s", f);
	if (r == 0 && c.hidden)
		r = buf_printf(&arg, ",kvm=off");
	if (r == 0)
		r = buf_terminate(&arg);
	if (r == 0)
		r = qb_add(b, "-cpu", (char *)arg.data, NULL);
	buf_free(&arg);
	return r == -ENOMEM ? drover_fail(b->err, r, "out of memory") : r;
}

static int boot(struct qemu_build *b)
{
	const char *v = guest_get(b->cur, "boot");

	if (!v)
		return 0;
	if (guest_boot_parse(v, &b->boot, b->err) < 0)
		return -EINVAL;
	if (b->boot.legacy[0])
		return qb_addf(b, "-boot", "order=%s", b->boot.legacy);
	return qb_add(b, "-boot", "menu=on,strict=on,reboot-timeout=1000", NULL);
}

static int display(struct qemu_build *b)
{
	static const struct {
		const char *type, *device;
	} vgas[] = {
		{ "std", "VGA" },     { "cirrus", "cirrus-vga" }, { "vmware", "vmware-svga" },
		{ "qxl", "qxl-vga" }, { "virtio", "virtio-vga" },
	};
	const char *v = guest_get(b->cur, "vga");
	struct guest_vga g = { .type = "std" };
	int r;

	if (v && guest_vga_parse(v, &g, b->err) < 0)
		return -EINVAL;
	r = qb_add(b, "-display", "none", NULL);
	for (size_t i = 0; i < ARRAY_SIZE(vgas) && r == 0; i++) {
		if (!streq(g.type, vgas[i].type))
			continue;
		if (g.memory)
			r = qb_addf(b, "-device", "%s,id=vga,vgamem_mb=%u", vgas[i].device,
				    g.memory);
		else
			r = qb_addf(b, "-device", "%s,id=vga", vgas[i].device);
		if (r == 0 && get_bool(b, "tablet", true))
			r = qb_add(b, "-device", "piix3-usb-uhci,id=uhci", "-device",
				   "usb-tablet,id=tablet,bus=uhci.0,port=1", NULL);
	}
	return r;
}

static int platform_devices(struct qemu_build *b)
{
	const char *genid = guest_get(b->cur, "vmgenid");
	int r = qb_addf(b, "-rtc", "base=%s",
			get_bool(b, "localtime", false) ? "localtime" : "utc");

	if (r == 0 && get_uint(b, "balloon", 1) != 0)
		r = qb_add(b, "-device", "virtio-balloon-pci,id=balloon0", NULL);
	if (r == 0 && genid && strlen(genid) == 36)
		r = qb_addf(b, "-device", "vmgenid,guid=%s", genid);
	return r;
}

static int head(struct qemu_build *b)
{
	const char *name = guest_get(b->cur, "name");
	char esc[2 * QEMU_SOCK_PATH_MAX];
	int r;

	r = qb_add(b, b->o->binary ? b->o->binary : "qemu-system-x86_64", NULL);
	if (r == 0 && name)
		r = qb_addf(b, "-name", "%s,debug-threads=on", name);
	else if (r == 0)
		r = qb_addf(b, "-name", "VM%" PRIu32 ",debug-threads=on", b->vmid);
	if (r == 0)
		r = qb_add(b, "-nodefaults", "-no-user-config", NULL);
	if (r == 0)
		r = qb_addf(b, "-chardev", "socket,id=qmp,path=%s,server=on,wait=off",
			    qb_escape(b->paths.qmp, esc, sizeof(esc)));
	if (r == 0)
		r = qb_add(b, "-mon", "chardev=qmp,mode=control", "-pidfile", b->paths.pid, NULL);
	return r;
}

static int user_args(struct qemu_build *b)
{
	const char *args = guest_get(b->cur, "args");
	int r;

	if (!args)
		return 0;
	r = shellwords_split(args, &b->argv);
	if (r == -EINVAL)
		return drover_fail(b->err, r, "args: unbalanced quote or trailing backslash");
	return r < 0 ? drover_fail(b->err, r, "out of memory") : 0;
}

static int tail(struct qemu_build *b)
{
	int r = user_args(b);

	if (r == 0 && b->o->paused)
		r = qb_add(b, "-S", NULL);
	if (r == 0 && b->o->incoming)
		r = qb_add(b, "-incoming", b->o->incoming, NULL);
	if (r == 0 && b->o->daemonize)
		r = qb_add(b, "-daemonize", NULL);
	return r;
}

int qemu_cmdline(struct guest_conf *conf, uint32_t vmid, const struct qemu_cmdline_opts *o,
		 char ***argv, struct drover_err *err)
{
	int (*const steps[])(struct qemu_build *) = {
		head,	 machine,	   accel,    firmware,	 smbios,    memory,  cpus, boot,
		display, platform_devices, qb_agent, qb_serials, qb_drives, qb_nics, tail,
	};
	struct qemu_build b = { .o = o, .vmid = vmid, .err = err };
	int r;

	if (guest_conf_type(conf) != GUEST_QEMU)
		return drover_fail(err, -EINVAL, "%" PRIu32 " is not a VM", vmid);
	b.cur = guest_conf_current(conf);
	r = qemu_paths_init(o->run_dir, vmid, &b.paths, err);
	for (size_t i = 0; i < ARRAY_SIZE(steps) && r == 0; i++)
		r = steps[i](&b);
	if (r < 0) {
		strv_free(&b.argv);
		return r;
	}
	*argv = strv_steal(&b.argv);
	return 0;
}
