/* SPDX-License-Identifier: MIT */
#include "guest_schema.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/shellwords.h"
#include "basic/util.h"
#include "guest_drive.h"
#include "guest_net.h"
#include "guest_options.h"
#include "guest_value.h"
#include "propstr.h"

#define QM (1u << GUEST_QEMU)
#define CT (1u << GUEST_LXC)
#define ANY (QM | CT)
#define CONF (GUEST_IN_CURRENT | GUEST_IN_SNAPSHOT | GUEST_IN_PENDING)
#define SNAP GUEST_IN_SNAPSHOT

static const char *const lock_values[] = { "backup",	"clone",    "create",	       "migrate",
					   "rollback",	"snapshot", "snapshot-delete", "suspending",
					   "suspended", "mounted",  "destroyed",       "disk",
					   "fstrim",	NULL };
static const char *const qm_ostypes[] = { "other",  "wxp",  "w2k",     "w2k3",	"w2k8",
					  "wvista", "win7", "win8",    "win10", "win11",
					  "l24",    "l26",  "solaris", NULL };
static const char *const ct_ostypes[] = { "debian", "devuan",	"ubuntu",    "centos",
					  "fedora", "opensuse", "archlinux", "alpine",
					  "gentoo", "nixos",	"unmanaged", NULL };
static const char *const arches[] = {
	"amd64", "i386", "arm64", "armhf", "riscv32", "riscv64", NULL
};
static const char *const scsihws[] = {
	"lsi", "lsi53c810", "virtio-scsi-pci", "virtio-scsi-single", "megasas", "pvscsi", NULL
};
static const char *const bioses[] = { "seabios", "ovmf", NULL };
static const char *const snapstates[] = { "prepare", "delete", NULL };
static const char *const cmodes[] = { "tty", "console", "shell", NULL };

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return true;
	return false;
}

static int check_drive(enum guest_type t, const char *key, const char *value,
		       struct drover_err *err)
{
	struct guest_drive d;

	return guest_drive_parse(key, value, &d, err);
}

static int check_nic(enum guest_type t, const char *key, const char *value, struct drover_err *err)
{
	struct guest_ct_nic c;
	struct guest_nic n;

	if (t == GUEST_LXC)
		return guest_ct_nic_parse(key, value, &c, err);
	return guest_nic_parse(key, value, &n, err);
}

static int check_mount(enum guest_type t, const char *key, const char *value,
		       struct drover_err *err)
{
	struct guest_mount m;

	return guest_mount_parse(key, value, &m, err);
}

static int check_memory(enum guest_type t, const char *key, const char *value,
			struct drover_err *err)
{
	uint64_t kib;

	if (t == GUEST_LXC)
		return guest_uint_parse("memory (MiB)", value, 16, 64ull << 20, NULL, err);
	return guest_memory_parse(value, &kib, err);
}

static int check_startup(enum guest_type t, const char *key, const char *value,
			 struct drover_err *err)
{
	struct guest_startup s;

	return guest_startup_parse(value, &s, err);
}

static int check_agent(enum guest_type t, const char *key, const char *value,
		       struct drover_err *err)
{
	struct guest_agent a;

	return guest_agent_parse(value, &a, err);
}

static int check_boot(enum guest_type t, const char *key, const char *value, struct drover_err *err)
{
	struct guest_boot b;

	return guest_boot_parse(value, &b, err);
}

static int check_cpu(enum guest_type t, const char *key, const char *value, struct drover_err *err)
{
	struct guest_cpu c;

	return guest_cpu_parse(value, &c, err);
}

static int check_vga(enum guest_type t, const char *key, const char *value, struct drover_err *err)
{
	struct guest_vga v;

	return guest_vga_parse(value, &v, err);
}

static int check_smbios(enum guest_type t, const char *key, const char *value,
			struct drover_err *err)
{
	struct guest_smbios s;

	return guest_smbios_parse(value, &s, err);
}

static int check_features(enum guest_type t, const char *key, const char *value,
			  struct drover_err *err)
{
	struct guest_features f;

