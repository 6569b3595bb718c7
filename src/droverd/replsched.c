/* SPDX-License-Identifier: MIT */
/*
 * The replication scheduler (pvesr's pvescheduler, without its one serial
 * worker per node): it sleeps on a realtime timer until the earliest next
 * sync of this node's jobs, and is woken early by a droverfs watch on
 * replication.cfg (a job created, changed, enabled, deleted) and by
 * inotify on the state file's directory (schedule-now writes the state);
 * while a job waits for an offline target it asks every few seconds
 * whether the target is back, and looks at the jobs when it is.
 * Then every due job whose guest has no run in progress starts as a task
 * ("replicate", JOBID) in a worker, up to max-workers at once (default 4,
 * datacenter.cfg `replication: max-workers=N`): a long job no longer holds
 * back the short ones. A finished run wakes the scheduler again. The jobs'
 * state is published in droverfs's status store under "replication".
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

#include "basic/log.h"
#include "basic/util.h"
#include "basic/wire.h"
#include "droverd.h"
#include "libdrover/cfs/kv.h"
#include "libdrover/replication/jobstatus.h"
#include "libdrover/replication/runone.h"
#include "libdrover/replication/schedule.h"
#include "libdrover/replication/state_store.h"

#define MAX_WORKERS_DEFAULT 4
#define MAX_WORKERS_LIMIT 64
#define LOOK_AGAIN_S 60 /* at least this often, whatever the next sync says */
/*
 * While a job waits for an offline target, the membership is looked at
 * this often (one question to droverfs, nothing published): membership
 * changes are no droverfs watch event, and a minute's wait after the node
 * returned is too long. A target back online wakes the scheduler.
 */
#define OFFLINE_RECHECK_S 5
#define WAITING_MAX 16 /* offline targets watched; more wait for the minute's look */
#define KV_KEY "replication"

struct running {
	uint32_t guest, jobnum;
	struct droverd_worker *w;
};

struct droverd_repl {
	struct droverd *d;
	sd_event_source *timer, *rewatch, *watch_io, *inotify;
	struct ipc_client watch;
	bool watching;
	struct running run[MAX_WORKERS_LIMIT];
	size_t n_run;
	sd_event_source *recheck; /* the offline targets' look */
	char waiting[WAITING_MAX][NODE_NAME_MAX + 1]; /* the offline targets jobs wait for */
	size_t n_waiting;
	char state_path[PATH_MAX];
};

struct job_arg {
	const char *socket;
	uint32_t guest, jobnum;
};

static void evaluate(struct droverd_repl *s);

/* datacenter.cfg's "replication: max-workers=N" (also "...,max-workers=N,..."). */
static unsigned max_workers(const struct cfs_brief *b)
{
	struct buf text = BUF_INIT;
	unsigned n = MAX_WORKERS_DEFAULT;
	const char *p;

	if (cfs_read(b, "datacenter.cfg", &text) < 0 || buf_terminate(&text) < 0) {
		buf_free(&text);
		return n;
	}
	for (char *line = (char *)text.data; line; line = strchr(line, '\n')) {
		while (*line == '\n')
			line++;
		if (!str_has_prefix(line, "replication:"))
			continue;
		p = strstr(line, "max-workers=");
		if (p && p < strchrnul(line, '\n')) {
			unsigned long v = strtoul(p + 12, NULL, 10);

			if (v >= 1 && v <= MAX_WORKERS_LIMIT)
				n = (unsigned)v;
		}
	}
	buf_free(&text);
	return n;
}

/* ---- the worker ----------------------------------------------------------- */

static int run_job(void *arg, const struct drover_reporter *log, struct drover_err *err)
{
	const struct job_arg *a = arg;
	struct repl_run_opts o = { .rep = log };
	struct repl_run_result res;

	return repl_run_id(a->socket, a->guest, a->jobnum, &o, &res, err);
}

static void job_done(struct droverd *d, struct droverd_worker *w, const char *status)
{
	struct droverd_repl *s = d->repl;

	for (size_t i = 0; i < s->n_run; i++)
		if (s->run[i].w == w) {
			s->run[i] = s->run[--s->n_run];
			break;
		}
	evaluate(s);
}

static bool guest_busy(const struct droverd_repl *s, uint32_t guest)
{
	for (size_t i = 0; i < s->n_run; i++)
		if (s->run[i].guest == guest)
			return true;
	return false;
}

static void start_job(struct droverd_repl *s, const struct repl_job *j)
{
	struct job_arg a = { .socket = s->d->opt.socket[0] ? s->d->opt.socket : NULL,
			     .guest = j->guest,
			     .jobnum = j->jobnum };
	char id[REPL_JOBID_MAX];
	struct task_spec spec = { .type = "replicate", .id = id };
	struct running *r = &s->run[s->n_run];

	repl_jobid_format(j->guest, j->jobnum, id);
	/* the worker is a fork: a copy of a on our stack is all it needs */
	if (droverd_worker_start(s->d, &spec, run_job, &a, job_done, &r->w) < 0)
		return;
	r->guest = j->guest;
	r->jobnum = j->jobnum;
	s->n_run++;
}

