/* SPDX-License-Identifier: MIT */
#include "zfspool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/array.h"
#include "basic/spawnio.h"
#include "basic/util.h"
#include "run.h"
#include "volname.h"

#define DEFAULT_ROUND (128u * 1024) /* the largest usual volblocksize */
#define FREE_NAMES_MAX 1000

/* ---- command lines ---------------------------------------------------- */

void zfs_cmd_status(const struct storage_props *p, struct cmdline *c)
{
	cmdline_init(c);
	cmdline_add(c, "zfs");
	cmdline_add(c, "get");
	cmdline_add(c, "-o");
	cmdline_add(c, "value");
	cmdline_add(c, "-Hp");
	cmdline_add(c, "available,used");
	cmdline_add(c, "%s", p->pool);
}

void zfs_cmd_list(const struct storage_props *p, struct cmdline *c)
{
	cmdline_init(c);
	cmdline_add(c, "zfs");
	cmdline_add(c, "list");
	cmdline_add(c, "-H");
	cmdline_add(c, "-p");
	cmdline_add(c, "-r");
	cmdline_add(c, "-d");
	cmdline_add(c, "1");
	cmdline_add(c, "-t");
	cmdline_add(c, "volume,filesystem");
	cmdline_add(c, "-o");
	cmdline_add(c, "name,volsize,used,refquota,type");
	cmdline_add(c, "%s", p->pool);
}

static uint64_t block_size(const struct storage_props *p)
{
	char up[16];
	uint64_t n;
	size_t len = strlen(p->blocksize);

	if (!len || len >= sizeof(up))
		return DEFAULT_ROUND;
	memcpy(up, p->blocksize, len + 1);
	if (up[len - 1] == 'k' || up[len - 1] == 'm')
		up[len - 1] = (char)(up[len - 1] - 'a' + 'A');
	return parse_size(up, &n) == 0 && n ? n : DEFAULT_ROUND;
}

void zfs_cmd_alloc(const struct storage_props *p, const char *name, enum storage_volformat fmt,
		   uint64_t size, struct cmdline *c)
{
	cmdline_init(c);
	cmdline_add(c, "zfs");
	cmdline_add(c, "create");
	if (fmt == STORAGE_VOLFORMAT_SUBVOL) {
		cmdline_add(c, "-o");
		cmdline_add(c, "acltype=posixacl");
		cmdline_add(c, "-o");
		cmdline_add(c, "xattr=sa");
		cmdline_add(c, "-o");
		if (size)
			cmdline_add(c, "refquota=%llu", (unsigned long long)size);
		else
			cmdline_add(c, "refquota=none");
	} else {
		uint64_t b = block_size(p);

		if (p->sparse)
			cmdline_add(c, "-s");
		if (p->blocksize[0]) {
			cmdline_add(c, "-b");
			cmdline_add(c, "%s", p->blocksize);
		}
		cmdline_add(c, "-V");
		cmdline_add(c, "%llu", (unsigned long long)((size + b - 1) / b * b));
	}
	cmdline_add(c, "--");
	cmdline_add(c, "%s/%s", p->pool, name);
}

void zfs_cmd_destroy(const struct storage_props *p, const char *name, const char *snap,
		     struct cmdline *c)
{
	cmdline_init(c);
	cmdline_add(c, "zfs");
	cmdline_add(c, "destroy");
	if (!snap)
		cmdline_add(c, "-r");
	cmdline_add(c, "--");
	if (snap)
		cmdline_add(c, "%s/%s@%s", p->pool, name, snap);
	else
		cmdline_add(c, "%s/%s", p->pool, name);
}

void zfs_cmd_resize(const struct storage_props *p, const char *name, enum storage_volformat fmt,
		    uint64_t size, struct cmdline *c)
{
	uint64_t b = block_size(p);

	cmdline_init(c);
	cmdline_add(c, "zfs");
	cmdline_add(c, "set");
	if (fmt == STORAGE_VOLFORMAT_SUBVOL)
		cmdline_add(c, "refquota=%llu", (unsigned long long)size);
	else
		cmdline_add(c, "volsize=%llu", (unsigned long long)((size + b - 1) / b * b));
	cmdline_add(c, "%s/%s", p->pool, name);
}

