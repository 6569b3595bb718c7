/* SPDX-License-Identifier: MIT */
#include "guest_drive.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/buf.h"
#include "basic/util.h"
#include "guest_value.h"
#include "propstr.h"

static const struct {
	const char *name;
	unsigned count;
} buses[GUEST_BUS_COUNT] = {
	[GUEST_BUS_IDE] = { "ide", 4 },		[GUEST_BUS_SATA] = { "sata", 6 },
	[GUEST_BUS_SCSI] = { "scsi", 31 },	[GUEST_BUS_VIRTIO] = { "virtio", 16 },
	[GUEST_BUS_UNUSED] = { "unused", 256 },
};

const char *guest_bus_name(enum guest_bus bus)
{
	return bus < GUEST_BUS_COUNT ? buses[bus].name : "?";
}

unsigned guest_bus_count(enum guest_bus bus)
{
	return bus < GUEST_BUS_COUNT ? buses[bus].count : 0;
}

int guest_drive_key(const char *key, enum guest_bus *bus, unsigned *index)
{
	for (unsigned b = 0; b < GUEST_BUS_COUNT; b++) {
		size_t n = strlen(buses[b].name);

		if (strncmp(key, buses[b].name, n) != 0)
			continue;
		if (guest_index_parse(key + n, buses[b].count, index) < 0)
			return -EINVAL;
		*bus = (enum guest_bus)b;
		return 0;
	}
	return -EINVAL;
}

/* "a/../b", "..", "../x", "x/.." */
static bool has_dotdot(const char *s)
{
	for (const char *p = s; (p = strstr(p, "..")); p += 2) {
		bool start = p == s || p[-1] == '/';
		bool end = p[2] == '\0' || p[2] == '/';

		if (start && end)
			return true;
	}
	return false;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || *s == 0x7f)
			return false;
	return true;
}

int guest_volid_split(const char *volid, char *store, size_t store_len, const char **volname)
{
	const char *colon = strchr(volid, ':');
	size_t n;

	if (!colon)
		return -EINVAL;
	n = (size_t)(colon - volid);
	if (n == 0 || n >= store_len || n >= GUEST_STORE_MAX)
		return -EINVAL;
	memcpy(store, volid, n);
	store[n] = '\0';
	*volname = colon + 1;
	return 0;
}

static bool store_valid(const char *s)
{
	if (!(*s >= 'a' && *s <= 'z'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' ||
		      *s == '_' || *s == '-'))
			return false;
	return true;
}

int guest_volume_parse(const char *text, bool allow_cdrom, enum guest_volume_kind *kind,
		       struct drover_err *err)
{
	char store[GUEST_STORE_MAX];
	const char *volname;

	if (allow_cdrom && (streq(text, "none") || streq(text, "cdrom"))) {
		*kind = streq(text, "none") ? GUEST_VOLUME_NONE : GUEST_VOLUME_CDROM;
		return 0;
	}
	if (!printable(text) || strchr(text, ','))
		return drover_fail(err, -EINVAL, "volume '%s' has a blank or control character",
				   text);
	if (text[0] == '/') {
		if (has_dotdot(text) || strlen(text) >= GUEST_VOLID_MAX)
			return drover_fail(err, -EINVAL, "bad volume path '%s'", text);
		*kind = GUEST_VOLUME_PATH;
		return 0;
	}
	if (guest_volid_split(text, store, sizeof(store), &volname) < 0 || !store_valid(store))
		return drover_fail(err, -EINVAL, "'%s' is not a volume (STORAGE:NAME)", text);
	if (!*volname || strlen(volname) > 255 || has_dotdot(volname) || volname[0] == '/')
		return drover_fail(err, -EINVAL, "bad volume name in '%s'", text);
	*kind = GUEST_VOLUME_STORAGE;
	return 0;
}

