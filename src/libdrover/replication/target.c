/* SPDX-License-Identifier: MIT */
#include "target.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "basic/util.h"
#include "job.h"
#include "state.h"

struct json_object *repl_snapinfo_to_json(const struct storage_snapshot *snaps, size_t n)
{
	struct json_object *o = json_object_new_object();

	for (size_t i = 0; i < n; i++) {
		struct json_object *s = json_object_new_object();

		json_object_object_add(s, "id", json_object_new_string(snaps[i].id));
		json_object_object_add(s, "timestamp", json_object_new_int64(snaps[i].ctime));
		if (snaps[i].origin_id[0])
			json_object_object_add(s, "origin",
					       json_object_new_string(snaps[i].origin_id));
		json_object_object_add(o, snaps[i].name, s);
	}
	return o;
}

int repl_snapinfo_from_json(struct json_object *vol, struct storage_snapshot **snaps, size_t *n,
			    struct drover_err *err)
{
	size_t cap, k = 0;
	struct storage_snapshot *list;

	*snaps = NULL;
	*n = 0;
	if (!json_object_is_type(vol, json_type_object))
		return drover_fail(err, -EINVAL, "snapshot info is not an object");
	cap = (size_t)json_object_object_length(vol);
	list = calloc(cap ? cap : 1, sizeof(*list));
	if (!list)
		return drover_fail(err, -ENOMEM, "out of memory");
	json_object_object_foreach(vol, name, info)
	{
		struct json_object *v;
		struct storage_snapshot *s = &list[k];

		if (!json_object_is_type(info, json_type_object) ||
		    strlen(name) >= sizeof(s->name)) {
			free(list);
			return drover_fail(err, -EINVAL, "snapshot info of '%.60s' is malformed",
					   name);
		}
		snprintf(s->name, sizeof(s->name), "%s", name);
		if (json_object_object_get_ex(info, "id", &v))
			snprintf(s->id, sizeof(s->id), "%s", json_object_get_string(v));
		if (json_object_object_get_ex(info, "origin", &v))
			snprintf(s->origin_id, sizeof(s->origin_id), "%s",
				 json_object_get_string(v));
		if (json_object_object_get_ex(info, "timestamp", &v))
			s->ctime = json_object_get_int64(v);
		k++;
	}
	*snaps = list;
	*n = k;
	return 0;
}

/* Remove the job's snapshots of volid that the prune rules select. */
static int prune_volume(const struct storage_env *env, const struct repl_prepare_req *q,
			const char *volid, const struct storage_snapshot *snaps, size_t n,
			const struct drover_reporter *rep)
{
	bool *del = calloc(n ? n : 1, sizeof(*del));
	enum repl_prune_mode mode;

	if (!del)
		return -ENOMEM;
	mode = repl_prune_select(q->jobid, q->last_sync, q->parent, snaps, n, del);
	if (mode == REPL_PRUNE_EXPECTED_MISSING) {
		char want[STORAGE_SNAPNAME_MAX];

		repl_snapname(q->jobid, q->last_sync, want, sizeof(want));
		drover_report_log(rep,
				  "expected snapshot %s not present for %s, not removing others",
				  want, volid);
	}
	for (size_t i = 0; i < n; i++) {
		struct drover_err e = { "" };

		if (!del[i])
			continue;
		drover_report_log(rep, "delete stale replication snapshot '%s' on %s",
				  snaps[i].name, volid);
		/* a snapshot that will not go is a warning, never the run's end (bug #1694) */
		if (storage_snapshot_op(env, volid, STORAGE_SNAP_DELETE, snaps[i].name, &e) < 0)
			drover_report_warn(rep, "%s", e.text);
	}
	free(del);
	return 0;
}

static bool wanted(const struct repl_prepare_req *q, const char *volid)
{
	for (size_t i = 0; i < q->n; i++)
		if (streq(q->volids[i], volid))
			return true;
	return false;
}

static bool carries_job(const struct storage_snapshot *snaps, size_t n, const char *jobid)
{
	for (size_t i = 0; i < n; i++)
		if (repl_snapname_of_job(snaps[i].name, jobid, NULL))
			return true;
	return false;
}

/* Free the guest's volumes on storeid that the job no longer wants but replicated here. */
static void free_stale(const struct storage_env *env, const struct repl_prepare_req *q,
		       const char *storeid, uint32_t vmid, const struct drover_reporter *rep)
{
	struct storage_volume *vols = NULL;
	struct drover_err e = { "" };
	size_t n = 0;

	if (storage_list(env, storeid, vmid, 0, &vols, &n, &e) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct storage_snapshot *snaps = NULL;
		size_t ns = 0;
		char volid[STORAGE_VOLID_MAX];

		snprintf(volid, sizeof(volid), "%s:%s", storeid, vols[i].volname);
		if (wanted(q, volid) || storage_snapshot_list(env, volid, &snaps, &ns, &e) < 0)
			continue;
		if (carries_job(snaps, ns, q->jobid)) {
			drover_report_log(rep, "%s: delete stale volume '%s'", q->jobid, volid);
			if (storage_free_volume(env, volid, &e) < 0)
				drover_report_warn(rep, "%s", e.text);
		}
		free(snaps);
	}
	free(vols);
}

static int volume_storeid(const char *volid, char *out, size_t len)
{
	const char *colon = strchr(volid, ':');

	if (!colon || (size_t)(colon - volid) >= len)
		return -EINVAL;
	memcpy(out, volid, (size_t)(colon - volid));
	out[colon - volid] = '\0';
	return 0;
}

