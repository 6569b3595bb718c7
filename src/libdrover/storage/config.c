/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "libdrover/format/names.h"

#define WHY_MAX 256

enum {
	T_DIR = 1u << 0,
	T_BTRFS = 1u << 1,
	T_RBD = 1u << 2,
	T_ZFSPOOL = 1u << 3,
	T_LVMTHIN = 1u << 4,
	T_ALL = 0x1f,
};

#define C_IMG STORAGE_CONTENT_IMAGES
#define C_CT STORAGE_CONTENT_ROOTDIR
#define C_ISO STORAGE_CONTENT_ISO
#define C_TMPL STORAGE_CONTENT_VZTMPL

static const struct storage_type {
	const char *name;
	unsigned bit;
	unsigned content; /* what it may hold */
	unsigned default_content;
} types[] = {
	{ "dir", T_DIR, C_IMG | C_CT | C_ISO | C_TMPL, C_IMG | C_CT },
	{ "btrfs", T_BTRFS, C_IMG | C_CT, C_IMG | C_CT },
	{ "rbd", T_RBD, C_IMG | C_CT, C_IMG },
	{ "zfspool", T_ZFSPOOL, C_IMG | C_CT, C_IMG | C_CT },
	{ "lvmthin", T_LVMTHIN, C_IMG | C_CT, C_IMG | C_CT },
};

static const char *const content_names[] = { "images", "rootdir", "iso", "vztmpl" };

static const struct storage_type *type_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (streq(types[i].name, name))
			return &types[i];
	return NULL;
}

bool storage_type_known(const char *type)
{
	return type_find(type) != NULL;
}

bool storage_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n >= STORAGE_ID_MAX || id[0] < 'a' || id[0] > 'z')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') ||
		      id[i] == '-' || id[i] == '_' || id[i] == '.'))
			return false;
	return id[n - 1] != '-' && id[n - 1] != '_' && id[n - 1] != '.';
}

void storage_content_format(unsigned content, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(content_names); i++)
		if (content & (1u << i))
			used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s%s",
						 used ? "," : "", content_names[i]);
}

/* Each key: which types have it, how its value is read, whether set may change it. */
struct key {
	const char *name;
	unsigned types;
	bool required;
	bool fixed; /* set cannot change it: the data lives there */
	int (*parse)(struct storage_props *p, const char *v, char *why);
};

static int why_fail(char *why, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int why_fail(char *why, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, WHY_MAX, fmt, ap);
	va_end(ap);
	return r;
}

