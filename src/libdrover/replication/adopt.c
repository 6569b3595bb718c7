/* SPDX-License-Identifier: MIT */
#include "adopt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/util.h"
#include "switch.h"

/* The first job of guest whose source is set and is not local_node, or NULL. */
static const struct repl_job *foreign_source(const struct repl_job *jobs, size_t n, uint32_t guest,
					     const char *local_node)
{
	for (size_t i = 0; i < n; i++)
		if (jobs[i].guest == guest && jobs[i].source[0] &&
		    !streq(jobs[i].source, local_node))
			return &jobs[i];
	return NULL;
}

bool repl_adopt_pending(const struct repl_job *jobs, size_t n, uint32_t guest,
			const char *local_node)
{
	return foreign_source(jobs, n, guest, local_node) != NULL;
}

int repl_adopt_guest(struct repl_job *jobs, size_t n, uint32_t guest, const char *local_node,
		     struct repl_adopt *out, struct drover_err *err)
{
	const struct repl_job *j = foreign_source(jobs, n, guest, local_node);
	int r;

	memset(out, 0, sizeof(*out));
	if (j) {
		snprintf(out->old_source, sizeof(out->old_source), "%s", j->source);
		/* the job that fed this node now feeds the old source */
		r = repl_switch_target(jobs, n, guest, local_node, out->old_source, err);
		if (r < 0)
			return r;
		out->stolen = true;
		out->changed = true; /* and every job leaves from here now */
		return 0;
	}
	/*
	 * A job without a source that targets the guest's own node cannot take
	 * this node as its source (source = target); nothing tells where the
	 * guest came from, so nothing is guessed and nothing changes.
	 */
	for (size_t i = 0; i < n; i++)
		if (jobs[i].guest == guest && !jobs[i].source[0] &&
		    streq(jobs[i].target, local_node))
			return drover_fail(err, -EINVAL,
					   "job %" PRIu32 "-%" PRIu32 ": its target %s is the node "
					   "guest %" PRIu32 " is on, and it names no source to "
					   "replicate back to: a job's target must not be the "
					   "guest's node (delete the job and create one to another "
					   "node)",
					   guest, jobs[i].jobnum, local_node, guest);
	for (size_t i = 0; i < n; i++) {
		if (jobs[i].guest != guest || jobs[i].source[0])
			continue;
		snprintf(jobs[i].source, sizeof(jobs[i].source), "%s", local_node);
		out->changed = true;
	}
	return 0;
}

void repl_adopt_warning(const struct repl_adopt *a, uint32_t guest, const char *local_node,
			char *out, size_t len)
{
	snprintf(out, len,
		 "WARNING: guest %" PRIu32 " was taken over from node %s (its config moved "
		 "to %s without a migration): its jobs now replicate from %s. The job "
		 "state of %s is out of reach, so the base is the newest replication "
		 "snapshot both sides share; when %s returns, every write it made after "
		 "that snapshot is ROLLED BACK (lost) on %s by the next run",
		 guest, a->old_source, local_node, local_node, a->old_source, a->old_source,
		 a->old_source);
}