int guest_size_parse(const char *text, uint64_t *bytes)
{
	static const char units[] = "KMGT";
	uint64_t whole = 0, frac = 0, scale = 1;
	const char *p = text;
	unsigned shift = 0;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (whole > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return -EINVAL;
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (scale >= 1000000000)
				return -EINVAL; /* more precision than a byte count needs */
			frac = frac * 10 + (uint64_t)(*p - '0');
			scale *= 10;
		}
	}
	if (*p) {
		const char *u = strchr(units, *p);

		if (!u || p[1])
			return -EINVAL;
		shift = 10 * (unsigned)(u - units + 1);
	}
	if (scale > 1 && shift == 0)
		return -EINVAL; /* a fraction of a byte */
	if (whole > (UINT64_MAX >> shift))
		return -ERANGE;
	*bytes = (whole << shift) + ((frac << shift) / scale);
	return 0;
}

char *guest_size_format(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "TGMK";

	for (unsigned i = 0; i < 4; i++) {
		unsigned shift = 10 * (4 - i);

		if (bytes && bytes % (1ull << shift) == 0) {
			snprintf(buf, len, "%" PRIu64 "%c", bytes >> shift, units[i]);
			return buf;
		}
	}
	snprintf(buf, len, "%" PRIu64, bytes);
	return buf;
}

/* The boolean properties of a VM drive. */
static int drive_bool_prop(struct guest_drive *d, const char *k, const char *v,
			   struct drover_err *err)
{
	static const struct {
		const char *name;
		size_t off;
	} props[] = {
		{ "iothread", offsetof(struct guest_drive, iothread) },
		{ "ssd", offsetof(struct guest_drive, ssd) },
		{ "ro", offsetof(struct guest_drive, ro) },
		{ "shared", offsetof(struct guest_drive, shared) },
		{ "backup", offsetof(struct guest_drive, backup) },
		{ "replicate", offsetof(struct guest_drive, replicate) },
	};
	bool on;

	for (size_t i = 0; i < ARRAY_SIZE(props); i++) {
		if (!streq(k, props[i].name))
			continue;
		if (propstr_bool(v, &on) < 0)
			return drover_fail(err, -EINVAL, "%s is not a boolean: '%s'", k, v);
		*(bool *)((char *)d + props[i].off) = on;
		return 0;
	}
	return drover_fail(err, -EINVAL, "unknown property '%s'", k);
}

/* One property of a VM drive. */
static int drive_prop(struct guest_drive *d, const char *k, const char *v, struct drover_err *err)
{
	static const char *const caches[] = { "none",	    "writethrough", "writeback",
					      "directsync", "unsafe",	    NULL };
	static const char *const aios[] = { "native", "threads", "io_uring", NULL };
	static const char *const formats[] = { "raw", "qcow2", "vmdk", NULL };
	static const char *const medias[] = { "disk", "cdrom", NULL };
	static const char *const discards[] = { "on", "ignore", NULL };

	if (streq(k, "size")) {
		if (guest_size_parse(v, &d->size) < 0)
			return drover_fail(err, -EINVAL, "bad size '%s'", v);
		return 0;
	}
	if (streq(k, "format"))
		return guest_enum_copy(k, v, formats, d->format, sizeof(d->format), err);
	if (streq(k, "cache"))
		return guest_enum_copy(k, v, caches, d->cache, sizeof(d->cache), err);
	if (streq(k, "aio"))
		return guest_enum_copy(k, v, aios, d->aio, sizeof(d->aio), err);
	if (streq(k, "media")) {
		char media[8];
		int r = guest_enum_copy(k, v, medias, media, sizeof(media), err);

		d->cdrom = r == 0 && streq(media, "cdrom");
		return r;
	}
	if (streq(k, "discard")) {
		char dis[8];
		int r = guest_enum_copy(k, v, discards, dis, sizeof(dis), err);

		d->discard = r == 0 && streq(dis, "on");
		return r;
	}
	if (streq(k, "serial")) {
		if (strlen(v) >= sizeof(d->serial) || !guest_chars_ok(v, "-_."))
			return drover_fail(err, -EINVAL,
					   "bad serial '%s' (at most 20 of [A-Za-z0-9-_.])", v);
		snprintf(d->serial, sizeof(d->serial), "%s", v);
		return 0;
	}
	return drive_bool_prop(d, k, v, err);
}

