/* SPDX-License-Identifier: MIT */
#include "guest_options.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/base64.h"
#include "basic/util.h"
#include "guest_drive.h"
#include "guest_net.h"
#include "guest_value.h"
#include "propstr.h"

/* Parse value as a property string and hand each item to fn. */
static int each_item(const char *value,
		     int (*fn)(void *ctx, const char *k, const char *v, struct drover_err *err),
		     void *ctx, struct drover_err *err)
{
	struct propstr p = PROPSTR_INIT;
	int r = propstr_parse(value, &p, err);

	for (size_t i = 0; r == 0 && i < p.n; i++)
		r = fn(ctx, p.items[i].key, p.items[i].value, err);
	propstr_free(&p);
	return r;
}

static int bool_prop(const char *k, const char *v, bool *out, struct drover_err *err)
{
	if (propstr_bool(v, out) < 0)
		return drover_fail(err, -EINVAL, "%s is not a boolean: '%s'", k, v);
	return 0;
}

static int startup_item(void *ctx, const char *k, const char *v, struct drover_err *err)
{
	struct guest_startup *s = ctx;
	uint64_t n;
	long *dst;

	if (!k || streq(k, "order"))
		dst = &s->order;
	else if (streq(k, "up"))
		dst = &s->up;
	else if (streq(k, "down"))
		dst = &s->down;
	else
		return drover_fail(err, -EINVAL, "unknown property '%s' (order, up, down)", k);
	if (*dst >= 0)
		return drover_fail(err, -EINVAL, "%s given twice", k ? k : "order");
	if (guest_uint_parse(k ? k : "order", v, 0, 1000000, &n, err) < 0)
		return -EINVAL;
	*dst = (long)n;
	return 0;
}

int guest_startup_parse(const char *value, struct guest_startup *s, struct drover_err *err)
{
	s->order = s->up = s->down = -1;
	return each_item(value, startup_item, s, err);
}

static int agent_item(void *ctx, const char *k, const char *v, struct drover_err *err)
{
	struct guest_agent *a = ctx;

	if (!k || streq(k, "enabled"))
		return bool_prop("enabled", v, &a->enabled, err);
	if (streq(k, "fstrim_cloned_disks"))
		return bool_prop(k, v, &a->fstrim_cloned_disks, err);
	if (streq(k, "freeze-fs-on-backup"))
		return bool_prop(k, v, &a->freeze_fs_on_backup, err);
	if (streq(k, "type"))
		return guest_enum_copy(k, v, (const char *const[]){ "virtio", "isa", NULL },
				       a->type, sizeof(a->type), err);
	return drover_fail(err, -EINVAL, "unknown property '%s'", k);
}

int guest_agent_parse(const char *value, struct guest_agent *a, struct drover_err *err)
{
	memset(a, 0, sizeof(*a));
	a->freeze_fs_on_backup = true;
	strcpy(a->type, "virtio");
	return each_item(value, agent_item, a, err);
}

static bool boot_device_valid(const char *dev)
{
	enum guest_bus bus;
	unsigned index;

	if (str_has_prefix(dev, "net"))
		return guest_index_parse(dev + 3, GUEST_NET_COUNT, &index) == 0;
	return guest_drive_key(dev, &bus, &index) == 0 && bus != GUEST_BUS_UNUSED;
}

static int boot_order(const char *v, struct guest_boot *b, struct drover_err *err)
{
	char copy[GUEST_BOOT_MAX * 16], *save = NULL;

	if (strlen(v) >= sizeof(copy) || v[0] == ';' || v[strlen(v) - 1] == ';' || strstr(v, ";;"))
		return drover_fail(err, -EINVAL, "bad boot order '%s'", v);
	snprintf(copy, sizeof(copy), "%s", v);
	for (char *d = strtok_r(copy, ";", &save); d; d = strtok_r(NULL, ";", &save)) {
		if (!boot_device_valid(d))
			return drover_fail(err, -EINVAL, "boot order: '%s' is not a disk or NIC",
					   d);
		for (size_t i = 0; i < b->n; i++)
			if (streq(b->order[i], d))
				return drover_fail(err, -EINVAL, "boot order: '%s' twice", d);
		if (b->n == GUEST_BOOT_MAX)
			return drover_fail(err, -EINVAL, "boot order: too many devices");
		snprintf(b->order[b->n++], sizeof(b->order[0]), "%s", d);
	}
	return 0;
}

static int boot_item(void *ctx, const char *k, const char *v, struct drover_err *err)
{
	struct guest_boot *b = ctx;
	size_t len = strlen(v);

	if (k && streq(k, "order"))
		return boot_order(v, b, err);
	if (k)
		return drover_fail(err, -EINVAL, "unknown property '%s' (order=)", k);
	if (len > 4 || strspn(v, "acdn") != len)
		return drover_fail(err, -EINVAL,
				   "bad boot value '%s' (order=DEV;DEV or [acdn]{1,4})", v);
	snprintf(b->legacy, sizeof(b->legacy), "%s", v);
	return 0;
}

