/* SPDX-License-Identifier: MIT */
#include "job.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/util.h"
#include "libdrover/format/calendar.h"

static bool all_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return len > 0;
}

static uint32_t digits_value(const char *s, size_t len)
{
	uint32_t v = 0;

	for (size_t i = 0; i < len; i++)
		v = v * 10 + (uint32_t)(s[i] - '0');
	return v;
}

/* Checks s[0..len) without needing a NUL after it (snapshot names hold IDs inside). */
static int jobid_parse_n(const char *s, size_t len, uint32_t *guest, uint32_t *jobnum)
{
	const char *dash = memchr(s, '-', len);
	size_t glen, nlen;

	if (!dash)
		return -EINVAL;
	glen = (size_t)(dash - s);
	nlen = len - glen - 1;
	/* guest: [1-9][0-9]{2,8}; job number: [0-9]{1,9} */
	if (glen < 3 || glen > 9 || s[0] == '0' || !all_digits(s, glen))
		return -EINVAL;
	if (nlen < 1 || nlen > 9 || !all_digits(dash + 1, nlen))
		return -EINVAL;
	*guest = digits_value(s, glen);
	*jobnum = digits_value(dash + 1, nlen);
	return 0;
}

int repl_jobid_parse(const char *s, uint32_t *guest, uint32_t *jobnum, struct drover_err *err)
{
	if (jobid_parse_n(s, strlen(s), guest, jobnum) < 0)
		return drover_fail(err, -EINVAL,
				   "'%.*s' is not a replication job ID: GUEST-N, GUEST from 100 "
				   "to 999999999, N a number of at most 9 digits",
				   64, s);
	return 0;
}

void repl_jobid_format(uint32_t guest, uint32_t jobnum, char *out)
{
	snprintf(out, REPL_JOBID_MAX, "%" PRIu32 "-%" PRIu32, guest, jobnum);
}

const char *repl_job_schedule(const struct repl_job *job)
{
	return job->schedule[0] ? job->schedule : REPL_SCHEDULE_DEFAULT;
}

int repl_job_check(const struct repl_job *job, struct drover_err *err)
{
	struct calendar_event ev;
	char id[REPL_JOBID_MAX];
	int r;

	repl_jobid_format(job->guest, job->jobnum, id);
	if (job->guest < REPL_GUEST_MIN || job->guest > 999999999 || job->jobnum > 999999999)
		return drover_fail(err, -EINVAL, "job %s: guest IDs below 100 are reserved", id);
	if (!node_name_valid(job->target))
		return drover_fail(err, -EINVAL, "job %s: target '%s' is not a node name", id,
				   job->target);
	if (job->source[0] && !node_name_valid(job->source))
		return drover_fail(err, -EINVAL, "job %s: source '%s' is not a node name", id,
				   job->source);
	if (job->source[0] && streq(job->source, job->target))
		return drover_fail(err, -EINVAL, "job %s: target %s is the guest's own node", id,
				   job->target);
	r = calendar_parse(repl_job_schedule(job), &ev, NULL, err);
	if (r < 0)
		return drover_fail_prefix(err, r, "job %s: schedule", id);
	if (job->rate != 0 && !(job->rate >= 1))
		return drover_fail(err, -EINVAL, "job %s: rate %g MB/s is below the minimum of 1",
				   id, job->rate);
	if (strnlen(job->comment, REPL_COMMENT_MAX) >= REPL_COMMENT_MAX)
		return drover_fail(err, -EINVAL, "job %s: comment longer than %d characters", id,
				   REPL_COMMENT_MAX - 1);
	return 0;
}

int repl_snapname(const char *jobid, int64_t epoch, char *out, size_t len)
{
	int n = snprintf(out, len, REPL_SNAP_PREFIX "%s_%" PRId64 "__", jobid, epoch);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

bool repl_snapname_is_replication(const char *name)
{
	return str_has_prefix(name, REPL_SNAP_PREFIX);
}

bool repl_snapname_parse(const char *name, char *jobid, int64_t *epoch)
{
	const char *id, *us, *end;
	size_t len = strlen(name);
	uint32_t guest, jobnum;
	int64_t v = 0;

	if (!repl_snapname_is_replication(name) || len < strlen(REPL_SNAP_PREFIX) + 2 ||
	    memcmp(name + len - 2, "__", 2) != 0)
		return false;
	id = name + strlen(REPL_SNAP_PREFIX);
	end = name + len - 2; /* the trailing "__" */
	us = end;
	while (us > id && us[-1] != '_')
		us--;
	if (us == id || us == end || end - us > 18 || !all_digits(us, (size_t)(end - us)))
		return false;
	if (jobid_parse_n(id, (size_t)(us - 1 - id), &guest, &jobnum) < 0)
		return false;
	for (const char *c = us; c < end; c++)
		v = v * 10 + (*c - '0');
	if (end - us > 1 && us[0] == '0')
		return false; /* written with %d: no leading zeros */
	repl_jobid_format(guest, jobnum, jobid);
	/* only the canonical ID: "100-01" is nobody's, so nothing deletes it */
	if (strlen(jobid) != (size_t)(us - 1 - id) || memcmp(jobid, id, strlen(jobid)) != 0)
		return false;
	*epoch = v;
	return true;
}

bool repl_snapname_of_job(const char *name, const char *jobid, int64_t *epoch)
{
	char id[REPL_JOBID_MAX];
	int64_t t;

	if (!repl_snapname_parse(name, id, &t) || !streq(id, jobid))
		return false;
	if (epoch)
		*epoch = t;
	return true;
}