	return guest_features_parse(value, &f, err);
}

static int check_tags(enum guest_type t, const char *key, const char *value, struct drover_err *err)
{
	return guest_tags_check(value, err);
}

static int check_serial(enum guest_type t, const char *key, const char *value,
			struct drover_err *err)
{
	return guest_serial_check(value, err);
}

static int check_machine(enum guest_type t, const char *key, const char *value,
			 struct drover_err *err)
{
	return guest_machine_check(value, err);
}

static int check_ostype(enum guest_type t, const char *key, const char *value,
			struct drover_err *err)
{
	return guest_enum_check(key, value, t == GUEST_LXC ? ct_ostypes : qm_ostypes, err);
}

static int check_dns_name(enum guest_type t, const char *key, const char *value,
			  struct drover_err *err)
{
	if (!guest_dns_name_valid(value))
		return drover_fail(err, -EINVAL, "%s must be a DNS name, not '%s'", key, value);
	return 0;
}

static int check_snapname(enum guest_type t, const char *key, const char *value,
			  struct drover_err *err)
{
	size_t n = strlen(value);

	if (n < 2 || n > 40 || !((value[0] | 0x20) >= 'a' && (value[0] | 0x20) <= 'z') ||
	    !guest_chars_ok(value, "_-"))
		return drover_fail(err, -EINVAL, "bad snapshot name '%s'", value);
	return 0;
}

static int check_volume(enum guest_type t, const char *key, const char *value,
			struct drover_err *err)
{
	enum guest_volume_kind kind;

	if (guest_volume_parse(value, false, &kind, err) < 0)
		return -EINVAL;
	if (kind != GUEST_VOLUME_STORAGE)
		return drover_fail(err, -EINVAL, "%s must be a storage volume", key);
	return 0;
}

static int check_text(enum guest_type t, const char *key, const char *value, struct drover_err *err)
{
	if (has_control(value))
		return drover_fail(err, -EINVAL, "%s has a control character", key);
	if (strlen(value) > GUEST_DESCRIPTION_MAX)
		return drover_fail(err, -EINVAL, "%s is longer than %d bytes", key,
				   GUEST_DESCRIPTION_MAX);
	return 0;
}

static int check_args(enum guest_type t, const char *key, const char *value, struct drover_err *err)
{
	struct strv words = STRV_INIT;
	int r = shellwords_split(value, &words);

	strv_free(&words);
	if (r == -ENOMEM)
		return drover_fail(err, r, "out of memory");
	if (r < 0)
		return drover_fail(err, -EINVAL, "args: unbalanced quote or trailing backslash");
	return 0;
}

static int check_hotplug(enum guest_type t, const char *key, const char *value,
			 struct drover_err *err)
{
	static const char *const kinds[] = { "network", "disk",	     "cpu", "memory",
					     "usb",	"cloudinit", NULL };
	char copy[128], *save = NULL;

	if (streq(value, "0") || streq(value, "1"))
		return 0;
	if (strlen(value) >= sizeof(copy) || value[0] == ',' || strstr(value, ",,") ||
	    value[strlen(value) - 1] == ',')
		return drover_fail(err, -EINVAL, "bad hotplug '%s'", value);
	snprintf(copy, sizeof(copy), "%s", value);
	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save))
		if (guest_enum_check("hotplug", w, kinds, err) < 0)
			return -EINVAL;
	return 0;
}

static int check_vmgenid(enum guest_type t, const char *key, const char *value,
			 struct drover_err *err)
{
	if (streq(value, "0") || streq(value, "1") || guest_uuid_valid(value))
		return 0;
	return drover_fail(err, -EINVAL, "vmgenid must be a UUID, 0 or 1, not '%s'", value);
}

