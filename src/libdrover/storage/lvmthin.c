/* SPDX-License-Identifier: MIT */
#include "lvmthin.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "basic/array.h"
#include "basic/util.h"
#include "fsutil.h"
#include "rawsize.h"
#include "run.h"
#include "volname.h"

#define FREE_NAMES_MAX 1000
#define SNAP_PREFIX "snap_"

static void lvs_common(struct cmdline *c)
{
	cmdline_init(c);
	cmdline_add(c, "lvs");
	cmdline_add(c, "--separator");
	cmdline_add(c, ":");
	cmdline_add(c, "--noheadings");
	cmdline_add(c, "--units");
	cmdline_add(c, "b");
	cmdline_add(c, "--unbuffered");
	cmdline_add(c, "--nosuffix");
}

void lvm_cmd_status(const struct storage_props *p, struct cmdline *c)
{
	lvs_common(c);
	cmdline_add(c, "--options");
	cmdline_add(c, "lv_size,data_percent");
	cmdline_add(c, "%s/%s", p->vgname, p->thinpool);
}

void lvm_cmd_lvs(const struct storage_props *p, struct cmdline *c)
{
	lvs_common(c);
	cmdline_add(c, "--config");
	cmdline_add(c, "report/time_format=\"%%s\"");
	cmdline_add(c, "--options");
	cmdline_add(c, "vg_name,lv_name,lv_size,lv_attr,pool_lv,origin,uuid,time");
	cmdline_add(c, "%s", p->vgname);
}

void lvm_cmd_alloc(const struct storage_props *p, const char *name, uint64_t size,
		   struct cmdline *c)
{
	cmdline_init(c);
	cmdline_add(c, "lvcreate");
	cmdline_add(c, "-aly");
	cmdline_add(c, "-V");
	/* LVM rounds to its extent; give whole KiB as Proxmox does */
	cmdline_add(c, "%llub", (unsigned long long)((size + 1023) / 1024 * 1024));
	cmdline_add(c, "--name");
	cmdline_add(c, "%s", name);
	cmdline_add(c, "--thinpool");
	cmdline_add(c, "%s/%s", p->vgname, p->thinpool);
}

void lvm_cmd_remove(const struct storage_props *p, const char *lv, struct cmdline *c)
{
	cmdline_init(c);
	cmdline_add(c, "lvremove");
	cmdline_add(c, "-f");
	cmdline_add(c, "%s/%s", p->vgname, lv);
}

void lvm_cmd_resize(const struct storage_props *p, const char *name, uint64_t size,
		    struct cmdline *c)
{
	cmdline_init(c);
	cmdline_add(c, "lvresize");
	cmdline_add(c, "--size");
	cmdline_add(c, "%llub", (unsigned long long)((size + 1023) / 1024 * 1024));
	cmdline_add(c, "%s/%s", p->vgname, name);
}

void lvm_snap_lv(const char *name, const char *snap, char *out, size_t len)
{
	snprintf(out, len, SNAP_PREFIX "%s_%s", name, snap);
}

void lvm_cmd_snapshot(const struct storage_props *p, const char *name, const char *snap,
		      struct cmdline *c)
{
	char lv[512];

	lvm_snap_lv(name, snap, lv, sizeof(lv));
	cmdline_init(c);
	cmdline_add(c, "lvcreate");
	cmdline_add(c, "-n");
	cmdline_add(c, "%s", lv);
	cmdline_add(c, "-pr");
	cmdline_add(c, "-s");
	cmdline_add(c, "%s/%s", p->vgname, name);
}

void lvm_cmd_rollback(const struct storage_props *p, const char *name, const char *snap,
		      struct cmdline *c)
{
	char lv[512];

	lvm_snap_lv(name, snap, lv, sizeof(lv));
	cmdline_init(c);
	cmdline_add(c, "lvcreate");
	cmdline_add(c, "-kn");
	cmdline_add(c, "-n");
	cmdline_add(c, "%s", name);
	cmdline_add(c, "-s");
	cmdline_add(c, "%s/%s", p->vgname, lv);
}

void lvm_cmd_activate(const struct storage_props *p, const char *lv, struct cmdline *c)
{
	cmdline_init(c);
	cmdline_add(c, "lvchange");
	cmdline_add(c, "-ay");
	cmdline_add(c, "-K");
	cmdline_add(c, "%s/%s", p->vgname, lv);
}

/* ---- parsing ---------------------------------------------------------- */

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Split at ':' in place; returns the count. */
static size_t split(char *line, char **f, size_t max)
{
	size_t n = 0;

	while (n < max) {
		f[n++] = line;
		line = strchr(line, ':');
		if (!line)
			break;
		*line++ = '\0';
	}
	return n;
}

