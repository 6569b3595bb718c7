/* SPDX-License-Identifier: MIT */
/* The QEMU command line: disk controllers, -blockdev nodes and drive devices. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/buf.h"
#include "basic/util.h"
#include "cmdline_internal.h"
#include "libdrover/format/guest_drive.h"

/* How a cache mode maps to QEMU's three switches. */
struct cache_mode {
	const char *name;
	bool direct, no_flush, write_cache;
};

static const struct cache_mode caches[] = {
	{ "none", true, false, true },		 { "writeback", false, false, true },
	{ "writethrough", false, false, false }, { "directsync", true, false, false },
	{ "unsafe", false, true, true },
};

static const struct cache_mode *cache_of(const struct guest_drive *d)
{
	for (size_t i = 0; i < ARRAY_SIZE(caches); i++)
		if (streq(d->cache[0] ? d->cache : "none", caches[i].name))
			return &caches[i];
	return &caches[0];
}

static bool is_lsi(const char *scsihw)
{
	return str_has_prefix(scsihw, "lsi") || streq(scsihw, "megasas") || streq(scsihw, "pvscsi");
}

static const char *scsihw_of(const struct qemu_build *b)
{
	const char *hw = guest_get(b->cur, "scsihw");

	return hw ? hw : "virtio-scsi-pci";
}

/* The controllers the drives need, each once: AHCI for SATA, the SCSI controllers. */
static int controllers(struct qemu_build *b)
{
	const char *hw = scsihw_of(b);
	bool single = streq(hw, "virtio-scsi-single"), ahci = false, groups[5] = { false };
	char key[16], esc[64];
	int r = 0;

	for (unsigned i = 0; i < guest_bus_count(GUEST_BUS_SATA); i++) {
		snprintf(key, sizeof(key), "sata%u", i);
		ahci |= guest_get(b->cur, key) != NULL;
	}
	for (unsigned i = 0; i < guest_bus_count(GUEST_BUS_SCSI) && r == 0; i++) {
		struct guest_drive d;
		const char *v;

		snprintf(key, sizeof(key), "scsi%u", i);
		v = guest_get(b->cur, key);
		if (!v)
			continue;
		if (!single) {
			groups[is_lsi(hw) ? i / 7 : 0] = true;
			continue;
		}
		r = guest_drive_parse(key, v, &d, b->err);
		if (r == 0 && d.iothread)
			r = qb_addf(b, "-object", "iothread,id=iothread-virtioscsi%u", i);
		if (r == 0 && d.iothread)
			r = qb_addf(
				b, "-device",
				"virtio-scsi-pci,id=virtioscsi%u,iothread=iothread-virtioscsi%u", i,
				i);
		else if (r == 0)
			r = qb_addf(b, "-device", "virtio-scsi-pci,id=virtioscsi%u", i);
	}
	if (r == 0 && ahci)
		r = qb_add(b, "-device", "ahci,id=ahci0", NULL);
	for (unsigned g = 0; g < ARRAY_SIZE(groups) && r == 0; g++)
		if (groups[g])
			r = qb_addf(b, "-device", "%s,id=scsihw%u", qb_escape(hw, esc, sizeof(esc)),
				    g);
	return r;
}

/* Options every node of a drive carries: cache, discard, read-only. */
static void node_opts(const struct guest_drive *d, char *out, size_t len)
{
	const struct cache_mode *c = cache_of(d);

	snprintf(out, len, "cache.direct=%s,cache.no-flush=%s,discard=%s,read-only=%s",
		 c->direct ? "on" : "off", c->no_flush ? "on" : "off",
		 d->discard ? "unmap" : "ignore", d->ro || d->cdrom ? "on" : "off");
}

