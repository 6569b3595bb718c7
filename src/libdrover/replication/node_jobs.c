/* SPDX-License-Identifier: MIT */
#include "node_jobs.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "runone.h"
#include "schedule.h"
#include "state_json.h"
#include "state_store.h"

/* replication.cfg from droverfs on socket. */
static int load_cfg(const char *socket, struct cfs_brief *b, struct repl_cfg *cfg,
		    struct drover_err *err)
{
	int r = cfs_brief_get(socket, b);

	if (r < 0)
		return drover_fail(err, r, "cannot reach droverfs: %s", strerror(-r));
	return repl_cfg_load(b, cfg, err);
}

int repl_node_jobs(const char *socket, const char *state_path, bool with_disabled,
		   struct repl_job_status **v, size_t *n, struct drover_err *err)
{
	struct repl_members members = { 0 };
	struct repl_state st;
	struct repl_cfg cfg;
	struct cfs_brief b;
	int r = load_cfg(socket, &b, &cfg, err);

	*v = NULL;
	*n = 0;
	if (r < 0)
		return r;
	/* unknown membership: everyone is taken as online */
	(void)repl_members_get(socket, &members);
	r = repl_state_read(state_path, &st, err);
	if (r == 0)
		r = repl_jobs_status(&b, &cfg, &st, &members, with_disabled, v, n, err);
	free((void *)members.nodes);
	repl_state_free(&st);
	repl_cfg_free(&cfg);
	return r;
}

int repl_run_due(const char *socket, const struct repl_run_opts *o,
		 void (*failed)(void *ctx, uint32_t guest, uint32_t jobnum,
				const struct drover_err *err),
		 void *ctx, struct drover_err *err)
{
	struct repl_job_status *v;
	size_t n;
	int nfailed = 0;
	int64_t now;
	int r = repl_node_jobs(socket, o->state_path, false, &v, &n, err);

	if (r < 0)
		return r;
	now = now_wall_s();
	for (size_t i = 0; i < n; i++) {
		struct repl_run_result res;
		struct drover_err jerr = { "" };

		if (v[i].running || !repl_job_due(v[i].next_sync, now))
			continue;
		if (repl_run_id(socket, v[i].job.guest, v[i].job.jobnum, o, &res, &jerr) < 0) {
			nfailed++;
			if (failed)
				failed(ctx, v[i].job.guest, v[i].job.jobnum, &jerr);
		}
	}
	free(v);
	return nfailed;
}

struct now_req {
	uint32_t guest;
	const char *target;
};

static int edit_now(struct repl_state *s, void *ctx)
{
	const struct now_req *q = ctx;
	struct repl_job_state *js;
	int r = repl_state_get(s, q->guest, q->target, &js);

	if (r == 0)
		repl_job_schedule_now(js);
	return r;
}

int repl_schedule_now(const char *socket, const char *state_path, uint32_t guest, uint32_t jobnum,
		      struct drover_err *err)
{
	struct repl_cfg cfg;
	struct cfs_brief b;
	struct repl_job *j;
	struct now_req q = { .guest = guest };
	int r = load_cfg(socket, &b, &cfg, err);

	if (r < 0)
		return r;
	j = repl_cfg_find(&cfg, guest, jobnum);
	if (!j)
		r = drover_fail(err, -ENOENT,
				"replication job '%" PRIu32 "-%" PRIu32 "' does not exist", guest,
				jobnum);
	else {
		q.target = j->target;
		r = repl_state_update(state_path, edit_now, &q, err);
	}
	repl_cfg_free(&cfg);
	return r;
}

struct set_state_req {
	uint32_t guest;
	const char *json;
	struct drover_err *err;
};

static int edit_set_state(struct repl_state *s, void *ctx)
{
	struct set_state_req *q = ctx;

	return repl_state_guest_from_json(q->json, strlen(q->json), q->guest, s, q->err);
}

int repl_state_set_guest(const char *state_path, uint32_t guest, const char *json,
			 struct drover_err *err)
{
	struct drover_err perr = { "" };
	struct set_state_req q = { guest, json, &perr };
	int r = repl_state_update(state_path, edit_set_state, &q, err);

	/* the JSON's own error says more than the update's */
	if (r < 0 && perr.text[0])
		memcpy(err->text, perr.text, sizeof(err->text));
	return r;
}

/* ---- metrics -------------------------------------------------------------- */

static double m_last(const struct repl_job_status *s, int64_t now)
{
	return (double)s->st.last_sync;
}

static double m_lag(const struct repl_job_status *s, int64_t now)
{
	return s->st.last_sync ? (double)(now - s->st.last_sync) : -1;
}

static double m_duration(const struct repl_job_status *s, int64_t now)
{
	return s->st.duration;
}

static double m_bytes(const struct repl_job_status *s, int64_t now)
{
	return (double)s->st.bytes;
}

static double m_fail(const struct repl_job_status *s, int64_t now)
{
	return s->st.fail_count;
}

static double m_next(const struct repl_job_status *s, int64_t now)
{
	return (double)s->next_sync;
}

static double m_running(const struct repl_job_status *s, int64_t now)
{
	return s->running;
}

static const struct metric {
	const char *name, *help;
	double (*get)(const struct repl_job_status *s, int64_t now);
} metrics[] = {
	{ "last_sync_timestamp_seconds", "Start of the last successful run.", m_last },
	{ "lag_seconds", "Now minus the last successful sync (-1: never).", m_lag },
	{ "duration_seconds", "Duration of the last run.", m_duration },
	{ "bytes", "Stream bytes the last run moved.", m_bytes },
	{ "fail_count", "Failed runs since the last success.", m_fail },
	{ "next_sync_timestamp_seconds", "Next scheduled run (0: never, 1: now).", m_next },
	{ "running", "1 while a run is in progress.", m_running },
};

int repl_metrics_text(const struct repl_job_status *v, size_t n, int64_t now, struct buf *out)
{
	for (size_t m = 0; m < ARRAY_SIZE(metrics); m++) {
		const struct metric *mt = &metrics[m];
		int r = buf_printf(out,
				   "# HELP drover_replication_%s %s\n"
				   "# TYPE drover_replication_%s gauge\n",
				   mt->name, mt->help, mt->name);

		for (size_t i = 0; r == 0 && i < n; i++)
			r = buf_printf(out,
				       "drover_replication_%s{job=\"%" PRIu32 "-%" PRIu32
				       "\",guest=\"%" PRIu32 "\",target=\"%s\"} %.17g\n",
				       mt->name, v[i].job.guest, v[i].job.jobnum, v[i].job.guest,
				       v[i].job.target, mt->get(&v[i], now));
		if (r < 0)
			return r;
	}
	return 0;
}