void zfs_cmd_mountpoint(const struct storage_props *p, const char *name, struct cmdline *c)
{
	cmdline_init(c);
	cmdline_add(c, "zfs");
	cmdline_add(c, "get");
	cmdline_add(c, "-H");
	cmdline_add(c, "-o");
	cmdline_add(c, "value");
	cmdline_add(c, "mountpoint");
	cmdline_add(c, "%s/%s", p->pool, name);
}

void zfs_cmd_snapshot(const struct storage_props *p, const char *name, const char *snap,
		      struct cmdline *c)
{
	cmdline_init(c);
	cmdline_add(c, "zfs");
	cmdline_add(c, "snapshot");
	cmdline_add(c, "--");
	cmdline_add(c, "%s/%s@%s", p->pool, name, snap);
}

void zfs_cmd_rollback(const struct storage_props *p, const char *name, const char *snap,
		      struct cmdline *c)
{
	cmdline_init(c);
	cmdline_add(c, "zfs");
	cmdline_add(c, "rollback");
	cmdline_add(c, "--");
	cmdline_add(c, "%s/%s@%s", p->pool, name, snap);
}

void zfs_cmd_snapshots(const struct storage_props *p, const char *name, struct cmdline *c)
{
	cmdline_init(c);
	cmdline_add(c, "zfs");
	cmdline_add(c, "list");
	cmdline_add(c, "-H");
	cmdline_add(c, "-p");
	cmdline_add(c, "-t");
	cmdline_add(c, "snapshot");
	cmdline_add(c, "-o");
	cmdline_add(c, "name,guid,creation");
	cmdline_add(c, "-s");
	cmdline_add(c, "creation");
	cmdline_add(c, "-d");
	cmdline_add(c, "1");
	cmdline_add(c, "%s/%s", p->pool, name);
}

void zfs_cmd_send(const struct storage_props *p, const char *name, const char *snap,
		  const char *base, bool with_snapshots, struct cmdline *c)
{
	cmdline_init(c);
	cmdline_add(c, "zfs");
	cmdline_add(c, "send");
	if (with_snapshots)
		cmdline_add(c, "-R");
	cmdline_add(c, "-p");
	if (base) {
		/* -I brings the snapshots between base and snap too */
		cmdline_add(c, with_snapshots ? "-I" : "-i");
		cmdline_add(c, "%s/%s@%s", p->pool, name, base);
	}
	cmdline_add(c, "--");
	cmdline_add(c, "%s/%s@%s", p->pool, name, snap);
}

void zfs_cmd_recv(const struct storage_props *p, const char *name, struct cmdline *c)
{
	cmdline_init(c);
	cmdline_add(c, "zfs");
	cmdline_add(c, "recv");
	cmdline_add(c, "-F");
	cmdline_add(c, "-s");
	cmdline_add(c, "-x");
	cmdline_add(c, "encryption");
	cmdline_add(c, "--");
	cmdline_add(c, "%s/%s", p->pool, name);
}

void zfs_cmd_recv_abort(const struct storage_props *p, const char *name, struct cmdline *c)
{
	cmdline_init(c);
	cmdline_add(c, "zfs");
	cmdline_add(c, "recv");
	cmdline_add(c, "-A");
	cmdline_add(c, "%s/%s", p->pool, name);
}

void zfs_cmd_resume_token(const struct storage_props *p, const char *name, struct cmdline *c)
{
	cmdline_init(c);
	cmdline_add(c, "zfs");
	cmdline_add(c, "get");
	cmdline_add(c, "-H");
	cmdline_add(c, "-o");
	cmdline_add(c, "value");
	cmdline_add(c, "receive_resume_token");
	cmdline_add(c, "%s/%s", p->pool, name);
}

void zfs_cmd_send_resume(const char *token, struct cmdline *c)
{
	cmdline_init(c);
	cmdline_add(c, "zfs");
	cmdline_add(c, "send");
	cmdline_add(c, "-t");
	cmdline_add(c, "%s", token);
}

/* ---- parsing ---------------------------------------------------------- */

/* Split a line into tab-separated fields, in place. Returns the count. */
static size_t fields(char *line, char **f, size_t max)
{
	size_t n = 0;

	while (n < max) {
		f[n++] = line;
		line = strchr(line, '\t');
		if (!line)
			break;
		*line++ = '\0';
	}
	return n;
}

