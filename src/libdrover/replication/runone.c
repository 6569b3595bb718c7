/* SPDX-License-Identifier: MIT */
#include "runone.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "basic/util.h"
#include "config.h"
#include "jobstatus.h"

int repl_run_id(const char *socket, uint32_t guest, uint32_t jobnum, const struct repl_run_opts *o,
		struct repl_run_result *res, struct drover_err *err)
{
	struct storage_env env;
	struct repl_cfg cfg = { 0 };
	const struct repl_job *j;
	struct repl_job job;
	int r = storage_env_open(&env, socket, err);

	if (r < 0)
		return r;
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
	else
		r = repl_run_job(&env, &job, o, res, err);
out:
	repl_cfg_free(&cfg);
	storage_env_close(&env);
	return r;
}