static int copy_value(char *dst, size_t len, const char *v, char *why)
{
	if (strlen(v) >= len)
		return why_fail(why, -EINVAL, "longer than %zu characters", len - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int parse_bool(const char *v, bool *out, char *why)
{
	static const char *const yes[] = { "1", "on", "yes", "true" };
	static const char *const no[] = { "0", "off", "no", "false" };

	if (!v) {
		*out = true; /* a bare flag */
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (streq(v, yes[i]))
			return *out = true, 0;
		if (streq(v, no[i]))
			return *out = false, 0;
	}
	return why_fail(why, -EINVAL, "'%.60s' is not a boolean (0 or 1)", v);
}

static int need_value(const char *v, char *why)
{
	if (v)
		return 0;
	why_fail(why, -EINVAL, "needs a value");
	return -EINVAL;
}

static int p_path(struct storage_props *p, const char *v, char *why)
{
	int r = need_value(v, why);

	if (r < 0)
		return r;
	if (v[0] != '/' || streq(v, "/"))
		return why_fail(why, -EINVAL, "'%.80s' is not an absolute directory path", v);
	for (const char *s = v; *s; s++) {
		if (s[0] == '/' && s[1] == '.' && s[2] == '.' && (s[3] == '/' || !s[3]))
			return why_fail(why, -EINVAL, "'%.80s' has a '..' component", v);
		if ((unsigned char)*s < 0x20 || *s == ',' || *s == ';')
			return why_fail(why, -EINVAL, "'%.80s' has a control character, ',' or ';'",
					v);
	}
	return copy_value(p->path, sizeof(p->path), v, why);
}

static int p_content(struct storage_props *p, const char *v, char *why)
{
	const struct storage_type *t = type_find(p->type);
	char list[256], *save = NULL;
	unsigned mask = 0;
	int r = need_value(v, why);

	if (r == 0)
		r = copy_value(list, sizeof(list), v, why);
	if (r < 0)
		return r;
	for (char *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(content_names); i++)
			if (streq(c, content_names[i]))
				break;
		if (i == ARRAY_SIZE(content_names))
			return why_fail(
				why, -EINVAL,
				"'%.40s' is not a content type (images, rootdir, iso, vztmpl)", c);
		if (!(t->content & (1u << i)))
			return why_fail(why, -EINVAL, "a %s storage cannot hold %s", t->name, c);
		mask |= 1u << i;
	}
	if (!mask)
		return why_fail(why, -EINVAL, "no content type given");
	p->content = mask;
	return 0;
}

static int p_shared(struct storage_props *p, const char *v, char *why)
{
	return parse_bool(v, &p->shared, why);
}

static int p_disable(struct storage_props *p, const char *v, char *why)
{
	return parse_bool(v, &p->disable, why);
}

static int p_sparse(struct storage_props *p, const char *v, char *why)
{
	return parse_bool(v, &p->sparse, why);
}

static int p_krbd(struct storage_props *p, const char *v, char *why)
{
	bool krbd;
	int r = parse_bool(v, &krbd, why);

	if (r == 0 && krbd)
		return why_fail(
			why, -EINVAL,
			"only 0: drover reaches Ceph through librbd, not the kernel RBD client");
	return r;
}

static int p_nodes(struct storage_props *p, const char *v, char *why)
{
	char *list, *save = NULL;
	size_t n = 0;
	char **nodes;
	int r = need_value(v, why);

	if (r < 0)
		return r;
	list = strdup(v);
	nodes = calloc(strlen(v) / 2 + 2, sizeof(*nodes));
	if (!list || !nodes) {
		free(list);
		free(nodes);
		return why_fail(why, -ENOMEM, "out of memory");
	}
	for (char *c = strtok_r(list, ",", &save); c && r == 0; c = strtok_r(NULL, ",", &save)) {
		if (!node_name_valid(c))
			r = why_fail(why, -EINVAL, "'%.63s' is not a node name", c);
		else if (!(nodes[n++] = strdup(c)))
			r = why_fail(why, -ENOMEM, "out of memory");
	}
	free(list);
	if (r == 0 && n == 0)
		r = why_fail(why, -EINVAL, "no node given");
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			free(nodes[i]);
		free(nodes);
		return r;
	}
	if (p->nodes)
		for (char **q = p->nodes; *q; q++)
			free(*q);
	free(p->nodes);
	p->nodes = nodes;
	return 0;
}

static int p_format(struct storage_props *p, const char *v, char *why)
{
	int r = need_value(v, why);

	if (r < 0)
		return r;
	if (streq(v, "raw"))
		p->default_format = STORAGE_VOLFORMAT_RAW;
	else if (streq(v, "qcow2"))
		p->default_format = STORAGE_VOLFORMAT_QCOW2;
	else
		return why_fail(why, -EINVAL, "'%.40s' is not raw or qcow2", v);
	return 0;
}

/* A name that becomes part of a command or a path: no blanks, no '/', no leading '-'. */
static int plain_name(const char *v, char *why)
{
	int r = need_value(v, why);

	if (r < 0)
		return r;
	if (v[0] == '-' || !v[0])
		return why_fail(why, -EINVAL, "'%.60s' may not start with '-'", v);
	for (const char *s = v; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("-_.+", *s)))
			return why_fail(
				why, -EINVAL,
				"'%.60s' has a character other than a-z, A-Z, 0-9, '-', '_', '.', '+'",
				v);
	return 0;
}