/* ---- looking at the jobs -------------------------------------------------- */

static void publish(struct droverd_repl *s, const struct repl_job_status *v, size_t n, int64_t now)
{
	struct ipc_client *c = droverd_cfs(s->d);
	struct json_object *a = json_object_new_array();
	const char *text;
	int r;

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		char id[REPL_JOBID_MAX];

		repl_jobid_format(v[i].job.guest, v[i].job.jobnum, id);
		json_object_object_add(o, "id", json_object_new_string(id));
		json_object_object_add(o, "target", json_object_new_string(v[i].job.target));
		json_object_object_add(o, "last_sync", json_object_new_int64(v[i].st.last_sync));
		json_object_object_add(
			o, "lag",
			json_object_new_int64(v[i].st.last_sync ? now - v[i].st.last_sync : -1));
		json_object_object_add(o, "duration", json_object_new_double(v[i].st.duration));
		json_object_object_add(o, "bytes", json_object_new_int64((int64_t)v[i].st.bytes));
		json_object_object_add(o, "fail_count", json_object_new_int64(v[i].st.fail_count));
		json_object_object_add(o, "next_sync", json_object_new_int64(v[i].next_sync));
		json_object_object_add(o, "target_offline",
				       json_object_new_boolean(v[i].target_offline));
		if (v[i].st.error[0])
			json_object_object_add(o, "error", json_object_new_string(v[i].st.error));
		json_object_array_add(a, o);
	}
	text = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN);
	if (c && (r = cfs_kv_set(c, KV_KEY, text, strlen(text))) < 0)
		droverd_cfs_lost(s->d, r);
	json_object_put(a);
}

static void wait_for_target(struct droverd_repl *s, const char *node)
{
	for (size_t i = 0; i < s->n_waiting; i++)
		if (streq(s->waiting[i], node))
			return;
	if (s->n_waiting < WAITING_MAX)
		snprintf(s->waiting[s->n_waiting++], NODE_NAME_MAX + 1, "%s", node);
}

/* The membership look OFFLINE_RECHECK_S from now. */
static void arm_recheck(struct droverd_repl *s)
{
	uint64_t t;

	if (sd_event_now(s->d->event, CLOCK_MONOTONIC, &t) < 0)
		return;
	sd_event_source_set_time(s->recheck, t + OFFLINE_RECHECK_S * 1000000ull);
	sd_event_source_set_enabled(s->recheck, SD_EVENT_ONESHOT);
}

/* Every OFFLINE_RECHECK_S while jobs wait: is one of their targets back? */
static int on_recheck(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct droverd_repl *s = userdata;
	struct repl_members members = { 0 };
	bool back = false;

	if (repl_members_get(s->d->opt.socket[0] ? s->d->opt.socket : NULL, &members) == 0)
		for (size_t i = 0; i < s->n_waiting && !back; i++)
			back = repl_member_online(&members, s->waiting[i]);
	free((void *)members.nodes);
	if (back)
		evaluate(s); /* looks at every job, and re-arms this while some still wait */
	else
		arm_recheck(s);
	return 0;
}

static void arm(struct droverd_repl *s, int64_t at)
{
	uint64_t usec = (uint64_t)at * 1000000;

	sd_event_source_set_time(s->timer, usec);
	sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

static void evaluate(struct droverd_repl *s)
{
	struct drover_err err = { "" };
	struct repl_job_status *v = NULL;
	struct repl_cfg cfg = { 0 };
	struct repl_state st;
	struct repl_members members = { 0 };
	struct cfs_brief b;
	int64_t now = now_wall_s(), next = now + LOOK_AGAIN_S;
	size_t n = 0;
	unsigned limit;

	repl_state_init(&st);
	(void)repl_members_get(s->d->opt.socket[0] ? s->d->opt.socket : NULL, &members);
	if (s->d->stopping ||
	    cfs_brief_get(s->d->opt.socket[0] ? s->d->opt.socket : NULL, &b) < 0 ||
	    repl_cfg_load(&b, &cfg, &err) < 0 || repl_state_read(NULL, &st, &err) < 0 ||
	    repl_jobs_status(&b, &cfg, &st, &members, true, &v, &n, &err) < 0) {
		if (err.text[0])
			log_warn("replication: %s", err.text);
		goto out;
	}
	limit = max_workers(&b);
	s->n_waiting = 0;
	for (size_t i = 0; i < n; i++) {
		const struct repl_job_status *j = &v[i];

		if (j->target_offline)
			wait_for_target(s, j->job.target);
		if (j->next_sync == REPL_NEXT_NEVER || j->running || guest_busy(s, j->job.guest))
			continue;
		if (!repl_job_due(j->next_sync, now)) {
			if (j->next_sync < next)
				next = j->next_sync;
			continue;
		}
		if (s->n_run < limit)
			start_job(s, &j->job);
	}
	publish(s, v, n, now);
	if (s->n_waiting)
		arm_recheck(s);
	else
		sd_event_source_set_enabled(s->recheck, SD_EVENT_OFF);
	if (!s->watching)
		next = now + 5 < next ? now + 5 : next; /* no watch: look more often */
out:
	arm(s, next > now ? next : now + 1);
	free(v);
	free((void *)members.nodes);
	repl_state_free(&st);
	repl_cfg_free(&cfg);
}

/* ---- what wakes it -------------------------------------------------------- */

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct droverd_repl *s = userdata;

	evaluate(s);
	return 0;
}

