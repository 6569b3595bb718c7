/* SPDX-License-Identifier: MIT */
/*
 * The rbd storage type: Ceph RBD images in one pool, reached in-process
 * through librados and librbd (no `rbd` command, no kernel client: krbd is
 * 0 only). A volume is an image "vm-VMID-disk-N"; its snapshots are rbd
 * snapshots, each with an identity drover keeps in the image's metadata
 * (rbd_priv.h), so two sides match snapshots by id and never by name alone.
 * Streams (rbd-diff, raw+size) are rbd_export.c's and rbd_import.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "basic/util.h"
#include "rbd_priv.h"

/* ---- small helpers ------------------------------------------------------ */

unsigned rbd_name_owner(const char *name)
{
	const char *p;
	char *end;
	unsigned long v;

	if (str_has_prefix(name, "vm-"))
		p = name + 3;
	else if (str_has_prefix(name, "base-"))
		p = name + 5;
	else
		return 0;
	if (*p < '1' || *p > '9')
		return 0;
	v = strtoul(p, &end, 10);
	return *end == '-' && end[1] && v <= 999999999ul ? (unsigned)v : 0;
}

/* A Ceph name (pool, user) drover puts into a URI or a config value: no separators. */
static bool ceph_name_valid(const char *s)
{
	if (!s[0])
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

static const char *username(const struct storage_props *p)
{
	return p->username[0] ? p->username : "admin";
}

/* Monitor addresses as Ceph's mon_host wants them: "a,b,c" (storage.cfg allows ' ', ',' and ';'). */
static int monhost_list(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (const char *p = in; *p;) {
		size_t w = strcspn(p, " ,;\t");

		if (w > 0) {
			if (n + w + 2 > len)
				return -ENAMETOOLONG;
			if (n)
				out[n++] = ',';
			memcpy(out + n, p, w);
			n += w;
		}
		p += w;
		p += strspn(p, " ,;\t");
	}
	out[n] = '\0';
	return n ? 0 : -EINVAL;
}

static bool monhost_valid(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr(".:-[] ,;\t", *s)))
			return false;
	return true;
}

/* ---- connection --------------------------------------------------------- */

static int rbd_check(const struct storage_props *p, struct drover_err *err)
{
	if (!p->pool[0])
		return drover_fail(err, -EINVAL, "rbd storage '%s': 'pool' is required", p->id);
	if (!ceph_name_valid(p->pool))
		return drover_fail(
			err, -EINVAL,
			"rbd storage '%s': pool '%s' is not a plain name ([A-Za-z0-9_.-])", p->id,
			p->pool);
	if (p->username[0] && !ceph_name_valid(p->username))
		return drover_fail(
			err, -EINVAL,
			"rbd storage '%s': username '%s' is not a plain name ([A-Za-z0-9_.-])",
			p->id, p->username);
	if (!monhost_valid(p->monhost))
		return drover_fail(err, -EINVAL,
				   "rbd storage '%s': monhost '%s' is not a list of addresses",
				   p->id, p->monhost);
	return 0;
}

/*
 * droverfs's keyring of the storage, when it has one. Not for shared 0: a
 * cluster of each node's own has each node's own key, in its /etc/ceph.
 */
static bool keyring_usable(const struct storage_props *p)
{
	return p->shared && p->keyring[0] && access(p->keyring, R_OK) == 0;
}