/* The volume of d as QEMU opens it: by the resolver, or a host path as it is. */
static int resolve(struct qemu_build *b, const struct guest_drive *d, struct qemu_volume *v)
{
	int r;

	memset(v, 0, sizeof(*v));
	if (d->kind == GUEST_VOLUME_PATH || d->kind == GUEST_VOLUME_CDROM) {
		bool dev = d->kind == GUEST_VOLUME_CDROM || str_has_prefix(d->volume, "/dev/");

		v->driver = dev ? QEMU_VOLUME_HOST_DEVICE : QEMU_VOLUME_FILE;
		snprintf(v->path, sizeof(v->path), "%s",
			 d->kind == GUEST_VOLUME_CDROM ? "/dev/cdrom" : d->volume);
	} else if (!b->o->resolve) {
		return drover_fail(b->err, -EINVAL, "%s: no storage to resolve '%s'", d->key,
				   d->volume);
	} else {
		r = b->o->resolve(b->o->resolve_ctx, b->vmid, d->volume, v, b->err);
		if (r < 0)
			return drover_fail_prefix(b->err, r, "%s", d->key);
	}
	if (v->format[0] && d->format[0] && !streq(v->format, d->format))
		return drover_fail(b->err, -EINVAL, "%s: format=%s, but the volume is %s", d->key,
				   d->format, v->format);
	if (!v->format[0])
		snprintf(v->format, sizeof(v->format), "%s", d->format[0] ? d->format : "raw");
	return 0;
}

static int file_node(struct qemu_build *b, const struct guest_drive *d, const struct qemu_volume *v)
{
	const char *aio = d->aio[0] ? d->aio : "threads";
	char opts[160], e1[8300], e2[2100], e3[600], e4[200];

	node_opts(d, opts, sizeof(opts));
	if (v->driver == QEMU_VOLUME_RBD) {
		struct buf extra = BUF_INIT;
		int r = 0;

		if (v->rbd_conf[0])
			r = buf_printf(&extra, ",conf=%s", qb_escape(v->rbd_conf, e3, sizeof(e3)));
		if (r == 0 && v->rbd_user[0])
			r = buf_printf(&extra, ",user=%s", qb_escape(v->rbd_user, e4, sizeof(e4)));
		if (r == 0)
			r = buf_terminate(&extra);
		if (r == 0)
			r = qb_addf(b, "-blockdev",
				    "driver=rbd,pool=%s,image=%s%s,node-name=file-%s,%s",
				    qb_escape(v->rbd_pool, e2, sizeof(e2)),
				    qb_escape(v->rbd_image, e1, sizeof(e1)),
				    extra.data ? (char *)extra.data : "", d->key, opts);
		buf_free(&extra);
		return r;
	}
	if (streq(aio, "native") && !cache_of(d)->direct)
		return drover_fail(b->err, -EINVAL, "%s: aio=native needs cache=none or directsync",
				   d->key);
	return qb_addf(b, "-blockdev", "driver=%s,filename=%s,node-name=file-%s,aio=%s,%s",
		       v->driver == QEMU_VOLUME_HOST_DEVICE
			       ? (d->cdrom ? "host_cdrom" : "host_device")
			       : "file",
		       qb_escape(v->path, e1, sizeof(e1)), d->key, aio, opts);
}

static int format_node(struct qemu_build *b, const struct guest_drive *d,
		       const struct qemu_volume *v)
{
	char opts[160];

	node_opts(d, opts, sizeof(opts));
	if (!streq(v->format, "raw") && !streq(v->format, "qcow2") && !streq(v->format, "vmdk"))
		return drover_fail(b->err, -EINVAL, "%s: unknown format '%s'", d->key, v->format);
	return qb_addf(b, "-blockdev", "driver=%s,file=file-%s,node-name=drive-%s,%s", v->format,
		       d->key, d->key, opts);
}