/* lvs prints a number with a decimal point for percentages: "12.50" -> 1250 (hundredths). */
static int parse_percent(const char *s, uint64_t *hundredths)
{
	uint64_t whole = 0, frac = 0;
	const char *dot = strchr(s, '.');
	char w[32];

	if (!*s) {
		*hundredths = 0;
		return 0;
	}
	snprintf(w, sizeof(w), "%.*s", dot ? (int)(dot - s) : (int)strlen(s), s);
	if (parse_u64(w, 100, &whole) < 0)
		return -EINVAL;
	if (dot && dot[1]) {
		char f[3] = { dot[1], dot[2] ? dot[2] : '0', '\0' };

		if (parse_u64(f, 99, &frac) < 0)
			return -EINVAL;
	}
	*hundredths = whole * 100 + frac;
	return 0;
}

int lvm_parse_status(const char *out, struct storage_status *st, struct drover_err *err)
{
	char line[256], *f[2];
	uint64_t size, pct;

	snprintf(line, sizeof(line), "%.*s", (int)strcspn(out, "\n"), out);
	if (split(trim(line), f, 2) != 2 || parse_u64(trim(f[0]), UINT64_MAX, &size) < 0 ||
	    parse_percent(trim(f[1]), &pct) < 0)
		return drover_fail(err, -EBADMSG, "lvs: cannot read the thin pool's size and use");
	st->total = size;
	st->used = (uint64_t)((unsigned __int128)size * pct / 10000);
	st->avail = size - st->used;
	st->active = true;
	return 0;
}

int lvm_parse_lvs(const char *out, struct lvm_lv **lvs, size_t *n, struct drover_err *err)
{
	size_t cap = 0, lineno = 0;

	*lvs = NULL;
	*n = 0;
	while (*out) {
		size_t len = strcspn(out, "\n");
		char *line = strndup(out, len), *f[8];
		struct lvm_lv lv = { 0 };
		uint64_t t;
		int r = line ? 0 : -ENOMEM;

		out += len + (out[len] == '\n');
		lineno++;
		if (r == 0 && !*trim(line)) {
			free(line);
			continue;
		}
		if (r == 0 && split(trim(line), f, 8) != 8)
			r = -EBADMSG;
		if (r == 0 &&
		    (parse_u64(f[2], UINT64_MAX, &lv.size) < 0 ||
		     (*f[7] && parse_u64(f[7], INT64_MAX, &t) < 0) ||
		     snprintf(lv.vg, sizeof(lv.vg), "%s", f[0]) >= (int)sizeof(lv.vg) ||
		     snprintf(lv.name, sizeof(lv.name), "%s", f[1]) >= (int)sizeof(lv.name)))
			r = -EBADMSG;
		if (r == 0) {
			snprintf(lv.attr, sizeof(lv.attr), "%s", f[3]);
			snprintf(lv.pool, sizeof(lv.pool), "%s", f[4]);
			snprintf(lv.origin, sizeof(lv.origin), "%s", f[5]);
			snprintf(lv.uuid, sizeof(lv.uuid), "%s", f[6]);
			lv.time = *f[7] ? (int64_t)t : 0;
		}
		free(line);
		if (r == 0 && ARRAY_GROW(*lvs, cap, *n + 1) < 0)
			r = -ENOMEM;
		if (r < 0) {
			free(*lvs);
			*lvs = NULL;
			*n = 0;
			return r == -ENOMEM ? drover_fail(err, r, "out of memory")
					    : drover_fail(err, r, "lvs output line %zu is not %s",
							  lineno,
							  "vg:lv:size:attr:pool:origin:uuid:time");
		}
		(*lvs)[(*n)++] = lv;
	}
	return 0;
}

/* ---- the plugin ------------------------------------------------------- */

static int get_lvs(struct storage *s, struct lvm_lv **lvs, size_t *n, struct drover_err *err)
{
	struct buf out = BUF_INIT;
	struct cmdline c;
	int r;

	lvm_cmd_lvs(&s->props, &c);
	r = cmdline_run(&c, -1, &out, err);
	if (r == 0)
		r = lvm_parse_lvs(out.data ? (char *)out.data : "", lvs, n, err);
	buf_free(&out);
	return r;
}

