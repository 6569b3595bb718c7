/* SPDX-License-Identifier: MIT */
#include "nstime.h"

int64_t now_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return nstime_from_timespec(&ts);
}

int64_t nstime_from_s(int64_t s)
{
	if (s > INT64_MAX / NSEC_PER_SEC)
		return INT64_MAX;
	if (s < INT64_MIN / NSEC_PER_SEC)
		return INT64_MIN;
	return s * NSEC_PER_SEC;
}

int64_t nstime_from_timespec(const struct timespec *ts)
{
	int64_t s = (int64_t)ts->tv_sec, ns = ts->tv_nsec;

	/* s * 10^9 + ns, with the last second of each end still in range */
	if (s >= INT64_MAX / NSEC_PER_SEC)
		return s == INT64_MAX / NSEC_PER_SEC && ns <= INT64_MAX % NSEC_PER_SEC
			       ? s * NSEC_PER_SEC + ns
			       : INT64_MAX;
	if (s < INT64_MIN / NSEC_PER_SEC)
		return INT64_MIN;
	return s * NSEC_PER_SEC + ns;
}

struct timespec nstime_to_timespec(int64_t ns)
{
	struct timespec ts;
	int64_t s = ns / NSEC_PER_SEC, rest = ns % NSEC_PER_SEC;

	if (rest < 0) {
		rest += NSEC_PER_SEC;
		s--;
	}
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)rest;
	return ts;
}
