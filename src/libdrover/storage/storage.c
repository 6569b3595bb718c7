/* SPDX-License-Identifier: MIT */
#include "storage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/fdio.h"
#include "basic/util.h"
#include "fsutil.h"

#define CFG_LOCK "file-storage_cfg"
#define CFG_LOCK_TIMEOUT_MS 10000

static const struct storage_plugin *const plugins[] = {
	&storage_plugin_dir,	 &storage_plugin_btrfs,	  &storage_plugin_rbd,
	&storage_plugin_zfspool, &storage_plugin_lvmthin,
};

const struct storage_plugin *storage_plugin_find(const char *type)
{
	for (size_t i = 0; i < ARRAY_SIZE(plugins); i++)
		if (streq(plugins[i]->type, type))
			return plugins[i];
	return NULL;
}

static const char *const format_names[STORAGE_FORMAT_COUNT] = {
	[STORAGE_FORMAT_ZFS] = "zfs",
	[STORAGE_FORMAT_BTRFS] = "btrfs",
	[STORAGE_FORMAT_RBD_DIFF] = "rbd-diff",
	[STORAGE_FORMAT_RAW_SIZE] = "raw+size",
};

const char *storage_format_name(enum storage_format f)
{
	return (unsigned)f < STORAGE_FORMAT_COUNT ? format_names[f] : "?";
}

int storage_format_parse(const char *s, enum storage_format *f)
{
	for (unsigned i = 0; i < STORAGE_FORMAT_COUNT; i++)
		if (streq(s, format_names[i])) {
			*f = (enum storage_format)i;
			return 0;
		}
	return -EINVAL;
}

void storage_formats_text(unsigned mask, char *out, size_t len)
{
	size_t used = 0;

	snprintf(out, len, "none");
	for (unsigned i = 0; i < STORAGE_FORMAT_COUNT; i++)
		if (mask & (1u << i))
			used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s%s",
						 used ? ", " : "", format_names[i]);
}

int storage_format_pick(unsigned export_mask, unsigned import_mask, enum storage_format *f)
{
	unsigned both = export_mask & import_mask;

	for (unsigned i = 0; i < STORAGE_FORMAT_COUNT; i++)
		if (both & (1u << i)) {
			*f = (enum storage_format)i;
			return 0;
		}
	return -ENOTSUP;
}

int storage_cfg_load(const struct cfs_brief *b, struct storage_cfg *cfg, struct drover_err *err)
{
	struct buf text = BUF_INIT;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	r = cfs_read(b, STORAGE_CFG_NAME, &text);
	if (r == -ENOENT) {
		buf_free(&text);
		r = storage_cfg_default(cfg);
		return r < 0 ? drover_fail(err, r, "the built-in storage.cfg: %s", strerror(-r))
			     : 0;
	}
	if (r < 0) {
		buf_free(&text);
		return drover_fail(err, r, "reading %s/%s: %s", b->mountpoint, STORAGE_CFG_NAME,
				   strerror(-r));
	}
	r = storage_cfg_parse(text.len ? (const char *)text.data : "", text.len, STORAGE_CFG_NAME,
			      cfg, err);
	buf_free(&text);
	return r;
}

int storage_env_open(struct storage_env *env, const char *socket, struct drover_err *err)
{
	int r;

	memset(env, 0, sizeof(*env));
	r = cfs_brief_get(socket, &env->cfs);
	if (r < 0)
		return drover_fail(err, r, "cannot reach droverfs: %s%s", strerror(-r),
				   r == -ENOENT || r == -ECONNREFUSED ? " (is droverfs running?)"
								      : "");
	return storage_cfg_load(&env->cfs, &env->cfg, err);
}

void storage_env_close(struct storage_env *env)
{
	storage_cfg_free(&env->cfg);
}

static int write_cfg(const struct cfs_brief *b, const struct storage_cfg *cfg,
		     struct drover_err *err)
{
	struct buf text = BUF_INIT;
	int r = storage_cfg_write(cfg, &text);

	if (r == 0)
		r = cfs_write(b, STORAGE_CFG_NAME, text.data ? (void *)text.data : "", text.len,
			      0640);
	buf_free(&text);
	if (r < 0)
		return drover_fail(err, r, "writing %s: %s%s", STORAGE_CFG_NAME, strerror(-r),
				   r == -EACCES ? " (no quorum?)" : "");
	return 0;
}

