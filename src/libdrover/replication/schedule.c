/* SPDX-License-Identifier: MIT */
#include "schedule.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_STEP_MAX 10080 /* minutes: a week */

const struct repl_retry repl_retry_default = { 4, { 5, 10, 15, 30 } };

int repl_retry_parse(const char *s, struct repl_retry *out, struct drover_err *err)
{
	const char *p = s;

	memset(out, 0, sizeof(*out));
	for (;;) {
		unsigned long v = 0;
		const char *start = p;

		while (*p >= '0' && *p <= '9' && p - start < 6)
			v = v * 10 + (unsigned long)(*p++ - '0');
		if (p == start || (*p != ',' && *p != '\0'))
			return drover_fail(err, -EINVAL,
					   "retry '%.64s': step %u is not a number of minutes", s,
					   out->n + 1);
		if (v < 1 || v > RETRY_STEP_MAX)
			return drover_fail(
				err, -EINVAL,
				"retry '%.64s': step %u: %lu minutes is not within 1..%d", s,
				out->n + 1, v, RETRY_STEP_MAX);
		if (out->n == REPL_RETRY_STEPS_MAX)
			return drover_fail(err, -EINVAL, "retry '%.64s': more than %d steps", s,
					   REPL_RETRY_STEPS_MAX);
		if (out->n > 0 && v < out->minutes[out->n - 1])
			return drover_fail(err, -EINVAL,
					   "retry '%.64s': step %u is shorter than the one before",
					   s, out->n + 1);
		out->minutes[out->n++] = (uint32_t)v;
		if (*p == '\0')
			return 0;
		p++;
	}
}

int64_t repl_retry_delay(const struct repl_retry *r, uint32_t fail_count)
{
	uint32_t i = fail_count == 0 ? 0 : fail_count - 1;

	if (i >= r->n)
		i = r->n - 1;
	return (int64_t)r->minutes[i] * 60;
}

int64_t repl_next_sync(const struct repl_sched_input *in)
{
	const struct repl_retry *retry = in->retry ? in->retry : &repl_retry_default;
	int64_t last_try = in->state ? in->state->last_try : 0, next;

	if (in->removing)
		return REPL_NEXT_NOW;
	if (in->state && in->state->fail_count > 0) {
		/* nothing to retry against while the target is away; it runs when it is back */
		if (!in->target_online)
			return REPL_NEXT_NEVER;
		return last_try + repl_retry_delay(retry, in->state->fail_count);
	}
	if (calendar_next(in->schedule, last_try, &next, NULL) < 0)
		return REPL_NEXT_NEVER;
	/* 0 and 1 mean never and now: an event at the epoch's first seconds is "now" */
	return next <= REPL_NEXT_NOW ? REPL_NEXT_NOW : next;
}

bool repl_job_due(int64_t next_sync, int64_t now)
{
	return next_sync != REPL_NEXT_NEVER && now >= next_sync;
}

bool repl_notify_at_failure(uint32_t fail_count)
{
	if (fail_count == 0)
		return false;
	if (fail_count <= 3)
		return true;
	if (fail_count % 48 != 0)
		return false;
	fail_count /= 48;
	return (fail_count & (fail_count - 1)) == 0; /* 48 times a power of two */
}