/* The volume of a property string: the bare first item or key=; NULL if neither. */
static const char *volume_of(const struct propstr *p, const char *key, struct drover_err *err)
{
	const char *bare = propstr_get(p, NULL), *named = propstr_get(p, key);

	if (bare && named) {
		drover_fail(err, -EINVAL, "volume given twice (bare and %s=)", key);
		return NULL;
	}
	if (!bare && !named)
		drover_fail(err, -EINVAL, "no volume");
	return bare ? bare : named;
}

static int drive_fill(struct guest_drive *d, const struct propstr *p, struct drover_err *err)
{
	const char *vol = volume_of(p, "file", err);
	int r;

	if (!vol)
		return -EINVAL;
	if (strlen(vol) >= sizeof(d->volume))
		return drover_fail(err, -EINVAL, "volume name too long");
	snprintf(d->volume, sizeof(d->volume), "%s", vol);
	for (size_t i = 0; i < p->n; i++) {
		const struct propstr_item *it = &p->items[i];

		if (!it->key || streq(it->key, "file"))
			continue;
		if (d->bus == GUEST_BUS_UNUSED)
			return drover_fail(err, -EINVAL,
					   "an unused volume takes no properties ('%s')", it->key);
		r = drive_prop(d, it->key, it->value, err);
		if (r < 0)
			return r;
	}
	r = guest_volume_parse(d->volume, d->cdrom, &d->kind, err);
	if (r < 0)
		return r;
	if (d->bus == GUEST_BUS_UNUSED && d->kind != GUEST_VOLUME_STORAGE)
		return drover_fail(err, -EINVAL, "'%s' must be a storage volume", d->volume);
	return 0;
}

int guest_drive_parse(const char *key, const char *value, struct guest_drive *d,
		      struct drover_err *err)
{
	struct propstr p = PROPSTR_INIT;
	int r;

	memset(d, 0, sizeof(*d));
	if (guest_drive_key(key, &d->bus, &d->index) < 0)
		return drover_fail(err, -EINVAL, "'%s' is not a drive", key);
	snprintf(d->key, sizeof(d->key), "%s", key);
	d->backup = d->replicate = true;
	r = propstr_parse(value, &p, err);
	if (r == 0)
		r = drive_fill(d, &p, err);
	propstr_free(&p);
	if (r == 0 && d->cdrom && d->bus != GUEST_BUS_IDE && d->bus != GUEST_BUS_SATA &&
	    d->bus != GUEST_BUS_SCSI)
		r = drover_fail(err, -EINVAL, "a CD-ROM must be on ide, sata or scsi");
	return r;
}

/* The key under which a value holds its volume: bare, or file= / volume=. */
static const char *volume_key(const struct propstr *p)
{
	if (propstr_get(p, NULL))
		return NULL;
	if (propstr_get(p, "file"))
		return "file";
	return propstr_get(p, "volume") ? "volume" : NULL;
}

int guest_value_with_volume(const char *value, const char *volume, char **out,
			    struct drover_err *err)
{
	struct propstr p = PROPSTR_INIT;
	struct buf b = BUF_INIT;
	int r;

	r = propstr_parse(value, &p, err);
	if (r < 0)
		return r;
	if (strchr(volume, ','))
		r = drover_fail(err, -EINVAL, "volume '%s' contains a comma", volume);
	if (r == 0)
		r = propstr_set(&p, volume_key(&p), volume);
	if (r == 0)
		r = propstr_format(&p, &b);
	if (r == 0)
		r = buf_terminate(&b);
	propstr_free(&p);
	if (r < 0) {
		buf_free(&b);
		return r == -ENOMEM ? drover_fail(err, r, "out of memory") : r;
	}
	*out = (char *)buf_steal(&b, NULL);
	return 0;
}

static int mount_path_check(const char *mp, struct drover_err *err)
{
	if (mp[0] != '/' || has_dotdot(mp) || !printable(mp) || strlen(mp) >= 256)
		return drover_fail(err, -EINVAL,
				   "bad mount point '%s' (an absolute path without '..')", mp);
	if (streq(mp, "/"))
		return drover_fail(err, -EINVAL, "mount point '/' is the rootfs");
	return 0;
}