/* librados's settings: its own, never a file's, and never a line on our stderr. */
static int configure(rados_t cluster, const struct storage_props *p, struct drover_err *err)
{
	static const char *const quiet[][2] = {
		{ "log_to_stderr", "false" },
		{ "err_to_stderr", "false" },
		{ "log_file", "" },
		{ "admin_socket", "" },
		{ "client_mount_timeout", "15" },
		{ "rados_mon_op_timeout", "30" },
	};
	char mons[sizeof(p->monhost)];
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(quiet); i++)
		r = rados_conf_set(cluster, quiet[i][0], quiet[i][1]);
	if (r == 0 && p->monhost[0]) {
		r = monhost_list(p->monhost, mons, sizeof(mons));
		if (r == 0)
			r = rados_conf_set(cluster, "mon_host", mons);
	} else if (r == 0) {
		/* no monhost: this node is a Ceph node; its /etc/ceph/ceph.conf says where */
		r = rados_conf_read_file(cluster, NULL);
	}
	if (r == 0 && keyring_usable(p)) {
		r = rados_conf_set(cluster, "keyring", p->keyring);
		if (r == 0)
			r = rados_conf_set(cluster, "auth_client_required", "cephx");
	} else if (r == 0 && p->monhost[0]) {
		r = rados_conf_set(cluster, "auth_client_required", "none");
	}
	if (r < 0)
		return drover_fail(err, r, "rbd storage '%s': configuring librados: %s", p->id,
				   strerror(-r));
	return 0;
}

/* Why a connection failed, when the error alone does not say. */
static const char *connect_hint(const struct storage_props *p, int r)
{
	if (r == -ETIMEDOUT)
		return " (no monitor answered within 15 s)";
	if ((r == -EOPNOTSUPP || r == -EACCES || r == -EPERM) && !keyring_usable(p))
		return " (no keyring could be read from the storage's keyring file, so drover"
		       " tried without cephx)";
	if (r == -EACCES || r == -EPERM)
		return " (the keyring's key is not this user's)";
	if (r == -EIO && keyring_usable(p))
		return " (is the keyring file a Ceph keyring with this user's key?)";
	return "";
}

static int rbd_open_store(struct storage *s, struct drover_err *err)
{
	const struct storage_props *p = &s->props;
	struct rbd_store *st = calloc(1, sizeof(*st));
	char client[sizeof(p->username) + 8];
	int r;

	r = rbd_lib_load(err);
	if (r < 0) {
		free(st);
		return r;
	}
	if (!st)
		return drover_fail(err, -ENOMEM, "rbd storage '%s': out of memory", p->id);
	snprintf(client, sizeof(client), "client.%s", username(p));
	r = rados_create2(&st->cluster, "ceph", client, 0);
	if (r < 0) {
		free(st);
		return drover_fail(err, r, "rbd storage '%s': rados_create2: %s", p->id,
				   strerror(-r));
	}
	r = configure(st->cluster, p, err);
	if (r == 0) {
		r = rados_connect(st->cluster);
		if (r < 0)
			drover_fail(err, r,
				    "rbd storage '%s': connecting to Ceph at %s as %s: %s%s", p->id,
				    p->monhost[0] ? p->monhost : "(ceph.conf's monitors)", client,
				    strerror(-r), connect_hint(p, r));
	}
	if (r == 0) {
		r = rados_ioctx_create(st->cluster, p->pool, &st->io);
		if (r == -ENOENT)
			drover_fail(err, r, "rbd storage '%s': pool '%s' does not exist", p->id,
				    p->pool);
		else if (r < 0)
			drover_fail(err, r, "rbd storage '%s': opening pool '%s': %s", p->id,
				    p->pool, strerror(-r));
	}
	if (r < 0) {
		rados_shutdown(st->cluster);
		free(st);
		return r;
	}
	s->priv = st;
	return 0;
}

static void rbd_close_store(struct storage *s)
{
	struct rbd_store *st = rbd_store_of(s);

	if (!st)
		return;
	rados_ioctx_destroy(st->io);
	rados_shutdown(st->cluster);
	free(st);
	s->priv = NULL;
}

/* ---- status ------------------------------------------------------------- */

static uint64_t json_u64(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? (uint64_t)json_object_get_int64(v) : 0;
}