static void scan_all(const struct storage_env *env, const struct repl_prepare_req *q, uint32_t vmid,
		     const struct drover_reporter *rep)
{
	char seen[REPL_STOREIDS_MAX][STORAGE_ID_MAX];
	size_t n = 0;

	for (size_t i = 0; i < q->n + q->n_scan && n < REPL_STOREIDS_MAX; i++) {
		char id[STORAGE_ID_MAX];
		bool dup = false;

		if (i < q->n) {
			if (volume_storeid(q->volids[i], id, sizeof(id)) < 0)
				continue;
		} else {
			snprintf(id, sizeof(id), "%s", q->scan[i - q->n]);
		}
		for (size_t k = 0; k < n; k++)
			dup = dup || streq(seen[k], id);
		if (dup || !storage_cfg_find(&env->cfg, id))
			continue;
		snprintf(seen[n++], STORAGE_ID_MAX, "%s", id);
		free_stale(env, q, id, vmid, rep);
	}
}

int repl_source_locations(const struct storage_env *env, const char *const *volids, size_t nvol,
			  const char *const *scan, size_t nscan, char out[][REPL_LOCATION_MAX],
			  size_t *n, struct drover_err *err)
{
	*n = 0;
	for (size_t i = 0; i < nvol + nscan; i++) {
		const struct storage_props *p;
		char id[STORAGE_ID_MAX], loc[REPL_LOCATION_MAX - STORAGE_ID_MAX - 1];
		bool dup = false;
		int r;

		if (i < nvol ? volume_storeid(volids[i], id, sizeof(id)) < 0
			     : (size_t)snprintf(id, sizeof(id), "%s", scan[i - nvol]) >= sizeof(id))
			continue;
		for (size_t k = 0; k < *n; k++)
			dup = dup || (str_has_prefix(out[k], id) && out[k][strlen(id)] == '=');
		p = storage_cfg_find(&env->cfg, id);
		if (dup || !p || p->shared || !storage_props_on_node(p, env->cfs.node))
			continue;
		r = storage_location(env, id, loc, sizeof(loc), err);
		if (r < 0)
			return r;
		if (!loc[0])
			continue;
		if (*n == REPL_STOREIDS_MAX)
			return drover_fail(err, -E2BIG, "more than %d storages", REPL_STOREIDS_MAX);
		snprintf(out[(*n)++], REPL_LOCATION_MAX, "%s=%s", id, loc);
	}
	return 0;
}

/* Is any of the source's own storages (not shared) this node's too? */
static int check_not_source(const struct storage_env *env, const struct repl_prepare_req *q,
			    struct drover_err *err)
{
	for (size_t i = 0; i < q->n_source_locations; i++) {
		const char *eq = strchr(q->source_locations[i], '=');
		char id[STORAGE_ID_MAX], here[REPL_LOCATION_MAX];
		const struct storage_props *p;
		int r;

		if (!eq || (size_t)(eq - q->source_locations[i]) >= sizeof(id))
			return drover_fail(err, -EINVAL, "'%.80s' is not STOREID=LOCATION",
					   q->source_locations[i]);
		snprintf(id, sizeof(id), "%.*s", (int)(eq - q->source_locations[i]),
			 q->source_locations[i]);
		p = storage_cfg_find(&env->cfg, id);
		if (!p || !storage_props_on_node(p, env->cfs.node))
			continue; /* not here: the copy fails by itself, naming it */
		r = storage_location(env, id, here, sizeof(here), err);
		if (r < 0)
			return r;
		if (streq(here, eq + 1))
			return drover_fail(
				err, -EEXIST,
				"storage '%s' on %s is the source's own (%s): it is not shared, so "
				"every node needs its own Ceph cluster (see /etc/ceph/ceph.conf on "
				"both nodes); replicating onto it would overwrite the guest's disks",
				id, env->cfs.node, here);
	}
	return 0;
}

int repl_prepare_local(const struct storage_env *env, const struct repl_prepare_req *q,
		       struct json_object **out, const struct drover_reporter *rep,
		       struct drover_err *err)
{
	struct json_object *o;
	uint32_t vmid, jobnum;
	int r = repl_jobid_parse(q->jobid, &vmid, &jobnum, err);

	/* before anything is pruned or freed: here may be the source's own disks */
	if (r == 0)
		r = check_not_source(env, q, err);
	if (r < 0)
		return r;
	o = json_object_new_object();
	scan_all(env, q, vmid, rep);
	for (size_t i = 0; i < q->n; i++) {
		struct storage_snapshot *snaps = NULL;
		struct storage_volume info;
		size_t n = 0;

		if (storage_volume_info(env, q->volids[i], &info, err) < 0)
			continue; /* not here: the source sends it whole */
		r = storage_snapshot_list(env, q->volids[i], &snaps, &n, err);
		if (r == 0)
			r = prune_volume(env, q, q->volids[i], snaps, n, rep);
		free(snaps);
		snaps = NULL;
		if (r == 0)
			r = storage_snapshot_list(env, q->volids[i], &snaps, &n, err);
		if (r < 0) {
			json_object_put(o);
			return drover_fail_prefix(err, r, "%s", q->volids[i]);
		}
		json_object_object_add(o, q->volids[i], repl_snapinfo_to_json(snaps, n));
		free(snaps);
	}
	err->text[0] = '\0';
	*out = o;
	return 0;
}

int repl_prepare_local_at(const char *socket, const struct repl_prepare_req *q,
			  struct json_object **out, const struct drover_reporter *rep,
			  struct drover_err *err)
{
	struct storage_env env;
	int r = storage_env_open(&env, socket, err);

	*out = NULL;
	if (r == 0)
		r = repl_prepare_local(&env, q, out, rep, err);
	/* a storage.cfg that did not load leaves nothing to close; droverfs unreached neither */
	if (r == 0 || env.cfs.node[0])
		storage_env_close(&env);
	return r;
}
