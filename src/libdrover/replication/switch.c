/* SPDX-License-Identifier: MIT */
#include "switch.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/util.h"

/* The target job i of guest will have after the switch. */
static const char *new_target_of(const struct repl_job *j, const char *old_target,
				 const char *new_target)
{
	return streq(j->target, old_target) ? new_target : j->target;
}

static int check_unique(const struct repl_job *jobs, size_t n, uint32_t guest,
			const char *old_target, const char *new_target, struct drover_err *err)
{
	for (size_t i = 0; i < n; i++) {
		if (jobs[i].guest != guest)
			continue;
		for (size_t k = i + 1; k < n; k++) {
			if (jobs[k].guest != guest)
				continue;
			if (streq(new_target_of(&jobs[i], old_target, new_target),
				  new_target_of(&jobs[k], old_target, new_target)))
				return drover_fail(err, -EEXIST,
						   "guest %" PRIu32 ": jobs %" PRIu32
						   " and %" PRIu32 " would both replicate to %s",
						   guest, jobs[i].jobnum, jobs[k].jobnum,
						   new_target_of(&jobs[i], old_target, new_target));
		}
	}
	return 0;
}

int repl_switch_target(struct repl_job *jobs, size_t n, uint32_t guest, const char *old_target,
		       const char *new_target, struct drover_err *err)
{
	int switched = 0, r = check_unique(jobs, n, guest, old_target, new_target, err);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (jobs[i].guest != guest)
			continue;
		if (streq(jobs[i].target, old_target)) {
			snprintf(jobs[i].target, sizeof(jobs[i].target), "%s", new_target);
			switched++;
		}
		snprintf(jobs[i].source, sizeof(jobs[i].source), "%s", old_target);
	}
	return switched;
}

int repl_state_for_transfer(const struct repl_state *s, uint32_t guest, const char *old_target,
			    const char *new_target, struct repl_state *out)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct repl_state_entry *e = &s->entries[i];
		struct repl_job_state *slot;
		int r;

		/* a job to the node the guest comes from cannot be: stale, dropped */
		if (e->guest != guest || streq(e->target, new_target))
			continue;
		r = repl_state_get(out, guest,
				   streq(e->target, old_target) ? new_target : e->target, &slot);
		if (r < 0) {
			repl_state_free(out);
			return r;
		}
		*slot = e->st;
		/* the run that may be going on belongs to this node, not to the target */
		slot->pid = 0;
		slot->ptime = 0;
	}
	return 0;
}