/* The pool's usage from the monitors' `df` (what `ceph df` shows): used and max_avail. */
static int pool_usage(struct storage *s, uint64_t *used, uint64_t *avail, struct drover_err *err)
{
	const char *cmd[] = { "{\"prefix\": \"df\", \"format\": \"json\"}" };
	char *out = NULL, *outs = NULL;
	size_t out_len = 0, outs_len = 0;
	json_tokener *tok;
	json_object *root = NULL, *pools;
	int r;

	r = rados_mon_command(rbd_store_of(s)->cluster, cmd, 1, "", 0, &out, &out_len, &outs,
			      &outs_len);
	if (r < 0) {
		drover_fail(err, r, "rbd storage '%s': ceph df: %s%s%.*s", s->props.id,
			    strerror(-r), outs_len ? ": " : "", (int)MIN(outs_len, 200), outs);
		goto out;
	}
	tok = json_tokener_new();
	if (tok) {
		root = json_tokener_parse_ex(tok, out, (int)MIN(out_len, (size_t)INT32_MAX));
		json_tokener_free(tok);
	}
	r = -EBADMSG;
	if (!root || !json_object_object_get_ex(root, "pools", &pools) ||
	    !json_object_is_type(pools, json_type_array)) {
		drover_fail(err, r, "rbd storage '%s': ceph df: unexpected answer", s->props.id);
		goto out;
	}
	r = -ENOENT;
	for (size_t i = 0; i < json_object_array_length(pools); i++) {
		json_object *pool = json_object_array_get_idx(pools, i), *name, *stats;

		if (!json_object_object_get_ex(pool, "name", &name) ||
		    !streq(json_object_get_string(name), s->props.pool) ||
		    !json_object_object_get_ex(pool, "stats", &stats))
			continue;
		*avail = json_u64(stats, "max_avail");
		*used = json_object_object_get_ex(stats, "stored", NULL)
				? json_u64(stats, "stored")
				: json_u64(stats, "bytes_used");
		r = 0;
	}
	if (r < 0)
		drover_fail(err, r, "rbd storage '%s': ceph df does not list pool '%s'",
			    s->props.id, s->props.pool);
out:
	json_object_put(root);
	rados_buffer_free(out);
	rados_buffer_free(outs);
	return r;
}

static int rbd_status(struct storage *s, struct storage_status *stat, struct drover_err *err)
{
	uint64_t used = 0, avail = 0;
	int r = pool_usage(s, &used, &avail, err);

	memset(stat, 0, sizeof(*stat));
	if (r < 0)
		return r;
	stat->used = used;
	stat->avail = avail;
	stat->total = used + avail;
	stat->active = true;
	return 0;
}

/* ---- images ------------------------------------------------------------- */

/* The names of all images in the pool, as an array the caller frees with free_names. */
static int image_names(struct storage *s, rbd_image_spec_t **out, size_t *n, struct drover_err *err)
{
	size_t max = 64;
	rbd_image_spec_t *specs = NULL;
	int r;

	/*
	 * Not a growth loop (no ARRAY_GROW): librbd says how many images there
	 * are (it sets max and returns -ERANGE), and the list is sized to that.
	 */
	for (;;) {
		rbd_image_spec_t *more = realloc(specs, max * sizeof(*specs));

		if (!more) {
			free(specs);
			return drover_fail(err, -ENOMEM, "rbd: out of memory");
		}
		specs = more;
		r = rbd_list2(rbd_store_of(s)->io, specs, &max);
		if (r != -ERANGE)
			break;
	}
	if (r < 0) {
		free(specs);
		return drover_fail(err, r, "rbd: listing pool %s: %s", s->props.pool, strerror(-r));
	}
	*out = specs;
	*n = max;
	return 0;
}

static void free_names(rbd_image_spec_t *specs, size_t n)
{
	if (specs)
		rbd_image_spec_list_cleanup(specs, n);
	free(specs);
}