static int p_pool(struct storage_props *p, const char *v, char *why)
{
	int r = need_value(v, why);

	if (r < 0)
		return r;
	/* zfs pools nest datasets: "rpool/data" */
	for (const char *s = v; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("-_.:/", *s)))
			return why_fail(
				why, -EINVAL,
				"'%.60s' has a character other than a-z, A-Z, 0-9, '-', '_', '.', ':', '/'",
				v);
	if (v[0] == '-' || v[0] == '/' || !v[0] || v[strlen(v) - 1] == '/' || strstr(v, "//") ||
	    strstr(v, ".."))
		return why_fail(why, -EINVAL, "'%.60s' is not a pool name", v);
	if (streq(p->type, "rbd") && strchr(v, '/'))
		return why_fail(why, -EINVAL, "a Ceph pool name has no '/'");
	return copy_value(p->pool, sizeof(p->pool), v, why);
}

static int p_monhost(struct storage_props *p, const char *v, char *why)
{
	int r = need_value(v, why);

	if (r < 0)
		return r;
	for (const char *s = v; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("-_.:[]/,; ", *s)))
			return why_fail(why, -EINVAL, "'%.60s' is not a list of monitor addresses",
					v);
	return copy_value(p->monhost, sizeof(p->monhost), v, why);
}

static int p_username(struct storage_props *p, const char *v, char *why)
{
	int r = plain_name(v, why);

	return r < 0 ? r : copy_value(p->username, sizeof(p->username), v, why);
}

static int p_blocksize(struct storage_props *p, const char *v, char *why)
{
	char up[16];
	uint64_t n;
	size_t len;
	int r = need_value(v, why);

	if (r < 0)
		return r;
	/* zfs writes "16k": the suffix in either case */
	len = strlen(v);
	if (len == 0 || len >= sizeof(up))
		return why_fail(why, -EINVAL, "'%.40s' is not a block size (4k to 1M)", v);
	memcpy(up, v, len + 1);
	if (up[len - 1] == 'k' || up[len - 1] == 'm')
		up[len - 1] = (char)(up[len - 1] - 'a' + 'A');
	if (parse_size(up, &n) < 0 || n < 512 || n > (1u << 20) || (n & (n - 1)))
		return why_fail(why, -EINVAL, "'%.40s' is not a power of two from 512 to 1M", v);
	return copy_value(p->blocksize, sizeof(p->blocksize), v, why);
}

static int p_vgname(struct storage_props *p, const char *v, char *why)
{
	int r = plain_name(v, why);

	return r < 0 ? r : copy_value(p->vgname, sizeof(p->vgname), v, why);
}

static int p_thinpool(struct storage_props *p, const char *v, char *why)
{
	int r = plain_name(v, why);

	return r < 0 ? r : copy_value(p->thinpool, sizeof(p->thinpool), v, why);
}

/* In the order add writes them: disable, the fixed keys, the rest (each sorted). */
static const struct key keys[] = {
	{ "disable", T_ALL, false, false, p_disable },
	{ "path", T_DIR | T_BTRFS, true, true, p_path },
	{ "pool", T_RBD | T_ZFSPOOL, true, true, p_pool },
	{ "thinpool", T_LVMTHIN, true, true, p_thinpool },
	{ "vgname", T_LVMTHIN, true, true, p_vgname },
	{ "blocksize", T_ZFSPOOL, false, false, p_blocksize },
	{ "content", T_ALL, false, false, p_content },
	{ "format", T_DIR, false, false, p_format },
	{ "krbd", T_RBD, false, false, p_krbd },
	{ "monhost", T_RBD, false, false, p_monhost },
	{ "nodes", T_ALL, false, false, p_nodes },
	{ "shared", T_DIR | T_RBD, false, false, p_shared },
	{ "sparse", T_ZFSPOOL, false, false, p_sparse },
	{ "username", T_RBD, false, false, p_username },
};

static const struct key *key_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (streq(keys[i].name, name))
			return &keys[i];
	return NULL;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "content, disable, nodes, path, shared": the keys a type has, for errors. */
static void keys_of(const struct storage_type *t, char *out, size_t len)
{
	const char *names[ARRAY_SIZE(keys)];
	size_t n = 0, used = 0;

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (keys[i].types & t->bit)
			names[n++] = keys[i].name;
	qsort(names, n, sizeof(names[0]), name_cmp);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s%s",
					 i ? ", " : "", names[i]);
}

static void props_free(struct storage_props *p)
{
	if (p->nodes)
		for (char **q = p->nodes; *q; q++)
			free(*q);
	free(p->nodes);
	p->nodes = NULL;
}

