/* SPDX-License-Identifier: MIT */
#include "run.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adopt.h"
#include "base.h"
#include "basic/procstat.h"
#include "basic/util.h"
#include "config.h"
#include "freeze.h"
#include "guest.h"
#include "libdrover/stream/copy.h"
#include "libdrover/stream/sshmux.h"
#include "remote.h"
#include "runlog.h"
#include "state_store.h"
#include "target.h"

/* Everything one run works with. */
struct run {
	struct storage_env *env;
	const struct repl_job *job;
	const struct repl_run_opts *o;
	const struct drover_reporter *rep; /* the job's log (and o->rep) */
	char jobid[REPL_JOBID_MAX];
	int64_t start, last_sync;
	struct repl_guest g;
	const char *parent; /* the guest config's current snapshot, or NULL */
	const char *volids[REPL_VOLUMES_MAX];
	char snap[STORAGE_SNAPNAME_MAX]; /* this run's */
	struct repl_base base[REPL_VOLUMES_MAX];
	uint64_t bytes;
	struct sshmux mux; /* the run's one connection to the target */
	/* "STOREID=LOCATION" of the storages every node has its own of: see target.h */
	char locs[REPL_STOREIDS_MAX][REPL_LOCATION_MAX];
	const char *loc_ptrs[REPL_STOREIDS_MAX];
	struct drover_err *err;
};

/* ---- the state file ------------------------------------------------------- */

struct state_edit {
	const struct run *run;
	enum { EDIT_START, EDIT_SYNCED, EDIT_END, EDIT_REMOVE } what;
	double duration;
	const char *error;
	int32_t pid;
	uint64_t ptime;
};

static int edit_state(struct repl_state *s, void *ctx)
{
	const struct state_edit *e = ctx;
	const struct run *run = e->run;
	struct repl_job_state *js;
	int r;

	if (e->what == EDIT_REMOVE) {
		repl_state_remove(s, run->job->guest, run->job->target);
		return 0;
	}
	r = repl_state_get(s, run->job->guest, run->job->target, &js);
	if (r < 0)
		return r;
	switch (e->what) {
	case EDIT_START:
		repl_job_started(js, run->start, run->o->iteration ? run->o->iteration : run->start,
				 run->env->cfs.node, e->pid, e->ptime);
		break;
	case EDIT_SYNCED:
		repl_job_synced(js, run->start);
		if (run->g.n_vols) {
			const char *ids[REPL_VOLUMES_MAX];
			char store[REPL_VOLUMES_MAX][STORAGE_ID_MAX];
			struct drover_err err;

			for (size_t i = 0; i < run->g.n_vols; i++) {
				snprintf(store[i], sizeof(store[i]), "%.*s",
					 (int)strcspn(run->g.volids[i], ":"), run->g.volids[i]);
				ids[i] = store[i];
			}
			(void)repl_job_set_storeids(js, ids, run->g.n_vols, &err);
		}
		break;
	case EDIT_END:
		repl_job_finished(js, run->start, e->duration, run->bytes, e->error);
		break;
	default:
		break;
	}
	return 0;
}

static int state(struct run *run, struct state_edit e)
{
	e.run = run;
	return repl_state_update(run->o->state_path, edit_state, &e, run->err);
}

/* ---- snapshots here ------------------------------------------------------- */

static int list_snaps(struct run *run, const char *volid, struct storage_snapshot **snaps,
		      size_t *n)
{
	int r = storage_snapshot_list(run->env, volid, snaps, n, run->err);

	return r < 0 ? drover_fail_prefix(run->err, r, "%s", volid) : 0;
}

/* pvesr's prepare() on this node: the job's stale snapshots go. */
static int prepare_here(struct run *run, int64_t last_sync)
{
	struct repl_prepare_req q = {
		.jobid = run->jobid,
		.volids = run->volids,
		.n = run->g.n_vols,
		.last_sync = last_sync,
		.parent = run->parent,
	};
	struct json_object *out = NULL;
	int r = repl_prepare_local(run->env, &q, &out, run->rep, run->err);

	if (out)
		json_object_put(out);
	return r;
}

static void delete_new_snapshots(struct run *run, size_t upto)
{
	for (size_t i = 0; i < upto; i++) {
		struct drover_err e = { "" };

		if (storage_snapshot_op(run->env, run->volids[i], STORAGE_SNAP_DELETE, run->snap,
					&e) < 0)
			drover_report_warn(run->rep, "%s", e.text);
	}
}

