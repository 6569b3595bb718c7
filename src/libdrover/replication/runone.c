/* SPDX-License-Identifier: MIT */
#include "runone.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "adopt.h"
#include "config.h"
#include "jobstatus.h"
#include "state.h"
#include "state_store.h"

struct adopt_failed {
	const struct repl_job *job;
	const char *node;
	const char *error;
};

static int edit_adopt_failed(struct repl_state *s, void *ctx)
{
	const struct adopt_failed *f = ctx;
	struct repl_job_state *js;
	int64_t now = now_wall_s();
	int r = repl_state_get(s, f->job->guest, f->job->target, &js);

	if (r < 0)
		return r;
	repl_job_started(js, now, now, f->node, 0, 0);
	repl_job_finished(js, now, 0, 0, f->error);
	return 0;
}

/*
 * An adoption that failed counts as a failed run of the job: droverd
 * retries it on the job's retry ramp (jobstatus.c), not at once and again.
 */
static void record_adopt_failure(const struct cfs_brief *b, const struct repl_run_opts *o,
				 const struct repl_job *job, const struct drover_err *err)
{
	struct adopt_failed f = { .job = job, .node = b->node, .error = err->text };
	struct drover_err e2;

	(void)repl_state_update(o->state_path, edit_adopt_failed, &f, &e2);
}

/* The guest's jobs adopted if it was taken over; the task log says what that means. */
static int adopt(const struct cfs_brief *b, const struct repl_run_opts *o, uint32_t guest,
		 struct repl_adopt *a, struct drover_err *err)
{
	char text[1024];
	int r;

	if (!repl_guest_is_here(b, guest))
		return 0; /* refused below */
	r = repl_adopt_apply(b, o->state_path, guest, a, err);
	if (r < 0 || !a->stolen)
		return r;
	repl_adopt_warning(a, guest, b->node, text, sizeof(text));
	drover_report_warn(o->rep, "%s", text);
	return 0;
}

int repl_run_id(const char *socket, uint32_t guest, uint32_t jobnum, const struct repl_run_opts *o,
		struct repl_run_result *res, struct drover_err *err)
{
	struct storage_env env;
	struct repl_cfg cfg = { 0 };
	const struct repl_job *j;
	struct repl_job job;
	struct repl_members members = { 0 };
	struct repl_adopt adopted = { 0 };
	struct repl_run_opts opts = *o;
	int r = storage_env_open(&env, socket, err);

	if (r < 0)
		return r;
	(void)repl_members_get(socket, &members); /* unknown: every target is tried */
	r = adopt(&env.cfs, o, guest, &adopted, err);
	if (r < 0) {
		/* the job as it is, unchanged by the failed adoption, carries the failure */
		struct drover_err e2;

		if (repl_cfg_load(&env.cfs, &cfg, &e2) == 0 &&
		    (j = repl_cfg_find(&cfg, guest, jobnum)))
			record_adopt_failure(&env.cfs, o, j, err);
		goto out;
	}
	r = repl_cfg_load(&env.cfs, &cfg, err);
	if (r < 0)
		goto out;
	j = repl_cfg_find(&cfg, guest, jobnum);
	if (!j) {
		r = drover_fail(err, -ENOENT,
				"replication job '%" PRIu32 "-%" PRIu32 "' does not exist", guest,
				jobnum);
		goto out;
	}
	job = *j;
	if (job.disable && job.remove_job == REPL_REMOVE_NONE)
		r = drover_fail(err, -EPERM, "job %" PRIu32 "-%" PRIu32 " is disabled", guest,
				jobnum);
	else if (!repl_guest_is_here(&env.cfs, guest))
		r = drover_fail(err, -EREMOTE, "guest %" PRIu32 " is not on this node (%s)", guest,
				env.cfs.node);
	else if (streq(job.target, env.cfs.node) && job.remove_job == REPL_REMOVE_NONE)
		r = drover_fail(err, -EINVAL, "job %" PRIu32 "-%" PRIu32 ": target is this node",
				guest, jobnum);
	else if (repl_job_needs_target(&job) && !repl_member_online(&members, job.target))
		r = drover_fail(err, -EHOSTDOWN,
				"target %s is offline: the job waits for it (not run, no failure "
				"counted)",
				job.target);
	else {
		opts.adopted_from = adopted.stolen ? adopted.old_source : NULL;
		r = repl_run_job(&env, &job, &opts, res, err);
	}
out:
	free((void *)members.nodes);
	repl_cfg_free(&cfg);
	storage_env_close(&env);
	return r;
}
