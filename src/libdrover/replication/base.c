/* SPDX-License-Identifier: MIT */
#include "base.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "basic/util.h"
#include "libdrover/replication/job.h"

static bool id_eq(const char *a, const char *b)
{
	return a[0] && b[0] && streq(a, b);
}

bool repl_snapshot_same(const struct storage_snapshot *a, const struct storage_snapshot *b)
{
	/* ZFS: the guid travels; btrfs: the receiver records the sender's UUID */
	return id_eq(a->id, b->id) || id_eq(a->id, b->origin_id) || id_eq(a->origin_id, b->id) ||
	       id_eq(a->origin_id, b->origin_id);
}

static const struct storage_snapshot *find(const struct storage_snapshot *snaps, size_t n,
					   const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (streq(snaps[i].name, name))
			return &snaps[i];
	return NULL;
}

/* The remote snapshot of the same name and identity as local one l, or NULL. */
static const struct storage_snapshot *common(const struct repl_base_query *q,
					     const struct storage_snapshot *l)
{
	const struct storage_snapshot *r = find(q->remote, q->n_remote, l->name);

	return r && repl_snapshot_same(l, r) ? r : NULL;
}

static bool common_by_name(const struct repl_base_query *q, const char *name)
{
	const struct storage_snapshot *l = find(q->local, q->n_local, name);

	return l && common(q, l);
}

static bool is_config_snap(const struct repl_base_query *q, const char *name)
{
	for (size_t i = 0; i < q->n_config_snaps; i++)
		if (streq(q->config_snaps[i], name))
			return true;
	return false;
}

/* The newest common snapshot (by creation here) that is the guest's or any job's. */
static const struct storage_snapshot *newest_common(const struct repl_base_query *q)
{
	const struct storage_snapshot *best = NULL;

	for (size_t i = 0; i < q->n_local; i++) {
		const struct storage_snapshot *l = &q->local[i];

		if (!repl_snapname_is_replication(l->name) && !is_config_snap(q, l->name))
			continue;
		if (!common(q, l))
			continue;
		/* ties by name, so that the answer does not depend on the list's order */
		if (!best || l->ctime > best->ctime ||
		    (l->ctime == best->ctime && strcmp(l->name, best->name) > 0))
			best = l;
	}
	return best;
}

static size_t count_remote_newer(const struct repl_base_query *q, const char *base)
{
	const struct storage_snapshot *b = find(q->remote, q->n_remote, base);
	size_t n = 0;

	for (size_t i = 0; b && i < q->n_remote; i++)
		if (q->remote[i].ctime > b->ctime)
			n++;
	return n;
}

static void choose(const struct repl_base_query *q, struct repl_base *out, const char *name,
		   enum repl_base_rule rule)
{
	out->kind = REPL_BASE_INCREMENTAL;
	out->rule = rule;
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->remote_newer = count_remote_newer(q, name);
}

void repl_select_base(const struct repl_base_query *q, struct repl_base *out)
{
	const struct storage_snapshot *newest;
	char last[STORAGE_SNAPNAME_MAX];

	memset(out, 0, sizeof(*out));
	if (!q->remote_has_volume) {
		out->kind = REPL_BASE_FULL;
		return;
	}
	if (q->last_sync > 1 && repl_snapname(q->jobid, q->last_sync, last, sizeof(last)) == 0 &&
	    common_by_name(q, last)) {
		choose(q, out, last, REPL_RULE_LAST_SYNC);
		return;
	}
	if (q->parent && q->parent[0] && common_by_name(q, q->parent)) {
		choose(q, out, q->parent, REPL_RULE_PARENT);
		return;
	}
	newest = newest_common(q);
	if (newest) {
		choose(q, out, newest->name, REPL_RULE_NEWEST_COMMON);
		return;
	}
	out->kind = REPL_BASE_MISSING;
}

int repl_missing_base_error(struct drover_err *err, const char *const *volids, size_t n)
{
	char list[DROVER_ERR_MAX] = "";
	size_t len = 0;

	for (size_t i = 0; i < n && len < sizeof(list); i++) {
		int w = snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", volids[i]);

		len += w > 0 ? (size_t)w : 0;
	}
	return drover_fail(err, -ENOENT,
			   "No common base snapshot on volume(s) %s. Please remove the "
			   "problematic volume(s) from the replication target or delete and "
			   "re-create the whole job",
			   list);
}

enum repl_prune_mode repl_prune_select(const char *jobid, int64_t last_sync, const char *parent,
				       const struct storage_snapshot *snaps, size_t n, bool *del)
{
	char keep[STORAGE_SNAPNAME_MAX] = "";

	memset(del, 0, n * sizeof(*del));
	if (last_sync == 0)
		return REPL_PRUNE_NOTHING;
	if (last_sync != 1) {
		if (repl_snapname(jobid, last_sync, keep, sizeof(keep)) < 0 ||
		    !find(snaps, n, keep))
			return REPL_PRUNE_EXPECTED_MISSING;
	}
	for (size_t i = 0; i < n; i++) {
		if (!repl_snapname_of_job(snaps[i].name, jobid, NULL))
			continue;
		if (last_sync != 1 &&
		    (streq(snaps[i].name, keep) || (parent && streq(snaps[i].name, parent))))
			continue;
		del[i] = true;
	}
	return last_sync == 1 ? REPL_PRUNE_ALL : REPL_PRUNE_OLDER;
}

enum repl_prune_mode repl_prune_after_sync(const char *jobid, int64_t synced, const char *parent,
					   const struct storage_snapshot *local, size_t n_local,
					   const struct storage_snapshot *remote, size_t n_remote,
					   bool *del_local)
{
	struct repl_base_query q = {
		.jobid = jobid,
		.local = local,
		.n_local = n_local,
		.remote_has_volume = true,
		.remote = remote,
		.n_remote = n_remote,
	};
	const struct storage_snapshot *newest;
	char now[STORAGE_SNAPNAME_MAX];
	enum repl_prune_mode mode;

	memset(del_local, 0, n_local * sizeof(*del_local));
	if (synced <= 1 || repl_snapname(jobid, synced, now, sizeof(now)) < 0 ||
	    !common_by_name(&q, now))
		return REPL_PRUNE_EXPECTED_MISSING;
	mode = repl_prune_select(jobid, synced, parent, local, n_local, del_local);
	/* whatever happened meanwhile: the newest common snapshot stays */
	newest = newest_common(&q);
	if (newest)
		del_local[newest - local] = false;
	return mode;
}