/* The next line of text (NUL-terminated in a copy the caller frees), or NULL. */
static char *next_line(const char **text)
{
	const char *s = *text, *nl;
	char *line;

	if (!*s)
		return NULL;
	nl = strchr(s, '\n');
	line = strndup(s, nl ? (size_t)(nl - s) : strlen(s));
	*text = nl ? nl + 1 : s + strlen(s);
	return line;
}

static int parse_num(const char *s, uint64_t *v)
{
	if (streq(s, "-") || streq(s, "none")) {
		*v = 0;
		return 0;
	}
	return parse_u64(s, UINT64_MAX, v);
}

int zfs_parse_status(const char *out, struct storage_status *st, struct drover_err *err)
{
	char *a = next_line(&out), *u = next_line(&out);
	uint64_t avail, used;
	int r = a && u && parse_u64(a, UINT64_MAX, &avail) == 0 &&
				parse_u64(u, UINT64_MAX, &used) == 0
			? 0
			: -EBADMSG;

	free(a);
	free(u);
	if (r < 0)
		return drover_fail(err, r, "zfs get: cannot read available and used");
	st->avail = avail;
	st->used = used;
	st->total = avail + used;
	st->active = true;
	return 0;
}

int zfs_parse_list(const struct storage_props *p, const char *out, struct storage_volume **vols,
		   size_t *n, struct drover_err *err)
{
	size_t plen = strlen(p->pool), cap = 0;
	char *line;

	*vols = NULL;
	*n = 0;
	while ((line = next_line(&out))) {
		char *f[5];
		struct storage_volname v;
		struct storage_volume one = { 0 };
		uint64_t volsize, used, quota;
		const char *name = line + plen + 1;

		if (fields(line, f, 5) != 5 || strncmp(f[0], p->pool, plen) || f[0][plen] != '/' ||
		    parse_num(f[1], &volsize) || parse_num(f[2], &used) ||
		    parse_num(f[3], &quota) ||
		    storage_volname_parse(name, STORAGE_NAMING_BLOCK, &v, NULL) < 0 ||
		    (streq(f[4], "volume") ? v.format != STORAGE_VOLFORMAT_RAW
					   : v.format != STORAGE_VOLFORMAT_SUBVOL)) {
			free(line);
			continue;
		}
		snprintf(one.volname, sizeof(one.volname), "%s", name);
		one.vmid = v.vmid;
		one.content = v.content;
		one.format = v.format;
		one.size = v.format == STORAGE_VOLFORMAT_SUBVOL ? quota : volsize;
		one.used = used;
		free(line);
		if (ARRAY_GROW(*vols, cap, *n + 1) < 0) {
			free(*vols);
			*vols = NULL;
			*n = 0;
			return drover_fail(err, -ENOMEM, "out of memory");
		}
		(*vols)[(*n)++] = one;
	}
	return 0;
}

int zfs_parse_snapshots(const struct storage_props *p, const char *name, const char *out,
			struct storage_snapshot **snaps, size_t *n, struct drover_err *err)
{
	char prefix[600];
	size_t cap = 0, plen;
	char *line;

	snprintf(prefix, sizeof(prefix), "%s/%s@", p->pool, name);
	plen = strlen(prefix);
	*snaps = NULL;
	*n = 0;
	while ((line = next_line(&out))) {
		struct storage_snapshot s = { 0 };
		uint64_t guid, ctime;
		char *f[3];

		if (fields(line, f, 3) != 3 || strncmp(f[0], prefix, plen) ||
		    !storage_snapname_valid(f[0] + plen) || parse_u64(f[1], UINT64_MAX, &guid) ||
		    parse_u64(f[2], INT64_MAX, &ctime)) {
			free(line);
			continue;
		}
		snprintf(s.name, sizeof(s.name), "%s", f[0] + plen);
		s.ctime = (int64_t)ctime;
		/* a received snapshot keeps the sender's guid: id and origin are one */
		snprintf(s.id, sizeof(s.id), "%llu", (unsigned long long)guid);
		snprintf(s.origin_id, sizeof(s.origin_id), "%llu", (unsigned long long)guid);
		free(line);
		if (ARRAY_GROW(*snaps, cap, *n + 1) < 0) {
			free(*snaps);
			*snaps = NULL;
			*n = 0;
			return drover_fail(err, -ENOMEM, "out of memory");
		}
		(*snaps)[(*n)++] = s;
	}
	return 0;
}