/* A thin volume of this storage's pool that is a volume (not a snapshot). */
static bool is_volume(const struct storage *s, const struct lvm_lv *lv, struct storage_volname *v)
{
	return streq(lv->pool, s->props.thinpool) && !str_has_prefix(lv->name, SNAP_PREFIX) &&
	       storage_volname_parse(lv->name, STORAGE_NAMING_BLOCK, v, NULL) == 0;
}

static int lookup(struct storage *s, const char *lvname, struct lvm_lv *out, struct drover_err *err)
{
	struct lvm_lv *lvs;
	size_t n;
	int r = get_lvs(s, &lvs, &n, err);

	if (r < 0)
		return r;
	r = -ENOENT;
	for (size_t i = 0; i < n; i++)
		if (streq(lvs[i].name, lvname) && streq(lvs[i].pool, s->props.thinpool)) {
			if (out)
				*out = lvs[i];
			r = 0;
		}
	free(lvs);
	return r;
}

static int lvm_status(struct storage *s, struct storage_status *st, struct drover_err *err)
{
	struct buf out = BUF_INIT;
	struct cmdline c;
	int r;

	lvm_cmd_status(&s->props, &c);
	r = cmdline_run(&c, -1, &out, err);
	if (r == 0)
		r = lvm_parse_status(out.data ? (char *)out.data : "", st, err);
	buf_free(&out);
	return r;
}

static int lvm_list(struct storage *s, unsigned vmid, struct storage_volume **vols, size_t *n,
		    struct drover_err *err)
{
	struct lvm_lv *lvs;
	size_t count, k = 0;
	int r = get_lvs(s, &lvs, &count, err);

	(void)vmid;
	*vols = NULL;
	*n = 0;
	if (r < 0)
		return r;
	*vols = calloc(count + 1, sizeof(**vols));
	if (!*vols) {
		free(lvs);
		return drover_fail(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < count; i++) {
		struct storage_volname v;

		if (!is_volume(s, &lvs[i], &v))
			continue;
		snprintf((*vols)[k].volname, sizeof((*vols)[k].volname), "%s", lvs[i].name);
		(*vols)[k].vmid = v.vmid;
		(*vols)[k].content = v.content;
		(*vols)[k].format = STORAGE_VOLFORMAT_RAW;
		(*vols)[k].size = lvs[i].size;
		k++;
	}
	free(lvs);
	*n = k;
	return 0;
}

static int lvm_info(struct storage *s, const char *volname, struct storage_volume *v,
		    struct drover_err *err)
{
	struct storage_volume *vols;
	size_t n;
	int r = lvm_list(s, 0, &vols, &n, err);

	if (r < 0)
		return r;
	r = drover_fail(err, -ENOENT, "volume %s does not exist", volname);
	for (size_t i = 0; i < n; i++)
		if (streq(vols[i].volname, volname)) {
			*v = vols[i];
			r = 0;
		}
	free(vols);
	return r;
}

static int lvm_alloc(struct storage *s, const struct storage_alloc_req *req, char *volname,
		     size_t len, struct drover_err *err)
{
	char name[STORAGE_NAME_MAX];
	struct cmdline c;
	int r;

	if (req->format != STORAGE_VOLFORMAT_RAW)
		return drover_fail(err, -ENOTSUP, "lvmthin keeps raw volumes only");
	if (!req->size)
		return drover_fail(err, -EINVAL, "a raw volume needs a size");
	for (unsigned k = 0; k < FREE_NAMES_MAX; k++) {
		if (req->name)
			snprintf(name, sizeof(name), "%s", req->name);
		else
			snprintf(name, sizeof(name), "vm-%u-disk-%u", req->vmid, k);
		r = lookup(s, name, NULL, err);
		if (r == 0 && req->name)
			return drover_fail(err, -EEXIST, "volume %s exists already", name);
		if (r == 0)
			continue;
		if (r != -ENOENT)
			return r;
		lvm_cmd_alloc(&s->props, name, req->size, &c);
		r = cmdline_run(&c, -1, NULL, err);
		if (r == 0)
			snprintf(volname, len, "%s", name);
		return r;
	}
	return drover_fail(err, -ENOSPC, "no free volume name for VMID %u", req->vmid);
}

/* The snapshots of volume name, oldest first. */
static int snaps_of(struct storage *s, const char *name, struct storage_snapshot **out, size_t *n,
		    struct drover_err *err)
{
	char prefix[512];
	struct lvm_lv *lvs;
	size_t count, plen;
	int r = get_lvs(s, &lvs, &count, err);