/* Freeze, snapshot every volume, thaw at once. */
static int snapshot_all(struct run *run)
{
	struct repl_freeze f;
	int r = 0;
	size_t i;

	repl_freeze(&f, &run->g, run->rep);
	for (i = 0; i < run->g.n_vols && r == 0; i++) {
		drover_report_log(run->rep, "create snapshot '%s' on %s", run->snap,
				  run->volids[i]);
		r = storage_snapshot_op(run->env, run->volids[i], STORAGE_SNAP_CREATE, run->snap,
					run->err);
	}
	repl_thaw(&f, run->rep);
	if (r < 0)
		delete_new_snapshots(run, i - 1);
	return r;
}

/* The target is told where the source's unshared storages are, so it can refuse to be them. */
static int source_locations(struct run *run, const char *const *scan, size_t nscan,
			    struct repl_prepare_req *q)
{
	size_t n = 0;
	int r = repl_source_locations(run->env, q->volids, q->n, scan, nscan, run->locs, &n,
				      run->err);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		run->loc_ptrs[i] = run->locs[i];
	q->source_locations = run->loc_ptrs;
	q->n_source_locations = n;
	return 0;
}

/* ---- the base of each volume ---------------------------------------------- */

static int choose_bases(struct run *run, struct json_object *remote)
{
	const char *missing[REPL_VOLUMES_MAX];
	size_t n_missing = 0;
	int r = 0;

	for (size_t i = 0; i < run->g.n_vols && r == 0; i++) {
		struct storage_snapshot *local = NULL, *there = NULL;
		struct json_object *vol = NULL;
		size_t nl = 0, nt = 0;
		struct repl_base_query q = {
			.jobid = run->jobid,
			.last_sync = run->last_sync,
			.parent = run->parent,
		};

		r = list_snaps(run, run->volids[i], &local, &nl);
		if (r == 0 && json_object_object_get_ex(remote, run->volids[i], &vol))
			r = repl_snapinfo_from_json(vol, &there, &nt, run->err);
		if (r == 0) {
			q.local = local;
			q.n_local = nl;
			q.remote_has_volume = vol != NULL;
			q.remote = there;
			q.n_remote = nt;
			repl_select_base(&q, &run->base[i]);
			if (run->base[i].kind == REPL_BASE_MISSING)
				missing[n_missing++] = run->volids[i];
			if (run->base[i].kind == REPL_BASE_INCREMENTAL && run->last_sync == 0)
				drover_report_warn(
					run->rep,
					"no job state on this node: %s starts from '%s', the newest "
					"snapshot both sides share; whatever %s wrote to it after "
					"that snapshot is rolled back by this run",
					run->volids[i], run->base[i].name, run->job->target);
			if (run->base[i].remote_newer)
				drover_report_warn(
					run->rep,
					"%s on %s has %zu snapshot(s) newer than the base '%s': "
					"this run rolls them back (data written there since is lost)",
					run->volids[i], run->job->target, run->base[i].remote_newer,
					run->base[i].name);
		}
		free(local);
		free(there);
	}
	if (r == 0 && n_missing)
		r = repl_missing_base_error(run->err, missing, n_missing);
	return r;
}

/* ---- the transfer --------------------------------------------------------- */

static int send_volume(struct run *run, size_t i)
{
	const struct repl_base *b = &run->base[i];
	struct storage_copy_req req = {
		.volid = run->volids[i],
		.node = run->job->target,
		.snapshot = run->snap,
		.base = b->kind == REPL_BASE_INCREMENTAL ? b->name : NULL,
		/* one snapshot per stream, on top of the base (btrfs send -p, zfs send -i) */
		.with_snapshots = false,
	};
	struct storage_copy_opts co = {
		.rate = (uint64_t)(run->job->rate * 1000000.0),
		.compress = run->o->compress,
		.rep = run->rep,
		.cancel = run->o->cancel,
		.ssh_control = sshmux_control(&run->mux),
	};
	struct storage_copy_result res;
	int r;

	if (req.base)
		drover_report_log(run->rep, "incremental sync '%s' (%s => %s)", req.volid, req.base,
				  run->snap);
	else
		drover_report_log(run->rep, "full sync '%s' (%s)", req.volid, run->snap);
	memset(&res, 0, sizeof(res));
	r = storage_copy(run->env, &req, &co, &res, run->err);
	if (r < 0)
		return r;
	run->bytes += res.stats.stream_bytes;
	drover_report_log(run->rep, "%s: %" PRIu64 " bytes in %.1f s", req.volid,
			  res.stats.stream_bytes, (double)res.stats.elapsed_ns / 1e9);
	return 0;
}