int zfs_parse_resume_token(const char *out, char *token, size_t len)
{
	size_t n = strcspn(out, "\r\n");

	if (n == 0 || (n == 1 && out[0] == '-'))
		return -ENOENT;
	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(token, out, n);
	token[n] = '\0';
	return 0;
}

/* ---- the plugin ------------------------------------------------------- */

static int block_name(const char *volname, struct storage_volname *v, struct drover_err *err)
{
	return storage_volname_parse(volname, STORAGE_NAMING_BLOCK, v, err);
}

static int zfs_status(struct storage *s, struct storage_status *st, struct drover_err *err)
{
	struct buf out = BUF_INIT;
	struct cmdline c;
	int r;

	zfs_cmd_status(&s->props, &c);
	r = cmdline_run(&c, -1, &out, err);
	if (r == 0)
		r = zfs_parse_status((char *)out.data, st, err);
	buf_free(&out);
	return r;
}

static int zfs_list(struct storage *s, unsigned vmid, struct storage_volume **vols, size_t *n,
		    struct drover_err *err)
{
	struct buf out = BUF_INIT;
	struct cmdline c;
	int r;

	(void)vmid; /* the layer filters */
	zfs_cmd_list(&s->props, &c);
	r = cmdline_run(&c, -1, &out, err);
	if (r == 0)
		r = zfs_parse_list(&s->props, (char *)out.data, vols, n, err);
	buf_free(&out);
	return r;
}

static int find(struct storage *s, const char *name, struct storage_volume *one,
		struct drover_err *err)
{
	struct storage_volume *vols;
	size_t n;
	int r = zfs_list(s, 0, &vols, &n, err);

	if (r < 0)
		return r;
	r = -ENOENT;
	for (size_t i = 0; i < n; i++)
		if (streq(vols[i].volname, name)) {
			if (one)
				*one = vols[i];
			r = 0;
		}
	free(vols);
	return r;
}

static int zfs_alloc(struct storage *s, const struct storage_alloc_req *req, char *volname,
		     size_t len, struct drover_err *err)
{
	const char *prefix = req->format == STORAGE_VOLFORMAT_SUBVOL ? "subvol" : "vm";
	char name[STORAGE_NAME_MAX];
	struct cmdline c;
	int r;

	if (req->format == STORAGE_VOLFORMAT_QCOW2)
		return drover_fail(err, -ENOTSUP, "zfspool keeps raw zvols and subvols, not qcow2");
	if (req->format == STORAGE_VOLFORMAT_RAW && !req->size)
		return drover_fail(err, -EINVAL, "a raw volume needs a size");
	for (unsigned k = 0; k < FREE_NAMES_MAX; k++) {
		if (req->name)
			snprintf(name, sizeof(name), "%s", req->name);
		else
			snprintf(name, sizeof(name), "%s-%u-disk-%u", prefix, req->vmid, k);
		r = find(s, name, NULL, err);
		if (r == 0 && req->name)
			return drover_fail(err, -EEXIST, "volume %s exists already", name);
		if (r == 0)
			continue;
		if (r != -ENOENT)
			return r;
		zfs_cmd_alloc(&s->props, name, req->format, req->size, &c);
		r = cmdline_run(&c, -1, NULL, err);
		if (r < 0)
			return r;
		snprintf(volname, len, "%s", name);
		return 0;
	}
	return drover_fail(err, -ENOSPC, "no free volume name for VMID %u", req->vmid);
}

static int zfs_free(struct storage *s, const char *volname, struct drover_err *err)
{
	struct cmdline c;
	int r = find(s, volname, NULL, err);

	if (r == -ENOENT)
		return drover_fail(err, r, "volume %s does not exist", volname);
	if (r < 0)
		return r;
	zfs_cmd_destroy(&s->props, volname, NULL, &c);
	return cmdline_run(&c, -1, NULL, err);
}

static int zfs_info(struct storage *s, const char *volname, struct storage_volume *v,
		    struct drover_err *err)
{
	int r = find(s, volname, v, err);

	return r == -ENOENT ? drover_fail(err, r, "volume %s does not exist", volname) : r;
}

