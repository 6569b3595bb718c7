/* SPDX-License-Identifier: MIT */
/*
 * pct snapshot: lock: snapshot set first (so nothing else changes the
 * container meanwhile), a running container frozen while its volumes are
 * snapshotted (consistent across them), then the config's section taken
 * and the lock removed in one write. On a failure the volume snapshots
 * made are deleted again and the lock removed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/util.h"
#include "ct_internal.h"
#include "libdrover/guest/conf_edit.h"

#define CT_VOLS_MAX 64

struct snap_req {
	const char *name;
	const char *description;
	char vols[CT_VOLS_MAX][256];
	size_t n;
};

static int begin(struct guest_conf *c, void *arg, struct drover_err *err)
{
	struct snap_req *q = arg;
	struct guest_section *cur = guest_conf_current(c);
	int r = 0;

	if (guest_conf_snapshot(c, q->name))
		return drover_fail(err, -EEXIST, "snapshot '%s' already exists", q->name);
	r = ct_section_volumes(cur, false, q->vols, CT_VOLS_MAX, &q->n, err);
	return r == 0 ? guest_set(cur, "lock", "snapshot", err) : r;
}

static int commit(struct guest_conf *c, void *arg, struct drover_err *err)
{
	struct snap_req *q = arg;
	int r;

	guest_delete(guest_conf_current(c), "lock");
	r = guest_conf_snapshot_take(c, q->name, now_wall_s(), q->description, err);
	return r;
}

static int unlock_only(struct guest_conf *c, void *arg, struct drover_err *err)
{
	(void)arg;
	(void)err;
	guest_delete(guest_conf_current(c), "lock");
	return 0;
}

static int snap_volumes(const struct storage_env *env, uint32_t ctid, struct snap_req *q,
			const struct drover_reporter *rep, struct drover_err *err)
{
	const char *none[] = { NULL };
	bool frozen = ct_running(ctid) && ct_lxc_run("lxc-freeze", ctid, none, NULL) == 0;
	size_t done = 0;
	int r = 0;

	for (; r == 0 && done < q->n; done++) {
		drover_report_log(rep, "Snapshot of %s", q->vols[done]);
		r = storage_snapshot_op(env, q->vols[done], STORAGE_SNAP_CREATE, q->name, err);
	}
	if (frozen)
		ct_lxc_run("lxc-unfreeze", ctid, none, NULL);
	return r;
}

int ct_snapshot(const struct storage_env *env, uint32_t ctid, const char *name,
		const char *description, const struct drover_reporter *rep, struct drover_err *err)
{
	struct snap_req q = { .name = name, .description = description };
	struct drover_err e = { "" };
	int r;

	if (streq(name, "current") || streq(name, "PENDING"))
		return drover_fail(err, -EINVAL, "'%s' is not a snapshot name", name);
	r = guest_conf_update(GUEST_LXC, ctid, NULL, begin, &q, err);
	if (r < 0)
		return r;
	r = snap_volumes(env, ctid, &q, rep, err);
	if (r == 0)
		r = guest_conf_update(GUEST_LXC, ctid, "snapshot", commit, &q, err);
	if (r < 0) {
		for (size_t i = 0; i < q.n; i++)
			storage_snapshot_op(env, q.vols[i], STORAGE_SNAP_DELETE, name, NULL);
		guest_conf_update(GUEST_LXC, ctid, "snapshot", unlock_only, NULL, &e);
	}
	return r;
}
