/* SPDX-License-Identifier: MIT */
#include "jobstatus.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/procstat.h"
#include "basic/util.h"
#include "libdrover/format/calendar.h"
#include "schedule.h"

bool repl_guest_is_here(const struct cfs_brief *b, uint32_t vmid)
{
	static const enum guest_type types[] = { GUEST_QEMU, GUEST_LXC };

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		char rel[128], path[4096];

		if (guest_conf_relpath(b->node, types[i], vmid, rel, sizeof(rel)) == 0 &&
		    cfs_path(b, rel, path, sizeof(path)) == 0 && access(path, F_OK) == 0)
			return true;
	}
	return false;
}

bool repl_member_online(const struct repl_members *m, const char *node)
{
	if (!m || !m->nodes)
		return true;
	for (size_t i = 0; i < m->n; i++)
		if (streq(m->nodes[i].name, node))
			return m->nodes[i].online;
	return false;
}

bool repl_job_needs_target(const struct repl_job *job)
{
	return job->remove_job != REPL_REMOVE_LOCAL;
}

int repl_members_get(const char *socket, struct repl_members *m)
{
	struct cluster_node *v = NULL;
	struct ipc_client c;
	size_t n = 0;
	int r;

	m->nodes = NULL;
	m->n = 0;
	r = ipc_client_connect(&c, socket);
	if (r < 0)
		return r;
	r = cluster_nodes_get(&c, &v, &n);
	ipc_client_close(&c);
	if (r < 0)
		return r;
	m->nodes = v;
	m->n = n;
	return 0;
}

static bool alive(const struct repl_job_state *js)
{
	struct procstat ps;

	if (js->pid <= 0)
		return false;
	return repl_job_running(js, procstat_read(js->pid, &ps) == 0 ? ps.starttime : 0);
}

static int by_id(const void *a, const void *b)
{
	const struct repl_job_status *x = a, *y = b;

	if (x->job.guest != y->job.guest)
		return x->job.guest < y->job.guest ? -1 : 1;
	return x->job.jobnum < y->job.jobnum ? -1 : x->job.jobnum > y->job.jobnum;
}

int repl_jobs_status(const struct cfs_brief *b, const struct repl_cfg *cfg,
		     const struct repl_state *st, const struct repl_members *members,
		     bool with_disabled, struct repl_job_status **out, size_t *n,
		     struct drover_err *err)
{
	struct repl_job_status *v = calloc(cfg->n ? cfg->n : 1, sizeof(*v));
	size_t k = 0;

	if (!v)
		return drover_fail(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < cfg->n; i++) {
		const struct repl_job *j = &cfg->jobs[i];
		const struct repl_job_state *js;
		struct repl_job_status *s = &v[k];
		struct calendar_event ev;
		struct repl_sched_input in = { 0 };

		bool adopt;

		if (!repl_guest_is_here(b, j->guest))
			continue;
		/* taken over: the run adopts it, even a job that targets this node now */
		adopt = j->remove_job == REPL_REMOVE_NONE && j->source[0] &&
			!streq(j->source, b->node);
		if (!adopt && streq(j->target, b->node) && j->remove_job == REPL_REMOVE_NONE)
			continue;
		if (j->disable && !with_disabled && j->remove_job == REPL_REMOVE_NONE)
			continue;
		s->job = *j;
		js = repl_state_find(st, j->guest, j->target);
		if (js) {
			s->st = *js;
			s->has_state = true;
			s->running = alive(js);
		}
		in.state = js;
		in.removing = j->remove_job != REPL_REMOVE_NONE;
		in.target_online = repl_member_online(members, j->target);
		if (calendar_parse(repl_job_schedule(j), &ev, NULL, NULL) == 0)
			in.schedule = &ev;
		s->next_sync = in.schedule || in.removing ? repl_next_sync(&in) : REPL_NEXT_NEVER;
		/*
		 * last_try 0 with a state is schedule-now's mark: due now, whatever
		 * the schedule (pvesr only rewinds the schedule, which does nothing
		 * for a job whose next event lies ahead even counted from 1970)
		 */
		if (js && js->last_try == 0 && !in.removing)
			s->next_sync = REPL_NEXT_NOW;
		s->adopt = adopt;
		/* an adoption that failed waits out the retry ramp as a failed run does */
		if (s->adopt)
			s->next_sync =
				js && js->fail_count > 0 && js->last_try > 0
					? js->last_try +
						  repl_retry_delay(in.retry ? in.retry
									    : &repl_retry_default,
								   js->fail_count)
					: REPL_NEXT_NOW;
		/* the target is away: wait for it rather than fail and count */
		else if (!in.target_online && repl_job_needs_target(j)) {
			s->target_offline = true;
			s->next_sync = REPL_NEXT_NEVER;
		}
		if (j->disable && !in.removing)
			s->next_sync = REPL_NEXT_NEVER;
		k++;
	}
	qsort(v, k, sizeof(*v), by_id);
	*out = v;
	*n = k;
	return 0;
}
