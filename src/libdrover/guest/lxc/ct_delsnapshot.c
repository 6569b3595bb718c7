/* SPDX-License-Identifier: MIT */
/*
 * pct delsnapshot: under lock: snapshot-delete the volumes' snapshots go
 * (one already gone is fine), then the section; its children and the
 * current config take its parent.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/util.h"
#include "ct_internal.h"
#include "libdrover/guest/conf_edit.h"

#define CT_VOLS_MAX 64

struct del_req {
	const char *name;
	uint32_t ctid;
	char vols[CT_VOLS_MAX][256];
	size_t n;
};

static int begin(struct guest_conf *c, void *arg, struct drover_err *err)
{
	struct del_req *q = arg;
	struct guest_section *s = guest_conf_snapshot(c, q->name);
	int r;

	if (!s)
		return drover_fail(err, -ENOENT, "CT %" PRIu32 " has no snapshot '%s'", q->ctid,
				   q->name);
	r = ct_section_volumes(s, false, q->vols, CT_VOLS_MAX, &q->n, err);
	return r == 0 ? guest_set(guest_conf_current(c), "lock", "snapshot-delete", err) : r;
}

/* Who had name as parent gets its parent (none: no parent). */
static int reparent(struct guest_section *x, const char *name, const char *up,
		    struct drover_err *err)
{
	const char *p = guest_get(x, "parent");

	if (!p || !streq(p, name))
		return 0;
	if (!up) {
		guest_delete(x, "parent");
		return 0;
	}
	return guest_set(x, "parent", up, err);
}

static int commit(struct guest_conf *c, void *arg, struct drover_err *err)
{
	struct del_req *q = arg;
	struct guest_section *s = guest_conf_snapshot(c, q->name);
	char up[128] = "";
	const char *p;
	int r;

	if (!s)
		return 0;
	p = guest_get(s, "parent");
	if (p)
		snprintf(up, sizeof(up), "%s", p);
	r = reparent(guest_conf_current(c), q->name, up[0] ? up : NULL, err);
	for (size_t i = 0; r == 0 && i < guest_conf_snapshot_count(c); i++)
		r = reparent(guest_conf_snapshot_at(c, i), q->name, up[0] ? up : NULL, err);
	if (r == 0) {
		guest_conf_section_remove(c, s);
		guest_delete(guest_conf_current(c), "lock");
	}
	return r;
}

int ct_delsnapshot(const struct storage_env *env, uint32_t ctid, const char *name,
		   const struct drover_reporter *rep, struct drover_err *err)
{
	struct del_req q = { .name = name, .ctid = ctid };
	int r = guest_conf_update(GUEST_LXC, ctid, NULL, begin, &q, err);

	for (size_t i = 0; r == 0 && i < q.n; i++) {
		drover_report_log(rep, "Deleting snapshot %s of %s", name, q.vols[i]);
		r = storage_snapshot_op(env, q.vols[i], STORAGE_SNAP_DELETE, name, err);
		if (r == -ENOENT)
			r = 0;
	}
	if (r == 0)
		r = guest_conf_update(GUEST_LXC, ctid, "snapshot-delete", commit, &q, err);
	return r;
}