/* Where on its bus the device sits ("bus=ide.0,unit=1"). */
static void bus_of(const struct qemu_build *b, const struct guest_drive *d, char *out, size_t len)
{
	const char *hw = scsihw_of(b);

	switch (d->bus) {
	case GUEST_BUS_IDE:
		if (b->q35)
			snprintf(out, len, ",bus=ide.%u", d->index);
		else
			snprintf(out, len, ",bus=ide.%u,unit=%u", d->index / 2, d->index % 2);
		break;
	case GUEST_BUS_SATA:
		snprintf(out, len, ",bus=ahci0.%u", d->index);
		break;
	case GUEST_BUS_SCSI:
		if (streq(hw, "virtio-scsi-single"))
			snprintf(out, len, ",bus=virtioscsi%u.0,channel=0,scsi-id=0,lun=0",
				 d->index);
		else if (is_lsi(hw))
			snprintf(out, len, ",bus=scsihw%u.0,scsi-id=%u", d->index / 7,
				 d->index % 7);
		else
			snprintf(out, len, ",bus=scsihw0.0,channel=0,scsi-id=0,lun=%u", d->index);
		break;
	default:
		out[0] = '\0';
	}
}

static const char *device_model(const struct guest_drive *d)
{
	if (d->bus == GUEST_BUS_VIRTIO)
		return "virtio-blk-pci";
	if (d->bus == GUEST_BUS_SCSI)
		return d->cdrom ? "scsi-cd" : "scsi-hd";
	return d->cdrom ? "ide-cd" : "ide-hd";
}

static int device(struct qemu_build *b, const struct guest_drive *d, bool has_medium)
{
	char opts[256] = "", bus[96];
	int boot = qb_bootindex(b, d->key);
	size_t o = 0;

	bus_of(b, d, bus, sizeof(bus));
	if (has_medium)
		o += (size_t)snprintf(opts + o, sizeof(opts) - o, ",drive=drive-%s", d->key);
	if (d->bus == GUEST_BUS_VIRTIO && d->iothread)
		o += (size_t)snprintf(opts + o, sizeof(opts) - o, ",iothread=iothread-%s", d->key);
	if (!d->cdrom)
		o += (size_t)snprintf(opts + o, sizeof(opts) - o, ",write-cache=%s",
				      cache_of(d)->write_cache ? "on" : "off");
	if (d->ssd && !d->cdrom && d->bus != GUEST_BUS_VIRTIO)
		o += (size_t)snprintf(opts + o, sizeof(opts) - o, ",rotation_rate=1");
	if (d->serial[0])
		o += (size_t)snprintf(opts + o, sizeof(opts) - o, ",serial=%s", d->serial);
	if (boot >= 0)
		snprintf(opts + o, sizeof(opts) - o, ",bootindex=%d", boot);
	return qb_addf(b, "-device", "%s%s,id=%s%s", device_model(d), bus, d->key, opts);
}

static int drive(struct qemu_build *b, const struct guest_drive *d)
{
	struct qemu_volume v;
	int r;

	if (d->kind == GUEST_VOLUME_NONE)
		return device(b, d, false);
	r = resolve(b, d, &v);
	if (r == 0)
		r = file_node(b, d, &v);
	if (r == 0)
		r = format_node(b, d, &v);
	if (r == 0 && d->bus == GUEST_BUS_VIRTIO && d->iothread)
		r = qb_addf(b, "-object", "iothread,id=iothread-%s", d->key);
	if (r == 0)
		r = device(b, d, true);
	return r;
}

/* Each drive of the VM: parsed, then added. */
static int drive_key(void *ctx, const char *key, const char *value, unsigned index)
{
	struct qemu_build *b = ctx;
	struct guest_drive d;

	if (guest_drive_parse(key, value, &d, b->err) < 0)
		return -EINVAL;
	return drive(b, &d);
}

/* Controllers first; then the drives in bus order (ide, sata, scsi, virtio) and index. */
int qb_drives(struct qemu_build *b)
{
	static const enum guest_bus order[] = { GUEST_BUS_IDE, GUEST_BUS_SATA, GUEST_BUS_SCSI,
						GUEST_BUS_VIRTIO };
	int r = controllers(b);

	for (size_t k = 0; k < ARRAY_SIZE(order) && r == 0; k++)
		r = guest_each_numbered(b->cur, guest_bus_name(order[k]), guest_bus_count(order[k]),
					drive_key, b);
	return r;
}