static int transfer_all(struct run *run)
{
	char rate[32] = "none";

	if (run->job->rate > 0)
		snprintf(rate, sizeof(rate), "%g MByte/s", run->job->rate);
	drover_report_log(run->rep, "using secure transmission, rate limit: %s", rate);
	for (size_t i = 0; i < run->g.n_vols; i++) {
		int r = send_volume(run, i);

		if (r < 0) {
			/* the old base stays on both sides: the next run is incremental */
			delete_new_snapshots(run, run->g.n_vols);
			return r;
		}
	}
	return 0;
}

/* ---- one run -------------------------------------------------------------- */

static int load_guest(struct run *run)
{
	int r = repl_guest_load(&run->env->cfs, run->job->guest, &run->g, run->err);

	if (r < 0)
		return r;
	if (!streq(run->g.node, run->env->cfs.node))
		return drover_fail(run->err, -EREMOTE,
				   "guest %" PRIu32 " is on node %s, not on this node (%s)",
				   run->job->guest, run->g.node, run->env->cfs.node);
	r = repl_guest_volumes(&run->g, &run->env->cfg, run->err);
	for (size_t i = 0; r == 0 && i < run->g.n_vols; i++)
		run->volids[i] = run->g.volids[i];
	run->parent = guest_get(guest_conf_current(run->g.conf), "parent");
	return r;
}

static int replicate(struct run *run)
{
	struct repl_prepare_req q = {
		.jobid = run->jobid,
		.volids = run->volids,
		.last_sync = run->last_sync,
		.parent = run->parent,
	};
	struct json_object *remote = NULL;
	char list[1024] = "";
	int r;

	if (streq(run->job->target, run->env->cfs.node))
		return drover_fail(run->err, -EINVAL, "target %s is the guest's own node",
				   run->job->target);
	if (run->start <= run->last_sync)
		return drover_fail(run->err, -EINVAL,
				   "the run's start %" PRId64
				   " is not after the last sync %" PRId64,
				   run->start, run->last_sync);
	for (size_t i = 0; i < run->g.n_vols; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? "," : "",
			 run->volids[i]);
	drover_report_log(run->rep, "volumes => %s", list);
	if (run->g.n_vols == 0)
		return drover_fail(run->err, -ENOENT,
				   "guest %" PRIu32 " has no replicatable volumes",
				   run->job->guest);
	q.n = run->g.n_vols;
	r = source_locations(run, NULL, 0, &q);
	if (r == 0)
		r = prepare_here(run, run->last_sync);
	if (r == 0)
		r = repl_remote_prepare(&run->env->cfs, run->job->target, sshmux_control(&run->mux),
					&q, &remote, run->err);
	if (r == 0)
		r = choose_bases(run, remote);
	if (remote)
		json_object_put(remote);
	if (r == 0)
		r = repl_snapname(run->jobid, run->start, run->snap, sizeof(run->snap));
	if (r == 0)
		r = snapshot_all(run);
	if (r == 0)
		r = transfer_all(run);
	if (r < 0)
		return r;
	/* the base the next run needs is recorded before any older one goes */
	r = state(run, (struct state_edit){ .what = EDIT_SYNCED });
	if (r < 0)
		return r;
	run->last_sync = run->start;
	(void)prepare_here(run, run->start);
	q.last_sync = run->start;
	if (repl_remote_finalize(&run->env->cfs, run->job->target, sshmux_control(&run->mux), &q,
				 run->err) < 0)
		drover_report_warn(run->rep, "%s", run->err->text);
	run->err->text[0] = '\0';
	return 0;
}

/* remove_job: the job's snapshots here (and with full its volumes on the target), then the job. */
static int edit_remove(struct repl_cfg *cfg, void *ctx, struct drover_err *err)
{
	const struct repl_job *job = ctx;

	(void)err;
	repl_cfg_remove(cfg, job->guest, job->jobnum);
	return 0;
}