int rbd_free_name(struct storage *s, unsigned vmid, char *out, size_t len, struct drover_err *err)
{
	rbd_image_spec_t *specs;
	size_t n;
	int r = image_names(s, &specs, &n, err);

	if (r < 0)
		return r;
	r = -ENOSPC;
	for (unsigned k = 0; k < 100000 && r == -ENOSPC; k++) {
		char base[64];
		bool used = false;

		snprintf(out, len, "vm-%u-disk-%u", vmid, k);
		snprintf(base, sizeof(base), "base-%u-disk-%u", vmid, k);
		for (size_t i = 0; i < n && !used; i++)
			used = streq(specs[i].name, out) || streq(specs[i].name, base);
		if (!used)
			r = 0;
	}
	free_names(specs, n);
	if (r < 0)
		return drover_fail(err, r, "rbd: no free disk name for VM %u", vmid);
	return 0;
}

static int rbd_alloc(struct storage *s, const struct storage_alloc_req *req, char *volname,
		     size_t len, struct drover_err *err)
{
	rbd_image_options_t opts;
	int r;

	if (req->format != STORAGE_VOLFORMAT_RAW)
		return drover_fail(err, -EINVAL, "rbd storage '%s' holds raw volumes only",
				   s->props.id);
	if (req->name) {
		if ((size_t)snprintf(volname, len, "%s", req->name) >= len)
			return drover_fail(err, -ENAMETOOLONG, "rbd: name too long");
	} else {
		r = rbd_free_name(s, req->vmid, volname, len, err);
		if (r < 0)
			return r;
	}
	/* format 2 and the cluster's default features (layering, exclusive-lock, ...) */
	rbd_image_options_create(&opts);
	r = rbd_create4(rbd_store_of(s)->io, volname, req->size, opts);
	rbd_image_options_destroy(opts);
	if (r == -EEXIST)
		return drover_fail(err, r, "rbd: %s/%s exists already", s->props.pool, volname);
	if (r < 0)
		return drover_fail(err, r, "rbd: creating %s/%s: %s", s->props.pool, volname,
				   strerror(-r));
	return 0;
}

int rbd_image_remove(struct storage *s, const char *name, struct drover_err *err)
{
	rbd_snap_info_t *snaps = NULL;
	rbd_image_t img;
	int n = 0, r;

	r = rbd_image_open(s, name, NULL, false, &img, err);
	if (r < 0)
		return r;
	/* before any snapshot goes: a guest's disk stays whole */
	r = rbd_image_in_use(img);
	if (r > 0)
		r = drover_fail(err, -EBUSY,
				"rbd: removing %s/%s: the image is in use (it has watchers)",
				s->props.pool, name);
	else if (r == 0)
		r = rbd_snap_infos(img, &snaps, &n);
	if (r < 0 && r != -EBUSY)
		drover_fail(err, r, "rbd: listing the snapshots of %s/%s: %s", s->props.pool, name,
			    strerror(-r));
	for (int i = 0; r == 0 && i < n; i++)
		r = rbd_snap_remove_with_ident(img, name, snaps[i].name, err);
	rbd_snap_infos_free(snaps);
	rbd_close(img);
	if (r < 0)
		return r;
	r = rbd_remove(rbd_store_of(s)->io, name);
	if (r == -EBUSY)
		return drover_fail(err, r,
				   "rbd: removing %s/%s: the image is in use (it has watchers)",
				   s->props.pool, name);
	if (r < 0 && r != -ENOENT)
		return drover_fail(err, r, "rbd: removing %s/%s: %s", s->props.pool, name,
				   strerror(-r));
	return 0;
}

static int rbd_free_volume(struct storage *s, const char *volname, struct drover_err *err)
{
	return rbd_image_remove(s, volname, err);
}

static int image_size(struct storage *s, const char *name, uint64_t *size, struct drover_err *err)
{
	rbd_image_t img;
	int r = rbd_image_open(s, name, NULL, true, &img, err);

	if (r < 0)
		return r;
	r = rbd_get_size(img, size);
	rbd_close(img);
	if (r < 0)
		return drover_fail(err, r, "rbd: size of %s/%s: %s", s->props.pool, name,
				   strerror(-r));
	return 0;
}