static int lock_cfg(const struct cfs_brief *b, struct drover_err *err)
{
	int r = cfs_lock(b, CFG_LOCK, CFG_LOCK_TIMEOUT_MS);

	if (r < 0)
		return drover_fail(err, r, "cannot take the cluster lock priv/lock/%s: %s",
				   CFG_LOCK,
				   r == -EBUSY	  ? "another storage.cfg change is running"
				   : r == -EACCES ? "no quorum"
						  : strerror(-r));
	return 0;
}

int storage_cfg_edit(const struct cfs_brief *b, const char *digest,
		     int (*edit)(struct storage_cfg *cfg, void *ctx, struct drover_err *err),
		     void *ctx, struct drover_err *err)
{
	struct storage_cfg cfg;
	int r = lock_cfg(b, err);

	if (r < 0)
		return r;
	r = storage_cfg_load(b, &cfg, err);
	if (r == 0 && digest && !streq(digest, cfg.digest))
		r = drover_fail(
			err, -ESTALE,
			"storage.cfg was changed meanwhile (its digest is %s, not %s): look again and retry",
			cfg.digest, digest);
	if (r == 0)
		r = edit(&cfg, ctx, err);
	if (r == 0)
		r = write_cfg(b, &cfg, err);
	cfs_unlock(b, CFG_LOCK);
	storage_cfg_free(&cfg);
	return r;
}

static int keep(struct storage_cfg *cfg, void *ctx, struct drover_err *err)
{
	(void)cfg;
	(void)ctx;
	(void)err;
	return 0;
}

int storage_cfg_ensure(const struct cfs_brief *b, struct drover_err *err)
{
	char path[4096];

	if (cfs_path(b, STORAGE_CFG_NAME, path, sizeof(path)) == 0 && access(path, F_OK) == 0)
		return 0;
	/* loading finds no file and gives the built-in one; writing makes it real */
	return storage_cfg_edit(b, NULL, keep, NULL, err);
}

struct add_ctx {
	const char *type, *id, *keyring;
	char *const *set;
	size_t nset;
	bool wrote_keyring;
	const struct cfs_brief *b;
};

