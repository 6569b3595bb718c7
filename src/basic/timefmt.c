/* SPDX-License-Identifier: MIT */
#include "timefmt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

int timefmt(int64_t t, bool utc, const char *fmt, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	size_t n;

	if (len == 0)
		return -ERANGE;
	out[0] = '\0';
	if ((int64_t)tt != t || !(utc ? gmtime_r(&tt, &tm) : localtime_r(&tt, &tm)))
		return -ERANGE;
		/*
	 * strftime() returns 0 for a text that does not fit, and leaves out
	 * undefined. fmt is the caller's; the header's format attribute checks it.
	 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	n = strftime(out, len, fmt, &tm);
#pragma GCC diagnostic pop
	if (n == 0 && fmt[0]) {
		out[0] = '\0';
		return -ERANGE;
	}
	return 0;
}

const char *timefmt_local(int64_t t, char *out, size_t len)
{
	(void)timefmt(t, false, TIMEFMT_DATETIME, out, len);
	return out;
}

void timefmt_duration(int64_t s, char *out, size_t len)
{
	if (s < 0)
		s = 0;
	if (s >= 3600)
		snprintf(out, len, "%" PRId64 "h %02" PRId64 "m %02" PRId64 "s", s / 3600,
			 s / 60 % 60, s % 60);
	else if (s >= 60)
		snprintf(out, len, "%" PRId64 "m %02" PRId64 "s", s / 60, s % 60);
	else
		snprintf(out, len, "%" PRId64 "s", s);
}