/*
 * Keys that are fine alone but not together. An rbd storage with shared 0
 * is a cluster of each node's own (replication copies its volumes from one
 * to another), found through the node's /etc/ceph/ceph.conf. A monhost
 * names the same monitors for every node, so with it "shared 0" would have
 * replication write a guest's disks onto the very cluster they come from:
 * refused rather than trusted.
 */
static int check_combination(const struct sc_section *s, const struct storage_type *t,
			     const struct storage_props *p, const char *filename,
			     struct drover_err *err)
{
	const struct sc_prop *kv = sc_prop(s, "shared");

	if (t->bit != T_RBD || p->shared || !p->monhost[0])
		return 0;
	return filename
		       ? drover_fail(
				 err, -EINVAL,
				 "%s:%u: shared: 0 needs each node's own Ceph cluster, found through its "
				 "/etc/ceph/ceph.conf; a monhost names the same monitors for every node "
				 "(remove monhost, or set shared 1)",
				 filename, kv ? kv->line : s->line)
		       : drover_fail(
				 err, -EINVAL,
				 "--shared 0 needs each node's own Ceph cluster, found through its "
				 "/etc/ceph/ceph.conf; --monhost names the same monitors for every node "
				 "(delete monhost, or set shared 1)");
}

/*
 * Check one section into p. where: "storage.cfg:12" or NULL (then errors
 * name the option: "--path").
 */
static int check_section(const struct sc_section *s, const char *filename, struct storage_props *p,
			 struct drover_err *err)
{
	const struct storage_type *t = type_find(s->type);
	char why[WHY_MAX], list[256];
	int r;

	memset(p, 0, sizeof(*p));
	if (!t)
		return filename
			       ? drover_fail(
					 err, -EINVAL,
					 "%s:%u: unknown storage type '%s' (dir, btrfs, rbd, zfspool, lvmthin)",
					 filename, s->line, s->type)
			       : drover_fail(
					 err, -EINVAL,
					 "unknown storage type '%s' (dir, btrfs, rbd, zfspool, lvmthin)",
					 s->type);
	if (!storage_id_valid(s->id))
		return filename
			       ? drover_fail(
					 err, -EINVAL,
					 "%s:%u: '%s' is not a storage ID (a-z, 0-9, '-', '_', '.', starting with a letter, at most %d)",
					 filename, s->line, s->id, STORAGE_ID_MAX - 1)
			       : drover_fail(
					 err, -EINVAL,
					 "'%s' is not a storage ID (a-z, 0-9, '-', '_', '.', starting with a letter, at most %d)",
					 s->id, STORAGE_ID_MAX - 1);
	snprintf(p->type, sizeof(p->type), "%s", t->name);
	snprintf(p->id, sizeof(p->id), "%s", s->id);
	p->content = t->default_content;
	p->default_format = STORAGE_VOLFORMAT_RAW;
	/* Proxmox counts every rbd storage as shared: one cluster behind all nodes */
	p->shared = t->bit == T_RBD;
	snprintf(p->username, sizeof(p->username), "admin");
	for (size_t i = 0; i < s->n; i++) {
		const struct sc_prop *kv = &s->props[i];
		const struct key *k = key_find(kv->key);

		if (!k || !(k->types & t->bit)) {
			keys_of(t, list, sizeof(list));
			r = filename ? drover_fail(err, -EINVAL,
						   "%s:%u: unknown key '%s' for a %s storage (%s)",
						   filename, kv->line, kv->key, t->name, list)
				     : drover_fail(err, -EINVAL,
						   "--%s: not a key of a %s storage (%s)", kv->key,
						   t->name, list);
			goto fail;
		}
		r = k->parse(p, kv->value, why);
		if (r < 0) {
			r = filename ? drover_fail(err, r, "%s:%u: %s: %s", filename, kv->line,
						   kv->key, why)
				     : drover_fail(err, r, "--%s: %s", kv->key, why);
			goto fail;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (!keys[i].required || !(keys[i].types & t->bit) || sc_prop(s, keys[i].name))
			continue;
		r = filename ? drover_fail(err, -EINVAL, "%s:%u: %s storage '%s' has no %s",
					   filename, s->line, t->name, s->id, keys[i].name)
			     : drover_fail(err, -EINVAL, "a %s storage needs --%s", t->name,
					   keys[i].name);
		goto fail;
	}
	r = check_combination(s, t, p, filename, err);
	if (r < 0)
		goto fail;
	return 0;
fail:
	props_free(p);
	return r;
}

void storage_cfg_free(struct storage_cfg *cfg)
{
	for (size_t i = 0; i < cfg->n; i++)
		props_free(&cfg->stores[i]);
	free(cfg->stores);
	sc_free(&cfg->file);
	memset(cfg, 0, sizeof(*cfg));
}

/* Check every section of cfg->file into a new cfg->stores. */
static int check_all(struct storage_cfg *cfg, const char *filename, struct drover_err *err)
{
	struct storage_props *stores = calloc(cfg->file.n + 1, sizeof(*stores));
	int r = 0;

	if (!stores)
		return drover_fail(err, -ENOMEM, "out of memory");
	for (size_t i = 0; r == 0 && i < cfg->file.n; i++) {
		r = check_section(&cfg->file.sections[i], filename, &stores[i], err);
		if (r < 0)
			for (size_t k = 0; k < i; k++)
				props_free(&stores[k]);
	}
	if (r < 0) {
		free(stores);
		return r;
	}
	for (size_t i = 0; i < cfg->n; i++)
		props_free(&cfg->stores[i]);
	free(cfg->stores);
	cfg->stores = stores;
	cfg->n = cfg->file.n;
	return 0;
}

int storage_cfg_parse(const char *text, size_t len, const char *filename, struct storage_cfg *cfg,
		      struct drover_err *err)
{
	int r;

