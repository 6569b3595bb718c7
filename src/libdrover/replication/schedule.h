/* SPDX-License-Identifier: MIT */
/*
 * When a replication job runs next (pvesr's job_status): its calendar
 * event after the last try; after failures a retry ramp instead (by default
 * 5, 10, 15, then every 30 minutes after the failed try's start), and no
 * retries at all while the target is offline; at once for a job being
 * removed.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "libdrover/error.h"
#include "libdrover/format/calendar.h"
#include "libdrover/replication/state.h"

#define REPL_RETRY_STEPS_MAX 16

/* Minutes to wait after the start of the n-th failed run in a row; the last step repeats. */
struct repl_retry {
	unsigned n;
	uint32_t minutes[REPL_RETRY_STEPS_MAX];
};

extern const struct repl_retry repl_retry_default; /* 5,10,15,30 */

/*
 * "5,10,15,30": 1 to 16 steps of 1 to 10080 minutes (a week), not
 * decreasing. Returns 0 or -EINVAL naming the step.
 */
int repl_retry_parse(const char *s, struct repl_retry *out, struct drover_err *err);

/* Seconds to wait after failure number fail_count (>= 1). */
int64_t repl_retry_delay(const struct repl_retry *r, uint32_t fail_count);

/* next_sync values besides times */
#define REPL_NEXT_NEVER 0 /* not scheduled */
#define REPL_NEXT_NOW 1 /* due at once (a removal) */

struct repl_sched_input {
	const struct calendar_event *schedule;
	const struct repl_job_state *state; /* NULL: the job never ran on this node */
	bool removing; /* remove_job is set */
	bool target_online; /* the target is a cluster member that is online */
	const struct repl_retry *retry; /* NULL: repl_retry_default */
};

/*
 * The job's next sync time (seconds since the epoch), or REPL_NEXT_NEVER,
 * or REPL_NEXT_NOW. A job that never ran is due at once (its first event
 * after a last try of 0 lies in the past); missed events are not caught up
 * one by one but run once.
 */
int64_t repl_next_sync(const struct repl_sched_input *in);

/* Due now? */
bool repl_job_due(int64_t next_sync, int64_t now);

/*
 * Whether the failure count calls for a notification: the first three
 * failures, then at 48, 96, 192, ... (about 1, 2, 4 days with 30-minute
 * retries), as pvesr mails.
 */
bool repl_notify_at_failure(uint32_t fail_count);