static void unwatch(struct droverd_repl *s)
{
	s->watch_io = sd_event_source_disable_unref(s->watch_io);
	if (s->watching)
		ipc_client_close(&s->watch);
	s->watching = false;
}

static int on_watch(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct droverd_repl *s = userdata;
	struct buf payload = BUF_INIT;
	struct ipc_header h;

	if (ipc_client_next(&s->watch, &h, &payload) < 0 || h.type == IPC_EVENT_OVERFLOW)
		unwatch(s);
	buf_free(&payload);
	evaluate(s);
	return 0;
}

/* The droverfs watch on replication.cfg (again after droverfs went away). */
static void watch(struct droverd_repl *s)
{
	struct buf req = BUF_INIT, reply = BUF_INIT;
	struct wire_writer w;
	int32_t status = -1;

	if (s->watching)
		return;
	if (ipc_client_connect(&s->watch, s->d->opt.socket[0] ? s->d->opt.socket : NULL) < 0)
		return;
	wire_writer_init(&w, &req);
	wire_put_str(&w, REPL_CFG_NAME);
	if (ipc_client_call(&s->watch, IPC_WATCH, req.data, req.len, &status, &reply) < 0 ||
	    status != 0 ||
	    sd_event_add_io(s->d->event, &s->watch_io, s->watch.fd, EPOLLIN, on_watch, s) < 0) {
		ipc_client_close(&s->watch);
	} else {
		s->watching = true;
	}
	buf_free(&req);
	buf_free(&reply);
}

static int on_inotify(sd_event_source *src, const struct inotify_event *ev, void *userdata)
{
	struct droverd_repl *s = userdata;
	char copy[PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", s->state_path);
	if (ev->len && streq(ev->name, basename(copy)))
		evaluate(s);
	return 0;
}

static int on_rewatch(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct droverd_repl *s = userdata;

	watch(s);
	sd_event_source_set_time(src, usec + 10 * 1000000ull);
	sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	return 0;
}

int droverd_replication_start(struct droverd *d)
{
	struct droverd_repl *s = calloc(1, sizeof(*s));
	char dir[PATH_MAX];
	int r;

	if (!s)
		return -ENOMEM;
	s->d = d;
	d->repl = s;
	snprintf(s->state_path, sizeof(s->state_path), "%s", repl_state_path(NULL));
	snprintf(dir, sizeof(dir), "%s", s->state_path);
	(void)mkdir_p(dirname(dir), 0755);
	r = sd_event_add_time(d->event, &s->timer, CLOCK_REALTIME, 0, 1000000, on_timer, s);
	if (r < 0)
		return r;
	r = sd_event_add_time_relative(d->event, &s->rewatch, CLOCK_MONOTONIC, 0, 0, on_rewatch, s);
	if (r < 0)
		return r;
	r = sd_event_add_time_relative(d->event, &s->recheck, CLOCK_MONOTONIC,
				       OFFLINE_RECHECK_S * 1000000ull, 0, on_recheck, s);
	if (r < 0)
		return r;
	sd_event_source_set_enabled(s->recheck, SD_EVENT_OFF);
	snprintf(dir, sizeof(dir), "%s", s->state_path);
	if (sd_event_add_inotify(d->event, &s->inotify, dirname(dir), IN_MOVED_TO | IN_CLOSE_WRITE,
				 on_inotify, s) < 0)
		log_warn("replication: no inotify on %s: schedule-now waits for the next look",
			 dir);
	log_info("replication scheduler: started");
	return 0;
}

void droverd_replication_stop(struct droverd *d)
{
	struct droverd_repl *s = d->repl;

	if (!s)
		return;
	unwatch(s);
	s->timer = sd_event_source_disable_unref(s->timer);
	s->rewatch = sd_event_source_disable_unref(s->rewatch);
	s->recheck = sd_event_source_disable_unref(s->recheck);
	s->inotify = sd_event_source_disable_unref(s->inotify);
	free(s);
	d->repl = NULL;
}