static int check_meta(enum guest_type t, const char *key, const char *value, struct drover_err *err)
{
	struct propstr p = PROPSTR_INIT;
	int r = propstr_parse(value, &p, err);

	for (size_t i = 0; r == 0 && i < p.n; i++) {
		const char *k = p.items[i].key;

		if (!k || (!streq(k, "creation-qemu") && !streq(k, "ctime")))
			r = drover_fail(err, -EINVAL, "meta: unknown property '%s'",
					k ? k : p.items[i].value);
		else if (!guest_chars_ok(p.items[i].value, "._+-"))
			r = drover_fail(err, -EINVAL, "meta: bad %s '%s'", k, p.items[i].value);
	}
	propstr_free(&p);
	return r;
}

/* nameserver / searchdomain: blank-separated addresses or names. */
static int check_name_list(enum guest_type t, const char *key, const char *value,
			   struct drover_err *err)
{
	bool ips = streq(key, "nameserver");
	char copy[512], *save = NULL;

	if (strlen(value) >= sizeof(copy))
		return drover_fail(err, -EINVAL, "%s too long", key);
	snprintf(copy, sizeof(copy), "%s", value);
	for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
		if (ips ? !guest_ip_valid(w, 0) : !guest_dns_name_valid(w))
			return drover_fail(err, -EINVAL, "%s: bad entry '%s'", key, w);
	return 0;
}

/* [PENDING] delete: KEY,!KEY,... (a '!' forces the deletion). */
static int check_pending_delete(enum guest_type t, const char *key, const char *value,
				struct drover_err *err)
{
	char copy[4096], *save = NULL;

	if (strlen(value) >= sizeof(copy) || value[0] == ',' || strstr(value, ",,"))
		return drover_fail(err, -EINVAL, "bad delete list '%s'", value);
	snprintf(copy, sizeof(copy), "%s", value);
	for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
		const char *name = k[0] == '!' ? k + 1 : k;
		const struct guest_key *gk = guest_key_find(t, name);

		if ((!gk || !(gk->where & GUEST_IN_CURRENT)) && !guest_key_is_raw_lxc(t, name))
			return drover_fail(err, -EINVAL, "delete: unknown key '%s'", name);
	}
	return 0;
}

#define B(n, ty, wh, h)                                           \
	{                                                         \
		n, 0, ty, wh, GUEST_KEY_BOOL, 0, 1, NULL, NULL, h \
	}
#define U(n, ty, wh, lo, hi, h)                                     \
	{                                                           \
		n, 0, ty, wh, GUEST_KEY_UINT, lo, hi, NULL, NULL, h \
	}
#define N(n, ty, wh, lo, hi, h)                                       \
	{                                                             \
		n, 0, ty, wh, GUEST_KEY_NUMBER, lo, hi, NULL, NULL, h \
	}
#define E(n, ty, wh, ch, h)                                     \
	{                                                       \
		n, 0, ty, wh, GUEST_KEY_ENUM, 0, 0, ch, NULL, h \
	}
#define C(n, ty, wh, fn, h)                                       \
	{                                                         \
		n, 0, ty, wh, GUEST_KEY_CUSTOM, 0, 0, NULL, fn, h \
	}
#define IDX(n, cnt, ty, wh, fn, h)                                  \
	{                                                           \
		n, cnt, ty, wh, GUEST_KEY_CUSTOM, 0, 0, NULL, fn, h \
	}