	memset(cfg, 0, sizeof(*cfg));
	r = sc_parse(text, len, filename, &cfg->file, err);
	if (r == 0)
		r = check_all(cfg, filename, err);
	if (r < 0) {
		storage_cfg_free(cfg);
		return r;
	}
	sha1_hex(text, len, cfg->digest);
	return 0;
}

int storage_cfg_default(struct storage_cfg *cfg)
{
	static const char text[] = "dir: " STORAGE_LOCAL_ID "\n"
				   "\tpath " STORAGE_LOCAL_PATH "\n"
				   "\tcontent images,rootdir,iso,vztmpl\n"
				   "\n";
	/* its digest is that of the text it stands for: an edit can name it */
	return storage_cfg_parse(text, sizeof(text) - 1, "(built-in)", cfg, NULL);
}

int storage_cfg_write(const struct storage_cfg *cfg, struct buf *out)
{
	return sc_write(&cfg->file, out);
}

const struct storage_props *storage_cfg_find(const struct storage_cfg *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->n; i++)
		if (streq(cfg->stores[i].id, id))
			return &cfg->stores[i];
	return NULL;
}

bool storage_props_on_node(const struct storage_props *p, const char *node)
{
	if (p->disable)
		return false;
	if (!p->nodes)
		return true;
	for (char **q = p->nodes; *q; q++)
		if (streq(*q, node))
			return true;
	return false;
}

/* Position of key k in the canonical order (unknown keys last). */
static size_t key_rank(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (streq(keys[i].name, name))
			return i;
	return ARRAY_SIZE(keys);
}

static int prop_cmp(const void *a, const void *b)
{
	const struct sc_prop *x = a, *y = b;
	size_t rx = key_rank(x->key), ry = key_rank(y->key);

	return rx != ry ? (rx < ry ? -1 : 1) : strcmp(x->key, y->key);
}

/* "key=value" or "key" into section s. */
static int apply_set(struct sc_section *s, const char *kv, struct drover_err *err)
{
	const char *eq = strchr(kv, '=');
	char key[64];
	size_t n = eq ? (size_t)(eq - kv) : strlen(kv);

	if (n == 0 || n >= sizeof(key))
		return drover_fail(err, -EINVAL, "'%.60s' is not KEY=VALUE", kv);
	memcpy(key, kv, n);
	key[n] = '\0';
	if (!sc_name_valid(key))
		return drover_fail(err, -EINVAL, "'%.60s' is not a key name", key);
	if (eq && !eq[1])
		return drover_fail(err, -EINVAL, "--%s: needs a value", key);
	return sc_set(s, key, eq ? eq + 1 : NULL) < 0 ? drover_fail(err, -ENOMEM, "out of memory")
						      : 0;
}