static void volume_of(const char *name, uint64_t size, struct storage_volume *v)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->volname, sizeof(v->volname), "%s", name);
	v->vmid = rbd_name_owner(name);
	v->content = STORAGE_CONTENT_IMAGES;
	v->format = STORAGE_VOLFORMAT_RAW;
	v->size = size;
}

static int rbd_list_volumes(struct storage *s, unsigned vmid, struct storage_volume **vols,
			    size_t *nvols, struct drover_err *err)
{
	rbd_image_spec_t *specs;
	struct storage_volume *out;
	size_t n, k = 0;
	int r = image_names(s, &specs, &n, err);

	if (r < 0)
		return r;
	out = calloc(n ? n : 1, sizeof(*out));
	if (!out) {
		free_names(specs, n);
		return drover_fail(err, -ENOMEM, "rbd: out of memory");
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		unsigned owner = rbd_name_owner(specs[i].name);
		uint64_t size;

		/* only drover's volumes; an image removed meanwhile is no error */
		if (!owner || (vmid && owner != vmid))
			continue;
		r = image_size(s, specs[i].name, &size, err);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r == 0)
			volume_of(specs[i].name, size, &out[k++]);
	}
	free_names(specs, n);
	if (r < 0) {
		free(out);
		return r;
	}
	*vols = out;
	*nvols = k;
	return 0;
}

static int rbd_info(struct storage *s, const char *volname, struct storage_volume *v,
		    struct drover_err *err)
{
	uint64_t size;
	int r = image_size(s, volname, &size, err);

	if (r < 0)
		return r;
	volume_of(volname, size, v);
	return 0;
}

/* Append text to out with QEMU's rbd: escapes (a backslash before ':', '@', '=' and '\'). */
static int uri_put(char *out, size_t len, size_t *n, const char *text, bool escape)
{
	for (const char *p = text; *p; p++) {
		bool esc = escape && strchr(":@=\\", *p);

		if (*n + 2 + esc >= len)
			return -ENAMETOOLONG;
		if (esc)
			out[(*n)++] = '\\';
		out[(*n)++] = *p;
	}
	out[*n] = '\0';
	return 0;
}

/*
 * "rbd:POOL/IMAGE[@SNAP]:mon_host=A;B:auth_client_required=cephx:id=USER:keyring=PATH",
 * the file name QEMU 7.2's rbd driver parses (block/rbd.c: options after the
 * image are librados settings, "id" the user, monitors separated by ';').
 */
static int rbd_path(struct storage *s, const char *volname, const char *snap, char *out, size_t len,
		    struct drover_err *err)
{
	const struct storage_props *p = &s->props;
	char mons[sizeof(p->monhost)];
	size_t n = 0;
	int r;

	r = uri_put(out, len, &n, "rbd:", false);
	if (r == 0)
		r = uri_put(out, len, &n, p->pool, true);
	if (r == 0)
		r = uri_put(out, len, &n, "/", false);
	if (r == 0)
		r = uri_put(out, len, &n, volname, true);
	if (r == 0 && snap) {
		r = uri_put(out, len, &n, "@", false);
		if (r == 0)
			r = uri_put(out, len, &n, snap, true);
	}
	if (r == 0 && p->monhost[0]) {
		r = monhost_list(p->monhost, mons, sizeof(mons));
		for (char *c = mons; r == 0 && *c; c++)
			if (*c == ',')
				*c = ';';
		if (r == 0)
			r = uri_put(out, len, &n, ":mon_host=", false);
		if (r == 0)
			r = uri_put(out, len, &n, mons, true);
	}
	if (r == 0)
		r = uri_put(out, len, &n,
			    keyring_usable(p) ? ":auth_client_required=cephx:id="
			    : p->monhost[0]   ? ":auth_client_required=none:id="
					      : ":id=",
			    false);
	if (r == 0)
		r = uri_put(out, len, &n, username(p), true);
	if (r == 0 && keyring_usable(p)) {
		r = uri_put(out, len, &n, ":keyring=", false);
		if (r == 0)
			r = uri_put(out, len, &n, p->keyring, true);
	}
	if (r < 0)
		return drover_fail(err, r, "rbd: the path of %s/%s is too long", p->pool, volname);
	return 0;
}