static int remove_job(struct run *run)
{
	int r;

	drover_report_log(run->rep, "start job removal - mode '%s'",
			  run->job->remove_job == REPL_REMOVE_FULL ? "full" : "local");
	if (run->job->remove_job == REPL_REMOVE_FULL &&
	    !streq(run->job->target, run->env->cfs.node)) {
		const char *scan[REPL_VOLUMES_MAX];
		char store[REPL_VOLUMES_MAX][STORAGE_ID_MAX];
		struct repl_prepare_req q = {
			.jobid = run->jobid,
			.last_sync = 1,
			.scan = scan,
			.n_scan = run->g.n_vols,
		};
		struct json_object *out = NULL;

		for (size_t i = 0; i < run->g.n_vols; i++) {
			snprintf(store[i], sizeof(store[i]), "%.*s",
				 (int)strcspn(run->g.volids[i], ":"), run->g.volids[i]);
			scan[i] = store[i];
		}
		/* a target that is the source's own storage would free the guest's disks */
		r = source_locations(run, scan, run->g.n_vols, &q);
		if (r < 0)
			return r;
		r = repl_remote_prepare(&run->env->cfs, run->job->target, sshmux_control(&run->mux),
					&q, &out, run->err);
		if (out)
			json_object_put(out);
		if (r < 0)
			return r;
	}
	r = prepare_here(run, 1);
	if (r == 0)
		r = repl_cfg_edit(&run->env->cfs, NULL, edit_remove, (void *)run->job, run->err);
	if (r == 0)
		r = state(run, (struct state_edit){ .what = EDIT_REMOVE });
	if (r == 0)
		drover_report_log(run->rep, "job removed");
	return r;
}

static void read_last_sync(struct run *run)
{
	struct repl_state s;
	struct drover_err e;
	const struct repl_job_state *js;

	if (repl_state_read(run->o->state_path, &s, &e) < 0)
		return;
	js = repl_state_find(&s, run->job->guest, run->job->target);
	run->last_sync = js ? js->last_sync : 0;
	repl_state_free(&s);
}

/* The run's connection to the target; without one, each ssh makes its own. */
static void open_mux(struct run *run)
{
	struct drover_err e = { "" };

	if (streq(run->job->target, run->env->cfs.node))
		return;
	if (sshmux_open(&run->env->cfs, run->job->target, &run->mux, &e) < 0)
		drover_report_warn(run->rep, "%s (going on with a connection per command)", e.text);
}

static uint64_t my_ptime(void)
{
	struct procstat st;

	return procstat_read(getpid(), &st) == 0 ? st.starttime : 0;
}

int repl_run_job(struct storage_env *env, const struct repl_job *job, const struct repl_run_opts *o,
		 struct repl_run_result *res, struct drover_err *err)
{
	struct run run = { .env = env, .job = job, .o = o, .err = err };
	struct repl_runlog log;
	uint64_t t0 = now_monotonic_ns();
	int r;

	memset(res, 0, sizeof(*res));
	repl_jobid_format(job->guest, job->jobnum, run.jobid);
	r = repl_runlog_open(&log, o->log_dir, run.jobid, o->rep, err);
	if (r < 0)
		return r;
	run.rep = &log.rep;
	read_last_sync(&run);
	run.start = now_wall_s();
	if (run.start <= run.last_sync) {
		/* two runs within one second: the snapshot names must differ */
		sleep((unsigned)(run.last_sync - run.start + 1));
		run.start = now_wall_s();
	}
	drover_report_log(run.rep, "start replication job");
	if (o->adopted_from) {
		struct repl_adopt a = { .stolen = true };
		char text[1024];

		snprintf(a.old_source, sizeof(a.old_source), "%s", o->adopted_from);
		repl_adopt_warning(&a, job->guest, env->cfs.node, text, sizeof(text));
		drover_report_warn(run.rep, "%s", text);
	}
	r = state(&run, (struct state_edit){ .what = EDIT_START,
					     .pid = (int32_t)getpid(),
					     .ptime = my_ptime() });
	if (r == 0)
		r = load_guest(&run);
	if (r == -ENOENT && job->remove_job != REPL_REMOVE_NONE) {
		/* the guest is gone: its job still goes (the target's volumes with full) */
		drover_report_log(run.rep, "%s", err->text);
		err->text[0] = '\0';
		run.g.n_vols = 0;
		r = 0;
	}
	if (r == 0)
		open_mux(&run);
	if (r == 0)
		r = job->remove_job != REPL_REMOVE_NONE ? remove_job(&run) : replicate(&run);
	sshmux_close(&run.mux);
	res->duration = (double)(now_monotonic_ns() - t0) / 1e9;
	res->bytes = run.bytes;
	res->removed = r == 0 && job->remove_job != REPL_REMOVE_NONE;
	if (r < 0)
		drover_report_log(run.rep, "end replication job with error: %s", err->text);
	else
		drover_report_log(run.rep, "end replication job");
	if (!res->removed) {
		struct drover_err e2 = { "" };
		struct run fin = run;

		fin.err = &e2;
		(void)state(&fin, (struct state_edit){ .what = EDIT_END,
						       .duration = res->duration,
						       .error = r < 0 ? err->text : NULL });
	}
	repl_guest_free(&run.g);
	repl_runlog_close(&log);
	return r;
}
