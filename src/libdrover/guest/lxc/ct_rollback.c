/* SPDX-License-Identifier: MIT */
/*
 * pct rollback: the container must be stopped; under lock: rollback every
 * volume of the snapshot goes back to it, then the current config becomes
 * the snapshot's (its parent the snapshot) and the lock goes. A volume
 * that fails leaves the lock set: the container is in between, and
 * `drover ct unlock` is a decision for the admin.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "ct_internal.h"
#include "libdrover/guest/conf_edit.h"

#define CT_VOLS_MAX 64
#define CT_KEYS_MAX 512

struct rb_req {
	const char *name;
	uint32_t ctid;
	char vols[CT_VOLS_MAX][256];
	size_t n;
};

static int begin(struct guest_conf *c, void *arg, struct drover_err *err)
{
	struct rb_req *q = arg;
	struct guest_section *s = guest_conf_snapshot(c, q->name);
	int r;

	if (!s)
		return drover_fail(err, -ENOENT, "CT %" PRIu32 " has no snapshot '%s'", q->ctid,
				   q->name);
	if (ct_running(q->ctid))
		return drover_fail(err, -EBUSY, "CT %" PRIu32 " is running (stop it first)",
				   q->ctid);
	r = ct_section_volumes(s, false, q->vols, CT_VOLS_MAX, &q->n, err);
	return r == 0 ? guest_set(guest_conf_current(c), "lock", "rollback", err) : r;
}

/* The current config's keys all go; the snapshot's come in (not its snaptime). */
static int commit(struct guest_conf *c, void *arg, struct drover_err *err)
{
	struct rb_req *q = arg;
	struct guest_section *cur = guest_conf_current(c), *s = guest_conf_snapshot(c, q->name);
	char *keys[CT_KEYS_MAX], *desc = NULL;
	size_t nk = 0;
	int r = 0;

	for (size_t i = 0; i < guest_section_size(cur) && nk < CT_KEYS_MAX; i++) {
		const char *v, *k = guest_line_key(cur, i, &v);

		if (k && !(keys[nk] = strdup(k)))
			r = -ENOMEM;
		else if (k)
			nk++;
	}
	for (size_t i = 0; i < nk; i++) {
		if (r == 0)
			guest_delete(cur, keys[i]);
		free(keys[i]);
	}
	for (size_t i = 0; r == 0 && i < guest_section_size(s); i++) {
		const char *v, *k = guest_line_key(s, i, &v);

		if (!k || streq(k, "snaptime") || streq(k, "parent") || streq(k, "description"))
			continue;
		r = str_has_prefix(k, "lxc.") ? guest_add_raw_lxc(cur, k, v, err)
					      : guest_set(cur, k, v, err);
	}
	if (r == 0)
		r = guest_description(s, &desc);
	if (r == 0)
		r = guest_set_description(cur, desc, err);
	free(desc);
	if (r == 0)
		r = guest_set(cur, "parent", q->name, err);
	return r == -ENOMEM ? drover_fail(err, r, "out of memory") : r;
}

int ct_rollback(const struct storage_env *env, uint32_t ctid, const char *name,
		const struct drover_reporter *rep, struct drover_err *err)
{
	struct rb_req *q = calloc(1, sizeof(*q));
	int r;

	if (!q)
		return drover_fail(err, -ENOMEM, "out of memory");
	q->name = name;
	q->ctid = ctid;
	r = guest_conf_update(GUEST_LXC, ctid, NULL, begin, q, err);
	ct_volumes_release(ctid);
	for (size_t i = 0; r == 0 && i < q->n; i++) {
		drover_report_log(rep, "Rolling %s back to %s", q->vols[i], name);
		r = storage_snapshot_op(env, q->vols[i], STORAGE_SNAP_ROLLBACK, name, err);
	}
	if (r == 0)
		r = guest_conf_update(GUEST_LXC, ctid, "rollback", commit, q, err);
	free(q);
	return r;
}
