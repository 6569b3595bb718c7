/* SPDX-License-Identifier: MIT */
/*
 * pct create: the template checked; every key checked and the VMID
 * reserved cluster-wide by writing the config with lock: create
 * (guest_conf_create: refused if the VMID is used anywhere); the root
 * volume allocated and filled from the template; then the config
 * completed and unlocked. On a failure after the reservation, the volume
 * is freed and the config removed: nothing half-made stays.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/util.h"
#include "ct_internal.h"
#include "libdrover/format/guest_net.h"
#include "libdrover/format/guest_value.h"
#include "libdrover/guest/conf_edit.h"

#define CT_MEMORY_DEFAULT "512"

struct create {
	const struct storage_env *env;
	uint32_t ctid;
	char store[STORAGE_ID_MAX];
	uint64_t size_gb;
	bool unprivileged;
	char volid[512];
	char ostype[32];
	char rel[256]; /* the config in the tree */
};

struct create_args {
	struct create *cr;
	const struct ct_kv *kv;
	size_t n;
};

/* rootfs at create: STORE:SIZE_GB, a new volume; anything else is refused with the reason. */
static int parse_rootfs(struct create *cr, const char *v, struct drover_err *err)
{
	const char *colon = strchr(v, ':');
	unsigned owner;
	uint64_t gb;

	if (!colon || colon == v || (size_t)(colon - v) >= sizeof(cr->store))
		return drover_fail(err, -EINVAL, "rootfs '%s': expected STORE:SIZE_GB", v);
	snprintf(cr->store, sizeof(cr->store), "%.*s", (int)(colon - v), v);
	if (parse_u64(colon + 1, 1u << 20, &gb) == 0 && gb > 0) {
		cr->size_gb = gb;
		return 0;
	}
	if (sscanf(colon + 1, "%*[a-z]-%u-", &owner) == 1 && owner != cr->ctid)
		return drover_fail(err, -EPERM,
				   "rootfs '%s' is a volume of VMID %u, not of CT %" PRIu32, v,
				   owner, cr->ctid);
	return drover_fail(err, -EINVAL,
			   "rootfs '%s': expected STORE:SIZE_GB (a new volume of SIZE_GB GiB)", v);
}

/* netN: its bridge must exist here; a missing hwaddr is made (guest_mac_random). */
static int set_nic(struct guest_section *cur, const char *key, const char *value,
		   struct drover_err *err)
{
	struct guest_ct_nic n;
	char path[128], mac[18], *full = NULL;
	int r;

	if (guest_ct_nic_parse(key, value, &n, err) < 0)
		return drover_fail_prefix(err, -EINVAL, "%s", key);
	if (n.bridge[0]) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", n.bridge);
		if (access(path, F_OK) < 0)
			return drover_fail(err, -ENODEV,
					   "%s: bridge '%s' does not exist on this node", key,
					   n.bridge);
	}
	if (!n.hwaddr[0]) {
		if (guest_mac_random(mac) < 0 || asprintf(&full, "%s,hwaddr=%s", value, mac) < 0)
			return drover_fail(err, -ENOMEM, "%s: no random MAC address", key);
		value = full;
	}
	r = guest_set(cur, key, value, err);
	free(full);
	return r;
}

static int build_conf(struct create *cr, const struct ct_kv *kv, size_t n, struct guest_conf *c,
		      struct drover_err *err)
{
	struct guest_section *cur = guest_conf_current(c);
	bool have_rootfs = false;
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		const char *k = kv[i].key, *v = kv[i].value;

		if (streq(k, "rootfs")) {
			r = parse_rootfs(cr, v, err);
			have_rootfs = true;
		} else if (str_has_prefix(k, "mp") || str_has_prefix(k, "unused") ||
			   streq(k, "lock") || streq(k, "parent")) {
			r = drover_fail(err, -EINVAL, "%s cannot be given at create", k);
		} else if (str_has_prefix(k, "net")) {
			r = set_nic(cur, k, v, err);
		} else {
			r = guest_set(cur, k, v, err);
		}
	}
	if (r == 0 && !have_rootfs)
		r = drover_fail(err, -EINVAL, "--rootfs STORE:SIZE_GB is required");
	if (r == 0 && !guest_get(cur, "arch"))
		r = guest_set(cur, "arch", "amd64", err);
	if (r == 0 && !guest_get(cur, "memory"))
		r = guest_set(cur, "memory", CT_MEMORY_DEFAULT, err);
	if (r == 0 && !guest_get(cur, "hostname")) {
		char host[32];

		snprintf(host, sizeof(host), "CT%" PRIu32, cr->ctid);
		r = guest_set(cur, "hostname", host, err);
	}
	if (r == 0) {
		const char *u = guest_get(cur, "unprivileged");

		cr->unprivileged = u && streq(u, "1");
		r = guest_set(cur, "lock", "create", err);
	}
	return r;
}