static int rbd_resize_volume(struct storage *s, const char *volname, uint64_t size,
			     struct drover_err *err)
{
	rbd_image_t img;
	uint64_t cur;
	int r = rbd_image_open(s, volname, NULL, false, &img, err);

	if (r < 0)
		return r;
	r = rbd_get_size(img, &cur);
	if (r == 0 && size < cur)
		r = drover_fail(err, -EINVAL,
				"rbd: %s/%s: shrinking from %" PRIu64 " to %" PRIu64
				" bytes is refused",
				s->props.pool, volname, cur, size);
	else if (r == 0 && size > cur) {
		r = rbd_resize2(img, size, false, rbd_no_progress, NULL);
		if (r < 0)
			drover_fail(err, r, "rbd: resizing %s/%s: %s", s->props.pool, volname,
				    strerror(-r));
	} else if (r < 0) {
		drover_fail(err, r, "rbd: size of %s/%s: %s", s->props.pool, volname, strerror(-r));
	}
	rbd_close(img);
	return r;
}

/* ---- streams ------------------------------------------------------------- */

static unsigned rbd_export_formats(struct storage *s, const char *volname,
				   const struct storage_export_opts *o)
{
	unsigned f = 1u << STORAGE_FORMAT_RBD_DIFF;

	/* raw+size carries one state of the volume: no base, no snapshots */
	if (!o->base && !o->with_snapshots)
		f |= 1u << STORAGE_FORMAT_RAW_SIZE;
	return f;
}

static unsigned rbd_import_formats(struct storage *s, const char *volname,
				   const struct storage_import_opts *o)
{
	unsigned f = 1u << STORAGE_FORMAT_RBD_DIFF;

	if (!o->base && !o->with_snapshots)
		f |= 1u << STORAGE_FORMAT_RAW_SIZE;
	return f;
}

/* The cluster (its fsid) and the pool (its id, never reused by a cluster): where the data is. */
static int rbd_location(struct storage *s, char *out, size_t len, struct drover_err *err)
{
	struct rbd_store *st = rbd_store_of(s);
	char fsid[64];
	int r = rados_cluster_fsid(st->cluster, fsid, sizeof(fsid));

	if (r < 0)
		return drover_fail(err, r, "rbd storage '%s': the cluster's fsid: %s", s->props.id,
				   strerror(-r));
	fsid[MIN((size_t)r, sizeof(fsid) - 1)] = '\0';
	if ((size_t)snprintf(out, len, "rbd:%s/%" PRId64, fsid, rados_ioctx_get_id(st->io)) >= len)
		return drover_fail(err, -ENAMETOOLONG, "rbd storage '%s': location too long",
				   s->props.id);
	return 0;
}

const struct storage_plugin storage_plugin_rbd = {
	.type = "rbd",
	/* a container root would need a mapped block device: krbd, which drover leaves out */
	.content = STORAGE_CONTENT_IMAGES,
	.snapshots = true,
	.check = rbd_check,
	.open = rbd_open_store,
	.close = rbd_close_store,
	.status = rbd_status,
	.alloc = rbd_alloc,
	.free = rbd_free_volume,
	.list = rbd_list_volumes,
	.info = rbd_info,
	.path = rbd_path,
	.resize = rbd_resize_volume,
	.snapshot_create = rbd_snapshot_create,
	.snapshot_delete = rbd_snapshot_delete,
	.snapshot_rollback = rbd_snapshot_rollback,
	.snapshot_list = rbd_snapshot_list,
	.export_formats = rbd_export_formats,
	.import_formats = rbd_import_formats,
	.export = rbd_export,
	.import = rbd_import,
	.location = rbd_location,
};