static int keyring_rel(const char *id, char *out, size_t len)
{
	int n = snprintf(out, len, "priv/ceph/%s.keyring", id);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int add_edit(struct storage_cfg *cfg, void *ctx, struct drover_err *err)
{
	struct add_ctx *a = ctx;
	char rel[STORAGE_ID_MAX + 32];
	int r = storage_cfg_add(cfg, a->type, a->id, a->set, a->nset, err);
	const struct storage_props *p;

	if (r < 0 || !a->keyring)
		return r;
	p = storage_cfg_find(cfg, a->id);
	if (p && !p->shared)
		return drover_fail(
			err, -EINVAL,
			"--keyring: with --shared 0 every node has its own Ceph cluster "
			"and key, in its /etc/ceph (droverfs's priv/ceph is every node's)");
	/* in place before storage.cfg names the storage: no rbd storage without its key */
	r = keyring_rel(a->id, rel, sizeof(rel));
	if (r == 0)
		r = cfs_write(a->b, rel, a->keyring, strlen(a->keyring), 0600);
	if (r < 0)
		return drover_fail(err, r, "writing %s: %s", rel, strerror(-r));
	a->wrote_keyring = true;
	return 0;
}

int storage_add(const struct cfs_brief *b, const char *digest, const char *type, const char *id,
		char *const set[], size_t nset, const char *keyring, struct drover_err *err)
{
	struct add_ctx a = {
		.type = type, .id = id, .keyring = keyring, .set = set, .nset = nset, .b = b
	};
	char rel[STORAGE_ID_MAX + 32], path[4096];
	int r;

	if (keyring && !streq(type, "rbd"))
		return drover_fail(err, -EINVAL, "--keyring: only an rbd storage has a keyring");
	r = storage_cfg_edit(b, digest, add_edit, &a, err);
	/* storage.cfg was not written: the keyring of a storage that is not goes too */
	if (r < 0 && a.wrote_keyring && keyring_rel(id, rel, sizeof(rel)) == 0 &&
	    cfs_path(b, rel, path, sizeof(path)) == 0)
		unlink(path);
	return r;
}

struct set_ctx {
	const char *id;
	char *const *set, *const *del;
	size_t nset, ndel;
};

static int set_edit(struct storage_cfg *cfg, void *ctx, struct drover_err *err)
{
	const struct set_ctx *a = ctx;

	return storage_cfg_set(cfg, a->id, a->set, a->nset, a->del, a->ndel, err);
}

int storage_set(const struct cfs_brief *b, const char *digest, const char *id, char *const set[],
		size_t nset, char *const del[], size_t ndel, struct drover_err *err)
{
	struct set_ctx a = { .id = id, .set = set, .nset = nset, .del = del, .ndel = ndel };

	return storage_cfg_edit(b, digest, set_edit, &a, err);
}

static int remove_edit(struct storage_cfg *cfg, void *ctx, struct drover_err *err)
{
	return storage_cfg_remove(cfg, ctx, err);
}

int storage_remove(const struct cfs_brief *b, const char *digest, const char *id,
		   struct drover_err *err)
{
	return storage_cfg_edit(b, digest, remove_edit, (void *)id, err);
}

int storage_open(const struct storage_env *env, const char *storeid, struct storage *s,
		 struct drover_err *err)
{
	const struct storage_props *p = storage_cfg_find(&env->cfg, storeid);
	const struct storage_plugin *plugin;
	int r;

	memset(s, 0, sizeof(*s));
	if (!p)
		return drover_fail(err, -ENOENT,
				   "storage '%s' does not exist (see 'drover storage status')",
				   storeid);
	if (p->disable)
		return drover_fail(err, -EHOSTDOWN, "storage '%s' is disabled", storeid);
	if (!storage_props_on_node(p, env->cfs.node))
		return drover_fail(err, -EHOSTDOWN,
				   "storage '%s' is not available on node %s (see its 'nodes')",
				   storeid, env->cfs.node);
	plugin = storage_plugin_find(p->type);
	if (!plugin)
		return drover_fail(err, -ENOTSUP, "storage '%s': this drover has no %s plugin",
				   storeid, p->type);
	s->plugin = plugin;
	s->props = *p;
	s->props.nodes = NULL; /* not ours to keep: env's cfg owns the list */
	if (streq(p->type, "rbd") &&
	    pathf(s->props.keyring, sizeof(s->props.keyring), "%s/priv/ceph/%s.keyring",
		  env->cfs.mountpoint, storeid) < 0)
		return drover_fail(err, -ENAMETOOLONG, "storage '%s': keyring path too long",
				   storeid);
	r = plugin->check ? plugin->check(&s->props, err) : 0;
	if (r == 0)
		r = plugin->open ? plugin->open(s, err) : 0;
	if (r < 0) {
		s->plugin = NULL;
		return drover_fail_prefix(err, r, "storage '%s'", storeid);
	}
	return 0;
}

void storage_close(struct storage *s)
{
	if (s->plugin && s->plugin->close)
		s->plugin->close(s);
	s->plugin = NULL;
	s->priv = NULL;
}

int storage_vol_open(const struct storage_env *env, const char *volid, struct storage_vol *v,
		     struct drover_err *err)
{
	const struct storage_props *p;
	int r;

	memset(v, 0, sizeof(*v));
	r = storage_volid_split(volid, v->storeid, sizeof(v->storeid), v->volname,
				sizeof(v->volname), err);
	if (r < 0)
		return r;
	p = storage_cfg_find(&env->cfg, v->storeid);
	if (!p)
		return drover_fail(err, -ENOENT,
				   "storage '%s' does not exist (see 'drover storage status')",
				   v->storeid);
	r = storage_volname_parse(v->volname, storage_naming_of(p->type), &v->name, err);
	if (r < 0)
		return drover_fail_prefix(err, r, "%s", volid);
	return storage_open(env, v->storeid, &v->st, err);
}

void storage_vol_close(struct storage_vol *v)
{
	storage_close(&v->st);
}

int storage_alloc(const struct storage_env *env, const char *storeid, unsigned vmid,
		  const char *name, enum storage_volformat fmt, bool fmt_given, uint64_t size,
		  char *volid, size_t len, struct drover_err *err)
{
	struct storage_alloc_req req = { .vmid = vmid, .size = size };
	char volname[STORAGE_VOLNAME_MAX], stem[STORAGE_VOLNAME_MAX];
	struct storage s;
	unsigned want;
	int r;

	if (vmid == 0)
		return drover_fail(err, -EINVAL, "VMID 0 owns no volume");
	r = storage_open(env, storeid, &s, err);
	if (r < 0)
		return r;
	if (!fmt_given)
		fmt = s.props.default_format;
	if (name) {
		r = storage_name_check(name, vmid, storage_naming_of(s.props.type), &fmt, fmt_given,
				       err);
		if (r < 0)
			goto out;
	}
	/* a name without an extension on a file storage: the format decides */
	want = fmt == STORAGE_VOLFORMAT_SUBVOL ? STORAGE_CONTENT_ROOTDIR : STORAGE_CONTENT_IMAGES;
	if (!(s.props.content & want)) {
		r = drover_fail(err, -EINVAL, "storage '%s' does not hold %s (its content)",
				storeid, want == STORAGE_CONTENT_ROOTDIR ? "rootdir" : "images");
		goto out;
	}
	if (name) {
		/* the plugin gets the stem: "vm-100-disk-0" (not in volname, its output) */
		snprintf(stem, sizeof(stem), "%.*s", (int)strcspn(name, "."), name);
		req.name = stem;
	}
	req.format = fmt;
	r = s.plugin->alloc(&s, &req, volname, sizeof(volname), err);
	if (r < 0)
		drover_fail_prefix(err, r, "alloc on %s", storeid);
	else if ((size_t)snprintf(volid, len, "%s:%s", storeid, volname) >= len)
		r = drover_fail(err, -ENAMETOOLONG, "volume ID too long");
out:
	storage_close(&s);
	return r;
}

int storage_free_volume(const struct storage_env *env, const char *volid, struct drover_err *err)
{
	struct storage_vol v;
	int r = storage_vol_open(env, volid, &v, err);

	if (r < 0)
		return r;
	r = v.st.plugin->free(&v.st, v.volname, err);
	if (r < 0)
		drover_fail_prefix(err, r, "free %s", volid);
	storage_vol_close(&v);
	return r;
}

static int check_snap(const char *what, const char *snap, struct drover_err *err)
{
	if (!snap || storage_snapname_valid(snap))
		return 0;
	return drover_fail(
		err, -EINVAL,
		"%s '%.80s' is not a snapshot name (letters, digits, '_', '-', at most %d)", what,
		snap, STORAGE_SNAPNAME_MAX - 1);
}

int storage_volume_path(const struct storage_env *env, const char *volid, const char *snap,
			char *out, size_t len, struct drover_err *err)
{
	struct storage_vol v;
	int r = check_snap("snapshot", snap, err);

	if (r == 0)
		r = storage_vol_open(env, volid, &v, err);
	if (r < 0)
		return r;
	r = v.st.plugin->path(&v.st, v.volname, snap, out, len, err);
	if (r < 0)
		drover_fail_prefix(err, r, "path of %s", volid);
	storage_vol_close(&v);
	return r;
}

int storage_resize(const struct storage_env *env, const char *volid, uint64_t size,
		   struct drover_err *err)
{
	struct storage_vol v;
	int r = storage_vol_open(env, volid, &v, err);

	if (r < 0)
		return r;
	r = v.st.plugin->resize(&v.st, v.volname, size, err);
	if (r < 0)
		drover_fail_prefix(err, r, "resize %s", volid);
	storage_vol_close(&v);
	return r;
}

int storage_grow(const struct storage_env *env, const char *volid, uint64_t by,
		 struct drover_err *err)
{
	struct storage_volume info;
	int r = storage_volume_info(env, volid, &info, err);

	if (r < 0)
		return r;
	if (by > UINT64_MAX - info.size)
		return drover_fail(err, -EFBIG, "resize %s: %llu bytes more is too large", volid,
				   (unsigned long long)by);
	return storage_resize(env, volid, info.size + by, err);
}

int storage_volume_info(const struct storage_env *env, const char *volid,
			struct storage_volume *info, struct drover_err *err)
{
	struct storage_vol v;
	int r = storage_vol_open(env, volid, &v, err);

	if (r < 0)
		return r;
	r = v.st.plugin->info(&v.st, v.volname, info, err);
	if (r < 0)
		drover_fail_prefix(err, r, "%s", volid);
	storage_vol_close(&v);
	return r;
}

static int need_snapshots(const struct storage_vol *v, struct drover_err *err)
{
	if (v->st.plugin->snapshots && v->st.plugin->snapshot_create)
		return 0;
	return drover_fail(err, -ENOTSUP, "storage '%s' (%s) has no snapshots", v->storeid,
			   v->st.props.type);
}

int storage_snapshot_op(const struct storage_env *env, const char *volid, enum storage_snap_op op,
			const char *snap, struct drover_err *err)
{
	static const char *const what[] = { "snapshot", "delsnapshot", "rollback" };
	struct storage_vol v;
	int r = check_snap("snapshot", snap, err);

	if (r == 0)
		r = storage_vol_open(env, volid, &v, err);
	if (r < 0)
		return r;
	r = need_snapshots(&v, err);
	if (r == 0 && op == STORAGE_SNAP_CREATE)
		r = v.st.plugin->snapshot_create(&v.st, v.volname, snap, err);
	else if (r == 0 && op == STORAGE_SNAP_DELETE)
		r = v.st.plugin->snapshot_delete(&v.st, v.volname, snap, err);
	else if (r == 0)
		r = v.st.plugin->snapshot_rollback(&v.st, v.volname, snap, err);
	if (r < 0)
		drover_fail_prefix(err, r, "%s %s %s", what[op], volid, snap);
	storage_vol_close(&v);
	return r;
}

int storage_snapshot_list(const struct storage_env *env, const char *volid,
			  struct storage_snapshot **snaps, size_t *n, struct drover_err *err)
{
	struct storage_vol v;
	int r = storage_vol_open(env, volid, &v, err);

	*snaps = NULL;
	*n = 0;
	if (r < 0)
		return r;
	if (v.st.plugin->snapshots && v.st.plugin->snapshot_list) {
		r = v.st.plugin->snapshot_list(&v.st, v.volname, snaps, n, err);
		if (r < 0)
			drover_fail_prefix(err, r, "snapshots of %s", volid);
	} else {
		/* no snapshots on this type: the volume must still exist */
		struct storage_volume info;

		r = v.st.plugin->info(&v.st, v.volname, &info, err);
		if (r < 0)
			drover_fail_prefix(err, r, "%s", volid);
	}
	storage_vol_close(&v);
	return r;
}

int storage_list(const struct storage_env *env, const char *storeid, unsigned vmid,
		 unsigned content, struct storage_volume **vols, size_t *n, struct drover_err *err)
{
	struct storage s;
	size_t k = 0;
	int r = storage_open(env, storeid, &s, err);

	*vols = NULL;
	*n = 0;
	if (r < 0)
		return r;
	r = s.plugin->list(&s, vmid, vols, n, err);
	if (r < 0)
		drover_fail_prefix(err, r, "list %s", storeid);
	for (size_t i = 0; r == 0 && i < *n; i++)
		if ((!vmid || (*vols)[i].vmid == vmid) &&
		    (!content || ((*vols)[i].content & content)))
			(*vols)[k++] = (*vols)[i];
	if (r == 0)
		*n = k;
	storage_close(&s);
	return r;
}

int storage_location(const struct storage_env *env, const char *storeid, char *out, size_t len,
		     struct drover_err *err)
{
	const struct storage_props *p = storage_cfg_find(&env->cfg, storeid);
	const struct storage_plugin *plugin = p ? storage_plugin_find(p->type) : NULL;
	struct storage s;
	int r;

	out[0] = '\0';
	if (plugin && !plugin->location)
		return 0; /* without connecting: the type cannot tell */
	r = storage_open(env, storeid, &s, err);
	if (r < 0)
		return r;
	if (s.plugin->location)
		r = s.plugin->location(&s, out, len, err);
	storage_close(&s);
	return r;
}

int storage_sweep(const struct storage_env *env, const char *storeid, unsigned vmid,
		  struct drover_err *err)
{
	struct storage s;
	int r = storage_open(env, storeid, &s, err);

	if (r < 0)
		return r;
	if (s.plugin->sweep)
		r = s.plugin->sweep(&s, vmid, err);
	storage_close(&s);
	return r;
}

int storage_export_mask(const struct storage_env *env, const char *volid,
			const struct storage_export_opts *o, unsigned *mask, struct drover_err *err)
{
	struct storage_vol v;
	int r = storage_vol_open(env, volid, &v, err);

	if (r < 0)
		return r;
	*mask = v.st.plugin->export_formats(&v.st, v.volname, o);
	storage_vol_close(&v);
	return 0;
}

int storage_import_mask(const struct storage_env *env, const char *storeid, const char *volname,
			const struct storage_import_opts *o, unsigned *mask, struct drover_err *err)
{
	const struct storage_props *p = storage_cfg_find(&env->cfg, storeid);
	struct storage s = { 0 };

	if (!p)
		return drover_fail(err, -ENOENT,
				   "storage '%s' does not exist (see 'drover storage status')",
				   storeid);
	s.plugin = storage_plugin_find(p->type);
	if (!s.plugin)
		return drover_fail(err, -ENOTSUP, "storage '%s': this drover has no %s plugin",
				   storeid, p->type);
	s.props = *p;
	s.props.nodes = NULL;
	*mask = s.plugin->import_formats(&s, volname, o);
	return 0;
}

static int check_stream_opts(const char *snapshot, const char *base, struct drover_err *err)
{
	int r = check_snap("--snapshot", snapshot, err);

	if (r == 0)
		r = check_snap("--base", base, err);
	if (r == 0 && base && snapshot && streq(base, snapshot))
		r = drover_fail(err, -EINVAL, "--base and --snapshot are the same snapshot '%s'",
				base);
	return r;
}

int storage_export(const struct storage_env *env, const char *volid, enum storage_format fmt,
		   const struct storage_export_opts *o, int fd, const struct drover_reporter *rep,
		   struct drover_err *err)
{
	char have[128];
	struct storage_vol v;
	unsigned mask;
	int r = check_stream_opts(o->snapshot, o->base, err);

	if (r == 0)
		r = storage_vol_open(env, volid, &v, err);
	if (r < 0)
		return r;
	mask = v.st.plugin->export_formats(&v.st, v.volname, o);
	if (!(mask & (1u << fmt))) {
		storage_formats_text(mask, have, sizeof(have));
		r = drover_fail(err, -ENOTSUP, "export of %s: format %s is not offered (%s%s%s)",
				volid, storage_format_name(fmt), have,
				o->base ? " with --base" : "",
				o->snapshot ? "" : " without --snapshot");
	} else {
		sigset_t sigs;

		/* a reader that went away is an error of this call, not the end of the process */
		sigpipe_block(&sigs);
		r = v.st.plugin->export(&v.st, v.volname, fmt, o, fd, rep, err);
		sigpipe_restore(&sigs);
		if (r < 0)
			drover_fail_prefix(err, r, "export of %s", volid);
	}
	storage_vol_close(&v);
	return r;
}

int storage_import(const struct storage_env *env, const char *volid, enum storage_format fmt,
		   const struct storage_import_opts *o, int fd, char *imported, size_t len,
		   const struct drover_reporter *rep, struct drover_err *err)
{
	char have[128], volname[STORAGE_VOLNAME_MAX];
	struct storage_vol v;
	unsigned mask;
	int r = check_stream_opts(o->snapshot, o->base, err);

	if (r == 0)
		r = check_snap("--delete-snapshot", o->delete_snapshot, err);
	if (r == 0)
		r = storage_vol_open(env, volid, &v, err);
	if (r < 0)
		return r;
	mask = v.st.plugin->import_formats(&v.st, v.volname, o);
	if (!(mask & (1u << fmt))) {
		storage_formats_text(mask, have, sizeof(have));
		r = drover_fail(err, -ENOTSUP, "import of %s: format %s is not accepted (%s)",
				volid, storage_format_name(fmt), have);
	} else {
		sigset_t sigs;

		sigpipe_block(&sigs);
		r = v.st.plugin->import(&v.st, v.volname, fmt, o, fd, volname, sizeof(volname), rep,
					err);
		sigpipe_restore(&sigs);
		if (r < 0)
			drover_fail_prefix(err, r, "import of %s", volid);
		else if ((size_t)snprintf(imported, len, "%s:%s", v.storeid, volname) >= len)
			r = drover_fail(err, -ENAMETOOLONG, "volume ID too long");
	}
	storage_vol_close(&v);
	return r;
}

void storage_probe(const struct storage_env *env, const struct storage_props *p,
		   struct storage_state *s)
{
	struct drover_err err = { "" };
	struct storage open;

	memset(s, 0, sizeof(*s));
	s->p = p;
	if (p->disable) {
		s->status = "disabled";
		return;
	}
	if (!storage_props_on_node(p, env->cfs.node)) {
		s->status = "not on this node";
		return;
	}
	s->status = "inactive";
	if (storage_open(env, p->id, &open, &err) < 0) {
		snprintf(s->error, sizeof(s->error), "%s", err.text);
		return;
	}
	if (open.plugin->status(&open, &s->st, &err) < 0)
		snprintf(s->error, sizeof(s->error), "%s", err.text);
	else if (s->st.active)
		s->status = "active";
	storage_close(&open);
}