	*out = NULL;
	*n = 0;
	if (r < 0)
		return r;
	snprintf(prefix, sizeof(prefix), SNAP_PREFIX "%s_", name);
	plen = strlen(prefix);
	*out = calloc(count + 1, sizeof(**out));
	if (!*out) {
		free(lvs);
		return drover_fail(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < count; i++) {
		struct storage_snapshot *sn = &(*out)[*n];

		if (strncmp(lvs[i].name, prefix, plen) || !streq(lvs[i].origin, name) ||
		    !storage_snapname_valid(lvs[i].name + plen))
			continue;
		snprintf(sn->name, sizeof(sn->name), "%s", lvs[i].name + plen);
		sn->ctime = lvs[i].time;
		snprintf(sn->id, sizeof(sn->id), "%s", lvs[i].uuid);
		(*n)++;
	}
	free(lvs);
	/* oldest first: lvs lists by name */
	for (size_t i = 1; i < *n; i++)
		for (size_t j = i; j > 0 && (*out)[j - 1].ctime > (*out)[j].ctime; j--) {
			struct storage_snapshot t = (*out)[j];

			(*out)[j] = (*out)[j - 1];
			(*out)[j - 1] = t;
		}
	return 0;
}

static int lvm_free(struct storage *s, const char *volname, struct drover_err *err)
{
	struct storage_snapshot *snaps;
	struct cmdline c;
	size_t n;
	int r = lookup(s, volname, NULL, err);

	if (r == -ENOENT)
		return drover_fail(err, r, "volume %s does not exist", volname);
	if (r < 0 || (r = snaps_of(s, volname, &snaps, &n, err)) < 0)
		return r;
	for (size_t i = 0; r == 0 && i < n; i++) {
		char lv[512];

		lvm_snap_lv(volname, snaps[i].name, lv, sizeof(lv));
		lvm_cmd_remove(&s->props, lv, &c);
		r = cmdline_run(&c, -1, NULL, err);
	}
	free(snaps);
	if (r == 0) {
		lvm_cmd_remove(&s->props, volname, &c);
		r = cmdline_run(&c, -1, NULL, err);
	}
	return r;
}

static int lvm_path(struct storage *s, const char *volname, const char *snap, char *out, size_t len,
		    struct drover_err *err)
{
	char lv[512];

	if (snap)
		lvm_snap_lv(volname, snap, lv, sizeof(lv));
	return pathf(out, len, "/dev/%s/%s", s->props.vgname, snap ? lv : volname) < 0
		       ? drover_fail(err, -ENAMETOOLONG, "%s: path too long", volname)
		       : 0;
}

static int lvm_resize(struct storage *s, const char *volname, uint64_t size, struct drover_err *err)
{
	struct storage_volume v;
	struct cmdline c;
	int r = lvm_info(s, volname, &v, err);

	if (r < 0)
		return r;
	if (size < v.size)
		return drover_fail(err, -EINVAL, "shrinking %s is refused", volname);
	lvm_cmd_resize(&s->props, volname, size, &c);
	return cmdline_run(&c, -1, NULL, err);
}

static int lvm_snapshot_create(struct storage *s, const char *volname, const char *snap,
			       struct drover_err *err)
{
	struct cmdline c;

	lvm_cmd_snapshot(&s->props, volname, snap, &c);
	return cmdline_run(&c, -1, NULL, err);
}

static int lvm_snapshot_delete(struct storage *s, const char *volname, const char *snap,
			       struct drover_err *err)
{
	struct cmdline c;
	char lv[512];

	lvm_snap_lv(volname, snap, lv, sizeof(lv));
	lvm_cmd_remove(&s->props, lv, &c);
	return cmdline_run(&c, -1, NULL, err);
}

static int lvm_snapshot_rollback(struct storage *s, const char *volname, const char *snap,
				 struct drover_err *err)
{
	struct storage_snapshot *snaps;
	struct cmdline c;
	size_t n;
	int r = snaps_of(s, volname, &snaps, &n, err);

