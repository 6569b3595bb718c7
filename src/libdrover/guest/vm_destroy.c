/* SPDX-License-Identifier: MIT */
/*
 * Destroying a VM: under the guest's lock, refused while it runs, while
 * protection: 1 or a lock: is set; every volume it owns is freed (those
 * in snapshots and unusedN too), then its config goes. A volume that
 * cannot be freed stops the destroy with the config still in place, so
 * nothing the VM owned is left without a config that names it. The
 * hook (guest_destroy.h) checks before anything else and follows once
 * the config is gone, under the same lock.
 */
#include "vm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/util.h"
#include "conf_edit.h"
#include "libdrover/format/guest_drive.h"

#define VOLS_MAX 256

struct destroy {
	const struct vm_env *e;
	uint32_t vmid;
	const struct guest_destroy_hook *hook;
	const struct drover_reporter *log;
	char vols[VOLS_MAX][GUEST_VOLID_MAX];
	size_t n;
	struct drover_err *err;
};

static int collect(void *ctx, const char *key, const char *volid)
{
	struct destroy *d = ctx;

	(void)key;
	for (size_t i = 0; i < d->n; i++)
		if (streq(d->vols[i], volid))
			return 0;
	if (d->n == VOLS_MAX)
		return drover_fail(d->err, -E2BIG, "too many volumes");
	snprintf(d->vols[d->n++], GUEST_VOLID_MAX, "%s", volid);
	return 0;
}

static int collect_unused(void *ctx, const char *key, const char *value, unsigned index)
{
	(void)index;
	return collect(ctx, key, value);
}

/* Only volumes of this VM: a config may name another VM's volume; it is not ours to free. */
static bool owned(struct destroy *d, const char *volid)
{
	struct storage_vol v;
	bool mine;

	if (storage_vol_open(&d->e->st, volid, &v, NULL) < 0)
		return false;
	mine = v.name.vmid == d->vmid;
	storage_vol_close(&v);
	return mine;
}

static int destroy_locked(struct guest_conf *c, void *arg, struct drover_err *err)
{
	struct destroy *d = arg;
	const char *prot = guest_get(guest_conf_current(c), "protection");
	char rel[PATH_MAX], path[PATH_MAX];
	int r = guest_destroy_check(d->hook, d->vmid, err);

	if (r < 0)
		return r;
	if (prot && streq(prot, "1"))
		return drover_fail(err, -EPERM,
				   "VM %" PRIu32 " is protected (protection: 1): "
				   "'drover vm set %" PRIu32 " --delete protection' first",
				   d->vmid, d->vmid);
	if (vm_running(d->e, d->vmid, NULL))
		return drover_fail(err, -EBUSY, "VM %" PRIu32 " is running: stop it first",
				   d->vmid);
	r = vm_each_volume(c, collect, d);
	if (r == 0)
		r = guest_each_numbered(guest_conf_current(c), "unused", 256, collect_unused, d);
	/* the RAM states of snapshots with --vmstate */
	for (size_t i = 0; r == 0 && i < guest_conf_snapshot_count(c); i++) {
		const char *state = guest_get(guest_conf_snapshot_at(c, i), "vmstate");

		if (state)
			r = collect(d, "vmstate", state);
	}
	for (size_t i = 0; r == 0 && i < d->n; i++) {
		if (!owned(d, d->vols[i])) {
			drover_report_log(d->log, "leaving %s (not VM %" PRIu32 "'s own volume)",
					  d->vols[i], d->vmid);
			continue;
		}
		r = storage_free_volume(&d->e->st, d->vols[i], err);
		if (r == -ENOENT) {
			drover_report_log(d->log, "%s is already gone", d->vols[i]);
			r = 0;
		} else if (r == 0) {
			drover_report_log(d->log, "freed %s", d->vols[i]);
		}
	}
	if (r < 0)
		return r;
	vm_taps_delete(c, d->vmid);
	r = guest_conf_relpath(d->e->st.cfs.node, GUEST_QEMU, d->vmid, rel, sizeof(rel));
	if (r == 0)
		r = cfs_path(&d->e->st.cfs, rel, path, sizeof(path));
	if (r == 0 && unlink(path) < 0)
		r = -errno;
	if (r < 0)
		return drover_fail(err, r, "removing %s: %s", rel, strerror(-r));
	drover_report_log(d->log, "removed %s", rel);
	r = guest_destroy_after(d->hook, d->vmid, d->log, err);
	return r < 0 ? r : 1; /* nothing to write: the config is gone */
}

int vm_destroy(const struct vm_env *e, uint32_t vmid, const struct guest_destroy_hook *hook,
	       const struct drover_reporter *log, struct drover_err *err)
{
	struct destroy *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return drover_fail(err, -ENOMEM, "out of memory");
	d->e = e;
	d->vmid = vmid;
	d->hook = hook;
	d->log = log;
	d->err = err;
	r = guest_conf_update_at(&e->st.cfs, GUEST_QEMU, vmid, NULL, destroy_locked, d, err);
	free(d);
	return r;
}