int guest_boot_parse(const char *value, struct guest_boot *b, struct drover_err *err)
{
	memset(b, 0, sizeof(*b));
	return each_item(value, boot_item, b, err);
}

int guest_memory_parse(const char *value, uint64_t *kib, struct drover_err *err)
{
	uint64_t n, bytes;
	size_t len = strlen(value);

	if (len > 0 && isdigit((unsigned char)value[len - 1])) {
		/* Proxmox: MiB */
		if (guest_uint_parse("memory", value, 16, 64ull << 20, &n, err) < 0)
			return -EINVAL;
		*kib = n << 10;
		return 0;
	}
	if (!strchr("KMG", value[len ? len - 1 : 0]) || guest_size_parse(value, &bytes) < 0 ||
	    strchr(value, '.'))
		return drover_fail(err, -EINVAL,
				   "memory must be MiB or a size like 524224K, not '%s'", value);
	if (bytes < (16ull << 20) || bytes > (64ull << 40) || bytes % 4096)
		return drover_fail(err, -EINVAL,
				   "memory must be 16 MiB to 64 TiB in whole 4 KiB pages, not %s",
				   value);
	*kib = bytes >> 10;
	return 0;
}

static int cpu_flags_check(const char *v, struct drover_err *err)
{
	char copy[256], *save = NULL;

	if (strlen(v) >= sizeof(copy))
		return drover_fail(err, -EINVAL, "cpu flags too long");
	snprintf(copy, sizeof(copy), "%s", v);
	for (char *f = strtok_r(copy, ";", &save); f; f = strtok_r(NULL, ";", &save))
		if ((f[0] != '+' && f[0] != '-') || !guest_chars_ok(f + 1, "_-."))
			return drover_fail(err, -EINVAL, "bad cpu flag '%s' (+FLAG or -FLAG)", f);
	return 0;
}

static int cpu_item(void *ctx, const char *k, const char *v, struct drover_err *err)
{
	struct guest_cpu *c = ctx;

	if (!k || streq(k, "cputype")) {
		if (strlen(v) >= sizeof(c->type) || !guest_chars_ok(v, "_-."))
			return drover_fail(err, -EINVAL, "bad cpu type '%s'", v);
		snprintf(c->type, sizeof(c->type), "%s", v);
		return 0;
	}
	if (streq(k, "flags")) {
		snprintf(c->flags, sizeof(c->flags), "%s", v);
		return cpu_flags_check(v, err);
	}
	if (streq(k, "hidden"))
		return bool_prop(k, v, &c->hidden, err);
	return drover_fail(err, -EINVAL, "unknown property '%s'", k);
}

int guest_cpu_parse(const char *value, struct guest_cpu *c, struct drover_err *err)
{
	memset(c, 0, sizeof(*c));
	if (each_item(value, cpu_item, c, err) < 0)
		return -EINVAL;
	if (!c->type[0])
		return drover_fail(err, -EINVAL, "no cpu type");
	return 0;
}

static int vga_item(void *ctx, const char *k, const char *v, struct drover_err *err)
{
	static const char *const types[] = { "std",	"cirrus",  "vmware",  "qxl",
					     "virtio",	"none",	   "serial0", "serial1",
					     "serial2", "serial3", NULL };
	struct guest_vga *g = ctx;
	uint64_t n;

	if (!k || streq(k, "type"))
		return guest_enum_copy("vga type", v, types, g->type, sizeof(g->type), err);
	if (streq(k, "memory")) {
		if (guest_uint_parse("vga memory", v, 4, 512, &n, err) < 0)
			return -EINVAL;
		g->memory = (unsigned)n;
		return 0;
	}
	return drover_fail(err, -EINVAL, "unknown property '%s'", k);
}

int guest_vga_parse(const char *value, struct guest_vga *v, struct drover_err *err)
{
	memset(v, 0, sizeof(*v));
	strcpy(v->type, "std");
	return each_item(value, vga_item, v, err);
}

struct smbios_ctx {
	struct guest_smbios *s;
	bool base64;
};

static char *smbios_field(struct guest_smbios *s, const char *k)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
		{ "manufacturer", offsetof(struct guest_smbios, manufacturer) },
		{ "product", offsetof(struct guest_smbios, product) },
		{ "version", offsetof(struct guest_smbios, version) },
		{ "serial", offsetof(struct guest_smbios, serial) },
		{ "sku", offsetof(struct guest_smbios, sku) },
		{ "family", offsetof(struct guest_smbios, family) },
	};

	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (streq(k, fields[i].name))
			return (char *)s + fields[i].off;
	return NULL;
}