	if (r < 0)
		return r;
	if (n == 0 || !streq(snaps[n - 1].name, snap))
		r = drover_fail(err, n ? -EBUSY : -ENOENT, "%s is not the latest snapshot of %s",
				snap, volname);
	free(snaps);
	if (r < 0)
		return r;
	lvm_cmd_remove(&s->props, volname, &c);
	r = cmdline_run(&c, -1, NULL, err);
	if (r == 0) {
		lvm_cmd_rollback(&s->props, volname, snap, &c);
		r = cmdline_run(&c, -1, NULL, err);
	}
	return r;
}

static int lvm_snapshot_list(struct storage *s, const char *volname,
			     struct storage_snapshot **snaps, size_t *n, struct drover_err *err)
{
	return snaps_of(s, volname, snaps, n, err);
}

static unsigned lvm_export_formats(struct storage *s, const char *volname,
				   const struct storage_export_opts *o)
{
	(void)s;
	(void)volname;
	return o->base || o->with_snapshots ? 0 : 1u << STORAGE_FORMAT_RAW_SIZE;
}

static unsigned lvm_import_formats(struct storage *s, const char *volname,
				   const struct storage_import_opts *o)
{
	(void)s;
	(void)volname;
	return o->base || o->with_snapshots ? 0 : 1u << STORAGE_FORMAT_RAW_SIZE;
}

static int lvm_export(struct storage *s, const char *volname, enum storage_format fmt,
		      const struct storage_export_opts *o, int fd,
		      const struct drover_reporter *rep, struct drover_err *err)
{
	char dev[600], lv[512];
	struct cmdline c;
	uint64_t size;
	int src, r;

	(void)rep;
	if (fmt != STORAGE_FORMAT_RAW_SIZE)
		return drover_fail(err, -ENOTSUP, "lvmthin exports raw+size only");
	if (o->snapshot) {
		/* thin snapshots are made inactive (-kn): activate to read */
		lvm_snap_lv(volname, o->snapshot, lv, sizeof(lv));
		lvm_cmd_activate(&s->props, lv, &c);
		r = cmdline_run(&c, -1, NULL, err);
		if (r < 0)
			return r;
	}
	lvm_path(s, volname, o->snapshot, dev, sizeof(dev), err);
	src = open(dev, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return drover_fail(err, -errno, "%s: %s", dev, strerror(errno));
	r = ioctl(src, BLKGETSIZE64, &size) < 0
		    ? drover_fail(err, -errno, "%s: %s", dev, strerror(errno))
		    : rawsize_export(src, size, fd, err);
	close(src);
	return r;
}

static int lvm_import(struct storage *s, const char *volname, enum storage_format fmt,
		      const struct storage_import_opts *o, int fd, char *imported, size_t len,
		      const struct drover_reporter *rep, struct drover_err *err)
{
	struct storage_alloc_req req = { .format = STORAGE_VOLFORMAT_RAW };
	struct storage_volname v;
	char name[STORAGE_NAME_MAX], dev[600];
	struct cmdline c;
	int dst, r = storage_volname_parse(volname, STORAGE_NAMING_BLOCK, &v, err);

	(void)rep;
	if (r < 0)
		return r;
	if (fmt != STORAGE_FORMAT_RAW_SIZE)
		return drover_fail(err, -ENOTSUP, "lvmthin imports raw+size only");
	req.vmid = v.vmid;
	r = lookup(s, volname, NULL, err);
	if (r == 0 && !o->allow_rename)
		return drover_fail(err, -EEXIST, "volume %s exists on %s", volname, s->props.id);
	req.name = r == 0 ? NULL : volname;
	if ((r = rawsize_read_header(fd, &req.size, err)) < 0)
		return r;
	if ((r = lvm_alloc(s, &req, name, sizeof(name), err)) < 0)
		return r;
	lvm_path(s, name, NULL, dev, sizeof(dev), err);
	dst = open(dev, O_WRONLY | O_CLOEXEC);
	r = dst < 0 ? drover_fail(err, -errno, "%s: %s", dev, strerror(errno))
		    : rawsize_import_data(fd, req.size, dst, err);
	if (r == 0 && fsync(dst) < 0)
		r = drover_fail(err, -errno, "%s: %s", dev, strerror(errno));
	if (dst >= 0)
		close(dst);
	if (r < 0) {
		struct drover_err ignore;

		lvm_cmd_remove(&s->props, name, &c);
		cmdline_run(&c, -1, NULL, &ignore);
		return r;
	}
	snprintf(imported, len, "%s", name);
	return 0;
}

const struct storage_plugin storage_plugin_lvmthin = {
	.type = "lvmthin",
	.content = STORAGE_CONTENT_IMAGES | STORAGE_CONTENT_ROOTDIR,
	.snapshots = true,
	.status = lvm_status,
	.alloc = lvm_alloc,
	.free = lvm_free,
	.list = lvm_list,
	.info = lvm_info,
	.path = lvm_path,
	.resize = lvm_resize,
	.snapshot_create = lvm_snapshot_create,
	.snapshot_delete = lvm_snapshot_delete,
	.snapshot_rollback = lvm_snapshot_rollback,
	.snapshot_list = lvm_snapshot_list,
	.export_formats = lvm_export_formats,
	.import_formats = lvm_import_formats,
	.export = lvm_export,
	.import = lvm_import,
};
