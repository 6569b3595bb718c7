/* SPDX-License-Identifier: MIT */
/*
 * pct destroy: refused for a running, protected or locked container;
 * under the guest's lock, every volume of its config (current, snapshots,
 * unusedN) loses its snapshots and is freed, then the config goes, then
 * LXC's directory, then what the hook (guest_destroy.h) does after. A
 * volume that cannot be freed stops it with the config still there, so a
 * second destroy can finish.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/process.h"
#include "basic/util.h"
#include "ct_internal.h"
#include "libdrover/guest/conf_edit.h"

#define CT_VOLS_MAX 64

static size_t add_unique(char vols[][256], size_t n, char more[][256], size_t m)
{
	for (size_t i = 0; i < m; i++) {
		size_t k = 0;

		while (k < n && !streq(vols[k], more[i]))
			k++;
		if (k == n && n < CT_VOLS_MAX)
			memcpy(vols[n++], more[i], 256);
	}
	return n;
}

static int all_volumes(struct guest_conf *c, char vols[][256], size_t *n, struct drover_err *err)
{
	char more[CT_VOLS_MAX][256];
	size_t m;
	int r = ct_section_volumes(guest_conf_current(c), true, vols, CT_VOLS_MAX, n, err);

	for (size_t i = 0; r == 0 && i < guest_conf_snapshot_count(c); i++) {
		r = ct_section_volumes(guest_conf_snapshot_at(c, i), false, more, CT_VOLS_MAX, &m,
				       err);
		if (r == 0)
			*n = add_unique(vols, *n, more, m);
	}
	return r;
}

static int free_volume(const struct storage_env *env, const char *volid,
		       const struct drover_reporter *rep, struct drover_err *err)
{
	struct storage_snapshot *snaps = NULL;
	size_t n = 0;
	int r = storage_snapshot_list(env, volid, &snaps, &n, err);

	for (size_t i = 0; r == 0 && i < n; i++)
		r = storage_snapshot_op(env, volid, STORAGE_SNAP_DELETE, snaps[i].name, err);
	free(snaps);
	if (r == 0) {
		drover_report_log(rep, "Freeing %s", volid);
		r = storage_free_volume(env, volid, err);
	}
	return r == -ENOENT ? 0 : r;
}

static int check(struct guest_conf *c, uint32_t ctid, const struct guest_destroy_hook *hook,
		 struct drover_err *err)
{
	const char *prot = guest_get(guest_conf_current(c), "protection");
	int r = guest_destroy_check(hook, ctid, err);

	if (r == 0 && prot && streq(prot, "1"))
		r = drover_fail(err, -EPERM,
				"CT %" PRIu32 " is protected (protection: 1; unset it first)",
				ctid);
	if (r == 0 && ct_running(ctid))
		r = drover_fail(err, -EBUSY, "CT %" PRIu32 " is running (stop it first)", ctid);
	return r;
}

struct destroy {
	const struct storage_env *env;
	uint32_t ctid;
	const struct guest_destroy_hook *hook;
	const struct drover_reporter *rep;
	char vols[CT_VOLS_MAX][256];
};

/* LXC's directory of the container (its generated config, console log). */
static void remove_lxc_dir(uint32_t ctid)
{
	char dir[4096];

	if (ct_dir(ctid, NULL, dir, sizeof(dir)) == 0) {
		char *argv[] = { "rm", "-rf", "--one-file-system", dir, NULL };

		process_run(argv, NULL, 0, NULL, NULL);
	}
}

/*
 * Under the guest's lock: volumes freed, the config removed, LXC's
 * directory, then the hook's part (1: nothing to write back).
 */
static int destroy_locked(struct guest_conf *c, void *arg, struct drover_err *err)
{
	struct destroy *d = arg;
	char rel[256], abs[4096];
	size_t n = 0;
	int r = check(c, d->ctid, d->hook, err);

	if (r == 0)
		r = all_volumes(c, d->vols, &n, err);
	ct_volumes_release(d->ctid);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = free_volume(d->env, d->vols[i], d->rep, err);
	if (r == 0)
		r = guest_conf_relpath(d->env->cfs.node, GUEST_LXC, d->ctid, rel, sizeof(rel));
	if (r == 0)
		r = cfs_path(&d->env->cfs, rel, abs, sizeof(abs));
	if (r == 0 && unlink(abs) < 0)
		r = drover_fail(err, -errno, "removing %s: %s", rel, strerror(errno));
	if (r < 0)
		return r;
	remove_lxc_dir(d->ctid);
	drover_report_log(d->rep, "Destroyed CT %" PRIu32, d->ctid);
	r = guest_destroy_after(d->hook, d->ctid, d->rep, err);
	return r < 0 ? r : 1;
}

int ct_destroy(const struct storage_env *env, uint32_t ctid, const struct guest_destroy_hook *hook,
	       const struct drover_reporter *rep, struct drover_err *err)
{
	struct destroy *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return drover_fail(err, -ENOMEM, "out of memory");
	*d = (struct destroy){ .env = env, .ctid = ctid, .hook = hook, .rep = rep };
	r = guest_conf_update_at(&env->cfs, GUEST_LXC, ctid, NULL, destroy_locked, d, err);
	free(d);
	return r < 0 ? r : 0;
}