static const struct guest_key keys[] = {
	B("acpi", QM, CONF, "ACPI for the guest (default 1)"),
	C("agent", QM, CONF, check_agent, "QEMU guest agent: [enabled=]0|1[,type=virtio|isa]"),
	C("args", QM, CONF, check_args, "extra QEMU arguments, split as a shell would (root only)"),
	E("arch", CT, CONF, arches, "container architecture"),
	U("balloon", QM, CONF, 0, 64ull << 20, "balloon target in MiB (0: no balloon device)"),
	E("bios", QM, CONF, bioses, "firmware: seabios (ovmf is not supported by drover yet)"),
	C("boot", QM, CONF, check_boot, "boot order: order=DEV;DEV..."),
	E("cmode", CT, CONF, cmodes, "console mode of the container"),
	B("console", CT, CONF, "attach a console device to the container (default 1)"),
	U("cores", ANY, CONF, 1, 8192, "CPU cores (per socket for VMs)"),
	C("cpu", QM, CONF, check_cpu, "CPU model: [cputype=]MODEL[,flags=+F;-F]"),
	N("cpulimit", ANY, CONF, 0, 8192, "CPU time limit in CPUs (0: none)"),
	U("cpuunits", ANY, CONF, 1, 262144, "CPU weight against other guests"),
	B("debug", CT, CONF, "verbose LXC log"),
	C("delete", ANY, GUEST_IN_PENDING, check_pending_delete,
	  "keys to delete at the next start"),
	C("description", ANY, CONF, check_text, "free text (written as '#' comment lines)"),
	C("features", CT, CONF, check_features, "container features: nesting, fuse, keyctl"),
	C("hostname", CT, CONF, check_dns_name, "container host name"),
	C("hotplug", QM, CONF, check_hotplug, "hot-pluggable device kinds (0, 1 or a list)"),
	IDX("ide", 4, QM, CONF, check_drive, "IDE drive: VOLUME[,media=cdrom][,size=..]..."),
	B("kvm", QM, CONF, "hardware virtualisation (unset: when /dev/kvm works; 0: TCG)"),
	B("localtime", QM, CONF, "real-time clock in local time"),
	E("lock", ANY, GUEST_IN_CURRENT, lock_values, "an operation holds the guest"),
	C("machine", QM, CONF, check_machine, "QEMU machine type"),
	C("memory", ANY, CONF, check_memory, "memory in MiB (VMs also take K/M/G sizes)"),
	C("meta", QM, CONF, check_meta, "creation information"),
	IDX("mp", GUEST_MP_COUNT, CT, CONF, check_mount,
	    "mount point: VOLUME,mp=PATH[,size=..]..."),
	N("migrate_downtime", QM, CONF, 0, 2000, "allowed migration downtime in seconds"),
	U("migrate_speed", QM, CONF, 0, 1ull << 40, "migration bandwidth limit in MB/s (0: none)"),
	C("name", QM, CONF, check_dns_name, "VM name"),
	C("nameserver", CT, CONF, check_name_list, "DNS servers inside the container"),
	IDX("net", GUEST_NET_COUNT, ANY, CONF, check_nic, "network interface"),
	B("numa", QM, CONF, "NUMA topology"),
	B("onboot", ANY, CONF, "start when the node starts (cold start)"),
	C("ostype", ANY, CONF, check_ostype, "guest operating system"),
	C("parent", ANY, GUEST_IN_CURRENT | SNAP, check_snapname,
	  "the snapshot this state derives from"),
	B("protection", ANY, CONF, "refuse destroy and disk removal"),
	C("rootfs", CT, CONF, check_mount, "container root: VOLUME[,size=..]..."),
	C("runningcpu", QM, SNAP, check_text, "CPU model of a snapshot with RAM"),
	C("runningmachine", QM, SNAP, check_machine, "machine type of a snapshot with RAM"),
	IDX("sata", 6, QM, CONF, check_drive, "SATA drive"),
	IDX("scsi", 31, QM, CONF, check_drive, "SCSI drive"),
	E("scsihw", QM, CONF, scsihws, "SCSI controller model (default virtio-scsi-pci)"),
	C("searchdomain", CT, CONF, check_name_list, "DNS search domains inside the container"),
	IDX("serial", 4, QM, CONF, check_serial, "serial port: socket or /dev/..."),
	C("smbios1", QM, CONF, check_smbios, "SMBIOS type 1 fields"),
	E("snapstate", ANY, SNAP, snapstates, "a snapshot being made or deleted"),
	U("snaptime", ANY, SNAP, 0, 1ull << 40, "when the snapshot was made (epoch seconds)"),
	U("sockets", QM, CONF, 1, 16, "CPU sockets"),
	C("startup", ANY, CONF, check_startup, "cold start: [order=]N[,up=S][,down=S]"),
	U("swap", CT, CONF, 0, 64ull << 20, "swap in MiB"),
	B("tablet", QM, CONF, "USB tablet device"),
	C("tags", ANY, CONF, check_tags, "tags: TAG;TAG..."),
	B("template", ANY, CONF, "the guest is a template"),
	U("tty", CT, CONF, 0, 6, "ttys of the container"),
	B("unprivileged", CT, CONF, "run the container with a user namespace"),
	IDX("unused", 256, ANY, CONF, check_drive, "a volume owned but not attached"),
	U("vcpus", QM, CONF, 1, 8192, "CPUs plugged at start"),
	C("vga", QM, CONF, check_vga, "display: [type=]std|virtio|none|serialN..."),
	IDX("virtio", 16, QM, CONF, check_drive, "VirtIO block drive"),
	C("vmgenid", QM, CONF, check_vmgenid, "VM generation ID (a UUID)"),
	C("vmstate", QM, SNAP, check_volume, "the volume holding a snapshot's RAM"),
};