static int zfs_path(struct storage *s, const char *volname, const char *snap, char *out, size_t len,
		    struct drover_err *err)
{
	struct storage_volname v;
	struct buf mp = BUF_INIT;
	struct cmdline c;
	int r = block_name(volname, &v, err);

	if (r < 0)
		return r;
	if (v.format == STORAGE_VOLFORMAT_RAW) {
		if (snap)
			snprintf(out, len, "/dev/zvol/%s/%s@%s", s->props.pool, volname, snap);
		else
			snprintf(out, len, "/dev/zvol/%s/%s", s->props.pool, volname);
		return 0;
	}
	zfs_cmd_mountpoint(&s->props, volname, &c);
	r = cmdline_run(&c, -1, &mp, err);
	if (r == 0) {
		((char *)mp.data)[strcspn((char *)mp.data, "\n")] = '\0';
		if (snap)
			snprintf(out, len, "%s/.zfs/snapshot/%s", (char *)mp.data, snap);
		else
			snprintf(out, len, "%s", (char *)mp.data);
	}
	buf_free(&mp);
	return r;
}

static int zfs_resize(struct storage *s, const char *volname, uint64_t size, struct drover_err *err)
{
	struct storage_volume v;
	struct cmdline c;
	int r = zfs_info(s, volname, &v, err);

	if (r < 0)
		return r;
	if (size < v.size)
		return drover_fail(err, -EINVAL, "shrinking %s is refused", volname);
	zfs_cmd_resize(&s->props, volname, v.format, size, &c);
	return cmdline_run(&c, -1, NULL, err);
}

static int zfs_snapshot_create(struct storage *s, const char *volname, const char *snap,
			       struct drover_err *err)
{
	struct cmdline c;

	zfs_cmd_snapshot(&s->props, volname, snap, &c);
	return cmdline_run(&c, -1, NULL, err);
}

static int zfs_snapshot_delete(struct storage *s, const char *volname, const char *snap,
			       struct drover_err *err)
{
	struct cmdline c;

	zfs_cmd_destroy(&s->props, volname, snap, &c);
	return cmdline_run(&c, -1, NULL, err);
}

static int zfs_snapshot_list(struct storage *s, const char *volname,
			     struct storage_snapshot **snaps, size_t *n, struct drover_err *err)
{
	struct buf out = BUF_INIT;
	struct cmdline c;
	int r;

	zfs_cmd_snapshots(&s->props, volname, &c);
	r = cmdline_run(&c, -1, &out, err);
	if (r == 0)
		r = zfs_parse_snapshots(&s->props, volname, (char *)out.data, snaps, n, err);
	buf_free(&out);
	return r;
}

static int zfs_snapshot_rollback(struct storage *s, const char *volname, const char *snap,
				 struct drover_err *err)
{
	struct storage_snapshot *snaps;
	struct cmdline c;
	size_t n;
	int r = zfs_snapshot_list(s, volname, &snaps, &n, err);

	if (r < 0)
		return r;
	if (n == 0 || !streq(snaps[n - 1].name, snap)) {
		bool known = false;

		for (size_t i = 0; i < n; i++)
			known |= streq(snaps[i].name, snap);
		r = known ? drover_fail(err, -EBUSY,
					"snapshot '%s' is newer than '%s': delete it first",
					snaps[n - 1].name, snap)
			  : drover_fail(err, -ENOENT, "snapshot '%s' of %s does not exist", snap,
					volname);
	}
	free(snaps);
	if (r < 0)
		return r;
	zfs_cmd_rollback(&s->props, volname, snap, &c);
	return cmdline_run(&c, -1, NULL, err);
}

static unsigned zfs_export_formats(struct storage *s, const char *volname,
				   const struct storage_export_opts *o)
{
	struct storage_volname v;

	(void)s;
	return block_name(volname, &v, NULL) == 0 && o->snapshot ? 1u << STORAGE_FORMAT_ZFS : 0;
}

static unsigned zfs_import_formats(struct storage *s, const char *volname,
				   const struct storage_import_opts *o)
{
	struct storage_volname v;

	(void)s;
	(void)o;
	return block_name(volname, &v, NULL) == 0 ? 1u << STORAGE_FORMAT_ZFS : 0;
}