static int smbios_item(void *ctx, const char *k, const char *v, struct drover_err *err)
{
	struct smbios_ctx *c = ctx;
	char *field = k ? smbios_field(c->s, k) : NULL;

	if (k && streq(k, "uuid")) {
		if (!guest_uuid_valid(v))
			return drover_fail(err, -EINVAL, "bad uuid '%s'", v);
		snprintf(c->s->uuid, sizeof(c->s->uuid), "%s", v);
		return 0;
	}
	if (k && streq(k, "base64"))
		return bool_prop(k, v, &c->base64, err);
	if (!field)
		return drover_fail(err, -EINVAL, "unknown property '%s'", k ? k : v);
	if (strlen(v) >= sizeof(c->s->product))
		return drover_fail(err, -EINVAL, "%s too long", k);
	snprintf(field, sizeof(c->s->product), "%s", v);
	return 0;
}

/* base64=1 may come after the fields it applies to: decode at the end. */
static int smbios_decode(struct guest_smbios *s, struct drover_err *err)
{
	static const char *const names[] = { "manufacturer", "product", "version",
					     "serial",	     "sku",	"family" };
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(names) && r == 0; i++) {
		char *f = smbios_field(s, names[i]);
		struct buf b = BUF_INIT;

		if (!f[0])
			continue;
		r = base64_decode(f, strlen(f), &b);
		if (r == 0 && (b.len >= sizeof(s->product) || memchr(b.data, '\0', b.len)))
			r = -EINVAL;
		if (r == 0) {
			memcpy(f, b.data, b.len);
			f[b.len] = '\0';
		} else {
			r = drover_fail(err, -EINVAL, "%s is not base64 text", names[i]);
		}
		buf_free(&b);
	}
	return r;
}

int guest_smbios_parse(const char *value, struct guest_smbios *s, struct drover_err *err)
{
	struct smbios_ctx c = { s, false };

	memset(s, 0, sizeof(*s));
	if (each_item(value, smbios_item, &c, err) < 0)
		return -EINVAL;
	return c.base64 ? smbios_decode(s, err) : 0;
}

static int features_item(void *ctx, const char *k, const char *v, struct drover_err *err)
{
	struct guest_features *f = ctx;

	if (!k)
		return drover_fail(err, -EINVAL, "'%s' is not key=value", v);
	if (streq(k, "nesting"))
		return bool_prop(k, v, &f->nesting, err);
	if (streq(k, "fuse"))
		return bool_prop(k, v, &f->fuse, err);
	if (streq(k, "keyctl"))
		return bool_prop(k, v, &f->keyctl, err);
	if (streq(k, "mount") || streq(k, "mknod") || streq(k, "force_rw_sys"))
		return drover_fail(err, -EINVAL, "feature '%s' is not supported by drover", k);
	return drover_fail(err, -EINVAL, "unknown feature '%s' (nesting, fuse, keyctl)", k);
}

int guest_features_parse(const char *value, struct guest_features *f, struct drover_err *err)
{
	memset(f, 0, sizeof(*f));
	return each_item(value, features_item, f, err);
}

int guest_tags_check(const char *value, struct drover_err *err)
{
	char copy[4096], *save = NULL;
	unsigned n = 0;

	if (strlen(value) >= sizeof(copy))
		return drover_fail(err, -EINVAL, "tags too long");
	snprintf(copy, sizeof(copy), "%s", value);
	for (char *t = strtok_r(copy, ";", &save); t; t = strtok_r(NULL, ";", &save), n++) {
		if (!guest_chars_ok(t, "_+.-") || t[0] == '+' || t[0] == '.' || t[0] == '-')
			return drover_fail(err, -EINVAL, "bad tag '%s'", t);
	}
	if (n == 0 || n > 64)
		return drover_fail(err, -EINVAL, "tags: 1 to 64 tags separated by ';'");
	return 0;
}

int guest_serial_check(const char *value, struct drover_err *err)
{
	if (streq(value, "socket"))
		return 0;
	if (str_has_prefix(value, "/dev/") && guest_chars_ok(value + 5, "/_.-") &&
	    !strstr(value, ".."))
		return 0;
	return drover_fail(err, -EINVAL, "serial port must be 'socket' or /dev/..., not '%s'",
			   value);
}

/* "X.Y" then optionally "+pveN": the versioned machine types. */
static bool machine_version_ok(const char *v)
{
	unsigned parts = 0;

	for (;;) {
		size_t n = strspn(v, "0123456789");

		if (n == 0)
			return false;
		v += n;
		parts++;
		if (*v != '.')
			break;
		v++;
	}
	if (parts < 2)
		return false;
	if (str_has_prefix(v, "+pve"))
		v += 4 + strspn(v + 4, "0123456789");
	return *v == '\0';
}

int guest_machine_check(const char *value, struct drover_err *err)
{
	if (streq(value, "pc") || streq(value, "q35"))
		return 0;
	if (str_has_prefix(value, "pc-i440fx-") && machine_version_ok(value + 10))
		return 0;
	if (str_has_prefix(value, "pc-q35-") && machine_version_ok(value + 7))
		return 0;
	return drover_fail(err, -EINVAL,
			   "machine must be pc, q35, pc-i440fx-X.Y or pc-q35-X.Y, not '%s'", value);
}

bool guest_machine_is_q35(const char *value)
{
	return streq(value, "q35") || str_has_prefix(value, "pc-q35-");
}
