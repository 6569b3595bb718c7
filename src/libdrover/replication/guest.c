/* SPDX-License-Identifier: MIT */
#include "guest.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/util.h"
#include "libdrover/storage/volname.h"

/* Does nodes/NODE/DIR/VMID.conf exist? */
static bool conf_exists(const struct cfs_brief *b, const char *node, enum guest_type t,
			uint32_t vmid, char *rel, size_t len)
{
	char path[PATH_MAX];

	if (guest_conf_relpath(node, t, vmid, rel, len) < 0)
		return false;
	return cfs_path(b, rel, path, sizeof(path)) == 0 && access(path, F_OK) == 0;
}

static int find_conf(const struct cfs_brief *b, struct repl_guest *g)
{
	static const enum guest_type types[] = { GUEST_QEMU, GUEST_LXC };
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (cfs_path(b, "nodes", dir, sizeof(dir)) < 0 || !(d = opendir(dir)))
		return -ENOENT;
	while ((de = readdir(d))) {
		if (!node_name_valid(de->d_name))
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
			if (!conf_exists(b, de->d_name, types[i], g->vmid, g->conf_rel,
					 sizeof(g->conf_rel)))
				continue;
			snprintf(g->node, sizeof(g->node), "%.63s", de->d_name);
			g->type = types[i];
			closedir(d);
			return 0;
		}
	}
	closedir(d);
	return -ENOENT;
}

int repl_guest_load(const struct cfs_brief *b, uint32_t vmid, struct repl_guest *g,
		    struct drover_err *err)
{
	char path[PATH_MAX];
	int r;

	memset(g, 0, sizeof(*g));
	g->vmid = vmid;
	if (find_conf(b, g) < 0)
		return drover_fail(err, -ENOENT, "guest %" PRIu32 " does not exist", vmid);
	r = cfs_path(b, g->conf_rel, path, sizeof(path));
	if (r == 0)
		r = guest_conf_load(g->type, path, &g->conf, err);
	if (r < 0)
		return drover_fail_prefix(err, r, "guest %" PRIu32, vmid);
	return 0;
}

void repl_guest_free(struct repl_guest *g)
{
	guest_conf_free(g->conf);
	g->conf = NULL;
}

static int add_volid(struct repl_guest *g, const char *volid, struct drover_err *err)
{
	size_t i = 0;

	while (i < g->n_vols && strcmp(g->volids[i], volid) < 0)
		i++;
	if (i < g->n_vols && streq(g->volids[i], volid))
		return 0;
	if (g->n_vols == REPL_VOLUMES_MAX)
		return drover_fail(err, -E2BIG, "guest %" PRIu32 " has more than %d volumes",
				   g->vmid, REPL_VOLUMES_MAX);
	memmove(g->volids[i + 1], g->volids[i], (g->n_vols - i) * sizeof(g->volids[0]));
	snprintf(g->volids[i], sizeof(g->volids[i]), "%s", volid);
	g->n_vols++;
	return 0;
}

/* One volume of a drive or mount point: replicatable, skipped, or an error. */
static int consider(struct repl_guest *g, const struct storage_cfg *scfg, const char *key,
		    const char *volume, enum guest_volume_kind kind, bool replicate,
		    struct drover_err *err)
{
	char store[GUEST_STORE_MAX], volname[STORAGE_VOLNAME_MAX];
	const struct storage_props *p;
	struct storage_volname vn;

	if (!replicate || kind == GUEST_VOLUME_NONE || kind == GUEST_VOLUME_CDROM)
		return 0;
	if (kind == GUEST_VOLUME_PATH)
		return drover_fail(err, -EINVAL,
				   "%s: unable to replicate local file/device '%s' (set "
				   "replicate=0 on it)",
				   key, volume);
	if (storage_volid_split(volume, store, sizeof(store), volname, sizeof(volname), err) < 0)
		return drover_fail_prefix(err, -EINVAL, "%s", key);
	p = storage_cfg_find(scfg, store);
	if (!p)
		return drover_fail(err, -ENOENT, "%s: storage '%s' does not exist", key, store);
	if (p->shared)
		return 0;
	if (storage_volname_parse(volname, storage_naming_of(p->type), &vn, NULL) == 0 &&
	    vn.vmid != g->vmid)
		return 0; /* not the guest's own (a template's base, another guest's) */
	return add_volid(g, volume, err);
}

int repl_section_each_volume(enum guest_type type, struct guest_section *s,
			     int (*fn)(void *ctx, const struct repl_volume_line *v,
				       struct drover_err *err),
			     void *ctx, struct drover_err *err)
{
	for (size_t i = 0; i < guest_section_size(s); i++) {
		const char *value, *key = guest_line_key(s, i, &value);
		struct repl_volume_line v = { .key = key };
		/* v points into these: they live as long as the call of fn */
		struct guest_drive d;
		struct guest_mount m;
		enum guest_bus bus;
		unsigned index;
		int r;

		if (!key)
			continue;
		if (type == GUEST_QEMU && guest_drive_key(key, &bus, &index) == 0) {
			r = guest_drive_parse(key, value, &d, err);
			if (r < 0)
				return r;
			if (d.cdrom)
				continue;
			v.volume = d.volume;
			v.kind = d.kind;
			v.replicate = d.replicate;
		} else if (type == GUEST_LXC &&
			   (streq(key, "rootfs") ||
			    (str_has_prefix(key, "mp") && key[2] >= '0' && key[2] <= '9'))) {
			r = guest_mount_parse(key, value, &m, err);
			if (r < 0)
				return r;
			v.volume = m.volume;
			v.kind = m.kind;
			v.replicate = m.replicate;
			v.shared_mount = m.shared;
		} else {
			continue;
		}
		r = fn(ctx, &v, err);
		if (r < 0)
			return r;
	}
	return 0;
}

struct volumes_ctx {
	struct repl_guest *g;
	const struct storage_cfg *scfg;
};

static int consider_line(void *ctx, const struct repl_volume_line *v, struct drover_err *err)
{
	struct volumes_ctx *c = ctx;

	return consider(c->g, c->scfg, v->key, v->volume, v->kind, v->replicate, err);
}

static int section_volumes(struct repl_guest *g, const struct storage_cfg *scfg,
			   struct guest_section *s, struct drover_err *err)
{
	struct volumes_ctx c = { g, scfg };
	int r = repl_section_each_volume(g->type, s, consider_line, &c, err);

	return r < 0 ? drover_fail_prefix(err, r, "%s", g->conf_rel) : 0;
}

int repl_guest_volumes(struct repl_guest *g, const struct storage_cfg *scfg, struct drover_err *err)
{
	int r;

	g->n_vols = 0;
	r = section_volumes(g, scfg, guest_conf_current(g->conf), err);
	for (size_t i = 0; r == 0 && i < guest_conf_snapshot_count(g->conf); i++)
		r = section_volumes(g, scfg, guest_conf_snapshot_at(g->conf, i), err);
	return r;
}