static int zfs_export(struct storage *s, const char *volname, enum storage_format fmt,
		      const struct storage_export_opts *o, int fd,
		      const struct drover_reporter *rep, struct drover_err *err)
{
	struct cmdline c;

	(void)rep;
	if (fmt != STORAGE_FORMAT_ZFS || !o->snapshot)
		return drover_fail(err, -ENOTSUP,
				   "zfspool exports snapshots in the zfs format only");
	zfs_cmd_send(&s->props, volname, o->snapshot, o->base, o->with_snapshots, &c);
	if (c.error)
		return drover_fail(err, c.error, "zfs send: command line too long");
	return storage_run_to(c.argv, fd, err);
}

/* After a failed receive: nothing half-made stays (the resume state is aborted too). */
static void undo_recv(struct storage *s, const char *name, const char *base, bool existed)
{
	struct drover_err ignore;
	struct cmdline c;

	zfs_cmd_recv_abort(&s->props, name, &c);
	cmdline_run(&c, -1, NULL, &ignore);
	if (base) {
		cmdline_init(&c);
		cmdline_add(&c, "zfs");
		cmdline_add(&c, "rollback");
		cmdline_add(&c, "-r");
		cmdline_add(&c, "--");
		cmdline_add(&c, "%s/%s@%s", s->props.pool, name, base);
		cmdline_run(&c, -1, NULL, &ignore);
	} else if (!existed) {
		zfs_cmd_destroy(&s->props, name, NULL, &c);
		cmdline_run(&c, -1, NULL, &ignore);
	}
}

static int zfs_import(struct storage *s, const char *volname, enum storage_format fmt,
		      const struct storage_import_opts *o, int fd, char *imported, size_t len,
		      const struct drover_reporter *rep, struct drover_err *err)
{
	struct storage_volname v;
	struct cmdline c;
	char name[STORAGE_NAME_MAX];
	int r = block_name(volname, &v, err);

	(void)rep;
	if (r < 0)
		return r;
	if (fmt != STORAGE_FORMAT_ZFS)
		return drover_fail(err, -ENOTSUP, "zfspool imports the zfs format only");
	snprintf(name, sizeof(name), "%s", volname);
	r = find(s, name, NULL, err);
	if (r < 0 && r != -ENOENT)
		return r;
	if (o->base && r == -ENOENT)
		return drover_fail(err, -ENOENT,
				   "volume %s does not exist for an incremental receive", name);
	if (!o->base && r == 0) {
		if (!o->allow_rename)
			return drover_fail(err, -EEXIST, "volume %s exists on %s", name,
					   s->props.id);
		for (unsigned k = 0; find(s, name, NULL, err) == 0; k++) {
			if (k == FREE_NAMES_MAX)
				return drover_fail(err, -ENOSPC, "no free volume name");
			snprintf(name, sizeof(name), "%s-%u-disk-%u",
				 v.format == STORAGE_VOLFORMAT_SUBVOL ? "subvol" : "vm", v.vmid, k);
		}
	}
	zfs_cmd_recv(&s->props, name, &c);
	r = cmdline_run(&c, fd, NULL, err);
	if (r < 0) {
		undo_recv(s, name, o->base, o->base != NULL);
		return r;
	}
	if (o->delete_snapshot) {
		struct drover_err ignore;

		zfs_cmd_destroy(&s->props, name, o->delete_snapshot, &c);
		cmdline_run(&c, -1, NULL, &ignore);
	}
	snprintf(imported, len, "%s", name);
	return 0;
}

const struct storage_plugin storage_plugin_zfspool = {
	.type = "zfspool",
	.content = STORAGE_CONTENT_IMAGES | STORAGE_CONTENT_ROOTDIR,
	.snapshots = true,
	.status = zfs_status,
	.alloc = zfs_alloc,
	.free = zfs_free,
	.list = zfs_list,
	.info = zfs_info,
	.path = zfs_path,
	.resize = zfs_resize,
	.snapshot_create = zfs_snapshot_create,
	.snapshot_delete = zfs_snapshot_delete,
	.snapshot_rollback = zfs_snapshot_rollback,
	.snapshot_list = zfs_snapshot_list,
	.export_formats = zfs_export_formats,
	.import_formats = zfs_import_formats,
	.export = zfs_export,
	.import = zfs_import,
};