/* The template must be a vztmpl volume that exists. */
static int check_template(const struct storage_env *env, const char *volid, struct drover_err *err)
{
	struct storage_vol v;
	char path[4096];
	int r = storage_vol_open(env, volid, &v, err);

	if (r < 0)
		return drover_fail_prefix(err, r, "template");
	if (v.name.content != STORAGE_CONTENT_VZTMPL)
		r = drover_fail(
			err, -EINVAL,
			"template '%s' is not a container template (STORE:vztmpl/NAME.tar.gz)",
			volid);
	storage_vol_close(&v);
	if (r == 0)
		r = storage_volume_path(env, volid, NULL, path, sizeof(path), err);
	if (r == 0 && access(path, R_OK) < 0)
		r = drover_fail(err, -ENOENT, "template '%s' does not exist (%s)", volid, path);
	return r;
}

/* The rootfs's storage must be usable here before the VMID is reserved. */
static int check_rootfs_store(struct create *cr, const struct ct_kv *kv, size_t n,
			      struct drover_err *err)
{
	struct storage s;
	int r = 0;

	for (size_t i = 0; i < n; i++)
		if (streq(kv[i].key, "rootfs")) {
			r = parse_rootfs(cr, kv[i].value, err);
			if (r == 0)
				r = storage_open(cr->env, cr->store, &s, err);
			if (r == 0)
				storage_close(&s);
			return r;
		}
	return drover_fail(err, -EINVAL, "--rootfs STORE:SIZE_GB is required");
}

/* The config with lock: create (guest_conf_create refuses a VMID used anywhere in the cluster). */
static int first_conf(struct guest_conf *c, void *arg, struct drover_err *err)
{
	struct create_args *a = arg;

	return build_conf(a->cr, a->kv, a->n, c, err);
}

static int finish(struct guest_conf *c, void *arg, struct drover_err *err)
{
	struct create *cr = arg;
	struct guest_section *cur = guest_conf_current(c);
	char root[700];
	int r;

	snprintf(root, sizeof(root), "%s,size=%" PRIu64 "G", cr->volid, cr->size_gb);
	r = guest_set(cur, "rootfs", root, err);
	if (r == 0 && !guest_get(cur, "ostype"))
		r = guest_set(cur, "ostype", cr->ostype, err);
	if (r == 0)
		guest_delete(cur, "lock");
	return r;
}

static int fill(struct create *cr, const char *template, const struct drover_reporter *rep,
		struct drover_err *err)
{
	char dir[4096];
	int r;

	drover_report_log(rep, "Allocating the root volume on %s (%" PRIu64 " GiB)", cr->store,
			  cr->size_gb);
	r = ct_rootfs_alloc(cr->env, cr->ctid, cr->store, cr->size_gb, cr->volid, sizeof(cr->volid),
			    err);
	if (r < 0)
		return r;
	drover_report_log(rep, "Root volume %s", cr->volid);
	r = ct_volume_dir(cr->env, cr->ctid, cr->volid, dir, sizeof(dir), err);
	if (r == 0)
		r = ct_template_unpack(cr->env, template, dir, cr->unprivileged, cr->ostype,
				       sizeof(cr->ostype), rep, err);
	ct_volumes_release(cr->ctid);
	if (r == 0)
		r = guest_conf_update_at(&cr->env->cfs, GUEST_LXC, cr->ctid, "create", finish, cr,
					 err);
	return r;
}

static void undo(struct create *cr, const struct drover_reporter *rep)
{
	struct drover_err e = { "" };
	char abs[4096];

	if (cr->volid[0] && storage_free_volume(cr->env, cr->volid, &e) < 0)
		drover_report_warn(rep, "freeing %s: %s", cr->volid, e.text);
	if (cfs_path(&cr->env->cfs, cr->rel, abs, sizeof(abs)) == 0 && unlink(abs) < 0)
		drover_report_warn(rep, "removing %s: %s", cr->rel, strerror(errno));
}

int ct_create(const struct storage_env *env, uint32_t ctid, const char *template,
	      const struct ct_kv *kv, size_t n, const struct drover_reporter *rep,
	      struct drover_err *err)
{
	struct create cr = { .env = env, .ctid = ctid };
	struct create_args a = { &cr, kv, n };
	int r;

	guest_conf_relpath(env->cfs.node, GUEST_LXC, ctid, cr.rel, sizeof(cr.rel));
	r = ctid < 100 ? drover_fail(err, -EINVAL, "VMIDs start at 100 (Proxmox's rule)") : 0;
	if (r == 0)
		r = check_template(env, template, err);
	if (r == 0)
		r = check_rootfs_store(&cr, kv, n, err);
	if (r == 0)
		r = guest_conf_create_at(&env->cfs, GUEST_LXC, ctid, first_conf, &a, err);
	if (r < 0)
		return r;
	r = fill(&cr, template, rep, err);
	if (r < 0)
		undo(&cr, rep);
	else
		drover_report_log(rep, "Created CT %" PRIu32, ctid);
	return r;
}