/* Check the edited copy and, if it holds, make it cfg's file. */
static int commit(struct storage_cfg *cfg, struct sc_file *edited, struct drover_err *err)
{
	struct storage_cfg next = { .file = *edited };
	int r = check_all(&next, NULL, err);

	if (r < 0) {
		sc_free(edited);
		return r;
	}
	for (size_t i = 0; i < cfg->n; i++)
		props_free(&cfg->stores[i]);
	free(cfg->stores);
	sc_free(&cfg->file);
	cfg->file = next.file;
	cfg->stores = next.stores;
	cfg->n = next.n;
	return 0;
}

int storage_cfg_add(struct storage_cfg *cfg, const char *type, const char *id, char *const set[],
		    size_t nset, struct drover_err *err)
{
	struct sc_file f;
	struct sc_section *s;
	int r;

	if (!type_find(type))
		return drover_fail(err, -EINVAL,
				   "unknown storage type '%s' (dir, btrfs, rbd, zfspool, lvmthin)",
				   type);
	if (!storage_id_valid(id))
		return drover_fail(
			err, -EINVAL,
			"'%s' is not a storage ID (a-z, 0-9, '-', '_', '.', starting with a letter, at most %d)",
			id, STORAGE_ID_MAX - 1);
	if (storage_cfg_find(cfg, id))
		return drover_fail(err, -EEXIST, "storage '%s' exists already", id);
	r = sc_copy(&cfg->file, &f);
	if (r < 0)
		return drover_fail(err, r, "out of memory");
	r = sc_add(&f, type, id, &s);
	for (size_t i = 0; r == 0 && i < nset; i++)
		r = apply_set(s, set[i], err);
	if (r < 0) {
		sc_free(&f);
		return r == -ENOMEM ? drover_fail(err, r, "out of memory") : r;
	}
	qsort(s->props, s->n, sizeof(s->props[0]), prop_cmp);
	return commit(cfg, &f, err);
}

int storage_cfg_set(struct storage_cfg *cfg, const char *id, char *const set[], size_t nset,
		    char *const del[], size_t ndel, struct drover_err *err)
{
	struct sc_section *s;
	struct sc_file f;
	int r;

	if (!storage_cfg_find(cfg, id))
		return drover_fail(err, -ENOENT, "no storage '%s' in storage.cfg", id);
	r = sc_copy(&cfg->file, &f);
	if (r < 0)
		return drover_fail(err, r, "out of memory");
	s = sc_find(&f, id);
	for (size_t i = 0; r == 0 && i < nset + ndel; i++) {
		const char *item = i < nset ? set[i] : del[i - nset];
		size_t n = strcspn(item, "=");
		char key[64];
		const struct key *k;

		snprintf(key, sizeof(key), "%.*s", (int)MIN(n, sizeof(key) - 1), item);
		k = key_find(key);
		if (k && k->fixed)
			r = drover_fail(
				err, -EINVAL,
				"--%s cannot be changed (the storage's data is there): remove the storage and add it again",
				key);
		else if (i < nset)
			r = apply_set(s, item, err);
		else if (!sc_unset(s, item))
			r = drover_fail(err, -ENOENT, "--delete %s: storage '%s' has no %s", item,
					id, item);
	}
	if (r < 0) {
		sc_free(&f);
		return r;
	}
	qsort(s->props, s->n, sizeof(s->props[0]), prop_cmp);
	return commit(cfg, &f, err);
}

int storage_cfg_remove(struct storage_cfg *cfg, const char *id, struct drover_err *err)
{
	struct sc_file f;
	int r;

	if (!storage_cfg_find(cfg, id))
		return drover_fail(err, -ENOENT, "no storage '%s' in storage.cfg", id);
	r = sc_copy(&cfg->file, &f);
	if (r < 0)
		return drover_fail(err, r, "out of memory");
	sc_remove(&f, id);
	return commit(cfg, &f, err);
}
