/* SPDX-License-Identifier: MIT */
/*
 * Periodic jobs droverd runs for others (short ones, in the event loop;
 * anything longer belongs in a worker, droverd_worker_start), and the
 * replication scheduler (replsched.c),
 * which keeps its own timer: it sleeps until the next job is due instead
 * of looking every minute. Jobs do not run while droverd stops the guests.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "basic/log.h"
#include "basic/util.h"
#include "droverd.h"
#include "libdrover/stream/sshmux.h"

struct droverd_job {
	const char *name;
	unsigned interval_s;
	void (*run)(struct droverd *d);
};

/*
 * Replication's kept ssh masters (sshmux.h) that are gone, killed or
 * crashed, leave their sockets: removed here, without connecting to the
 * live ones (which would restart their idle time) and without waiting on
 * a node's lock (a run at it is skipped, the next sweep sees it).
 */
static void ssh_sweep(struct droverd *d)
{
	char note[256] = "";

	(void)d;
	sshmux_sweep(note, sizeof(note));
	if (note[0])
		log_warn("replication: %s", note);
}

/* The periodic jobs. */
static const struct droverd_job jobs[] = {
	{ "ssh-sweep", 60, ssh_sweep },
	{ NULL, 0, NULL },
};

static int on_job(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct droverd *d = userdata;

	for (size_t i = 0; jobs[i].name; i++) {
		if (d->job_timers[i] != s)
			continue;
		if (!d->stopping)
			jobs[i].run(d);
		sd_event_source_set_time(s, usec + (uint64_t)jobs[i].interval_s * 1000000);
		sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	}
	return 0;
}

int droverd_jobs_start(struct droverd *d)
{
	static_assert(ARRAY_SIZE(jobs) <= DROVERD_JOBS_MAX, "more jobs than DROVERD_JOBS_MAX");

	for (size_t i = 0; jobs[i].name; i++) {
		int r;

		r = sd_event_add_time_relative(d->event, &d->job_timers[i], CLOCK_MONOTONIC,
					       (uint64_t)jobs[i].interval_s * 1000000, 0, on_job,
					       d);
		if (r < 0)
			return r;
		log_info("job %s: every %u s", jobs[i].name, jobs[i].interval_s);
	}
	return droverd_replication_start(d);
}

void droverd_jobs_stop(struct droverd *d)
{
	droverd_replication_stop(d);
	for (size_t i = 0; i < DROVERD_JOBS_MAX; i++)
		d->job_timers[i] = sd_event_source_disable_unref(d->job_timers[i]);
}