static int mount_bool_prop(struct guest_mount *m, const char *k, const char *v,
			   struct drover_err *err)
{
	static const struct {
		const char *name;
		size_t off;
	} props[] = {
		{ "ro", offsetof(struct guest_mount, ro) },
		{ "quota", offsetof(struct guest_mount, quota) },
		{ "shared", offsetof(struct guest_mount, shared) },
		{ "replicate", offsetof(struct guest_mount, replicate) },
		{ "backup", offsetof(struct guest_mount, backup) },
	};
	bool on;

	for (size_t i = 0; i < ARRAY_SIZE(props); i++) {
		if (!streq(k, props[i].name) || (m->rootfs && streq(k, "backup")))
			continue;
		if (propstr_bool(v, &on) < 0)
			return drover_fail(err, -EINVAL, "%s is not a boolean: '%s'", k, v);
		*(bool *)((char *)m + props[i].off) = on;
		return 0;
	}
	return drover_fail(err, -EINVAL, "unknown property '%s'", k);
}

static int mount_prop(struct guest_mount *m, const char *k, const char *v, struct drover_err *err)
{

	if (streq(k, "size"))
		return guest_size_parse(v, &m->size) < 0
			       ? drover_fail(err, -EINVAL, "bad size '%s'", v)
			       : 0;
	if (streq(k, "mp")) {
		if (m->rootfs)
			return drover_fail(err, -EINVAL, "rootfs takes no mp=");
		snprintf(m->mp, sizeof(m->mp), "%s", v);
		return mount_path_check(v, err);
	}
	if (streq(k, "mountoptions"))
		return guest_list_check(k, v,
					(const char *const[]){ "noatime", "nodev", "nosuid",
							       "noexec", "discard", "lazytime",
							       NULL },
					m->mountoptions, sizeof(m->mountoptions), err);
	if (streq(k, "acl")) {
		bool on;

		if (propstr_bool(v, &on) < 0)
			return drover_fail(err, -EINVAL, "acl is not a boolean: '%s'", v);
		m->acl = on;
		return 0;
	}
	return mount_bool_prop(m, k, v, err);
}

static int mount_fill(struct guest_mount *m, const struct propstr *p, struct drover_err *err)
{
	const char *vol = volume_of(p, "volume", err);
	int r;

	if (!vol)
		return -EINVAL;
	if (strlen(vol) >= sizeof(m->volume))
		return drover_fail(err, -EINVAL, "volume name too long");
	snprintf(m->volume, sizeof(m->volume), "%s", vol);
	for (size_t i = 0; i < p->n; i++) {
		const struct propstr_item *it = &p->items[i];

		if (!it->key || streq(it->key, "volume"))
			continue;
		r = mount_prop(m, it->key, it->value, err);
		if (r < 0)
			return r;
	}
	r = guest_volume_parse(m->volume, false, &m->kind, err);
	if (r < 0)
		return r;
	if (m->rootfs && m->kind != GUEST_VOLUME_STORAGE)
		return drover_fail(err, -EINVAL, "rootfs must be a storage volume");
	if (!m->rootfs && !m->mp[0])
		return drover_fail(err, -EINVAL, "mount point without mp=");
	return 0;
}

int guest_mount_parse(const char *key, const char *value, struct guest_mount *m,
		      struct drover_err *err)
{
	struct propstr p = PROPSTR_INIT;
	int r;

	memset(m, 0, sizeof(*m));
	m->acl = -1;
	m->backup = m->replicate = true;
	if (streq(key, "rootfs")) {
		m->rootfs = true;
		strcpy(m->mp, "/");
	} else if (!str_has_prefix(key, "mp") ||
		   guest_index_parse(key + 2, GUEST_MP_COUNT, &m->index) < 0) {
		return drover_fail(err, -EINVAL, "'%s' is not a mount point", key);
	}
	r = propstr_parse(value, &p, err);
	if (r == 0)
		r = mount_fill(m, &p, err);
	propstr_free(&p);
	return r;
}