const struct guest_key *guest_keys(size_t *n)
{
	*n = ARRAY_SIZE(keys);
	return keys;
}

bool guest_key_is_raw_lxc(enum guest_type t, const char *key)
{
	return t == GUEST_LXC && str_has_prefix(key, "lxc.") && guest_chars_ok(key + 4, "_.-") &&
	       !strpbrk(key + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
}

bool guest_key_syntax_ok(enum guest_type t, const char *key)
{
	const char *p = key;

	if (guest_key_is_raw_lxc(t, key))
		return true;
	if (!(*p >= 'a' && *p <= 'z'))
		return false;
	while ((*p >= 'a' && *p <= 'z') || *p == '_')
		p++;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p == '\0';
}

const struct guest_key *guest_key_find(enum guest_type t, const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct guest_key *k = &keys[i];
		size_t n = strlen(k->name);
		unsigned index;

		if (!(k->types & (1u << t)) || strncmp(key, k->name, n) != 0)
			continue;
		if (k->count ? guest_index_parse(key + n, k->count, &index) == 0 : key[n] == '\0')
			return k;
	}
	return NULL;
}

static int check_value(enum guest_type t, const struct guest_key *k, const char *key,
		       const char *value, struct drover_err *err)
{
	bool on;

	switch (k->type) {
	case GUEST_KEY_BOOL:
		if (propstr_bool(value, &on) < 0)
			return drover_fail(err, -EINVAL, "%s must be 0 or 1, not '%s'", key, value);
		return 0;
	case GUEST_KEY_UINT:
		return guest_uint_parse(key, value, k->min, k->max, NULL, err);
	case GUEST_KEY_NUMBER:
		return guest_number_parse(key, value, (double)k->min, (double)k->max, NULL, err);
	case GUEST_KEY_ENUM:
		return guest_enum_check(key, value, k->choices, err);
	case GUEST_KEY_CUSTOM:
		return k->check(t, key, value, err);
	}
	return -EINVAL;
}

int guest_key_check(enum guest_type t, unsigned where, const char *key, const char *value,
		    struct drover_err *err)
{
	const struct guest_key *k;

	if (guest_key_is_raw_lxc(t, key)) {
		if (where == GUEST_IN_SNAPSHOT || where == GUEST_IN_CURRENT)
			return has_control(value) ? drover_fail(err, -EINVAL,
								"%s has a control character", key)
						  : 0;
		return drover_fail(err, -EINVAL, "raw LXC key '%s' cannot be pending", key);
	}
	k = guest_key_find(t, key);
	if (!k)
		return drover_fail(err, -EINVAL, "unknown key '%s'", key);
	if (!(k->where & where))
		return drover_fail(err, -EINVAL, "key '%s' does not belong in %s", key,
				   where == GUEST_IN_PENDING	? "[PENDING]"
				   : where == GUEST_IN_SNAPSHOT ? "a snapshot section"
								: "the current config");
	if (has_control(value))
		return drover_fail(err, -EINVAL, "%s has a control character", key);
	return check_value(t, k, key, value, err);
}
