/* SPDX-License-Identifier: MIT */
/*
 * Seconds since the epoch as text for people: a date and time by a
 * strftime format (local time or UTC), and a span of seconds as
 * "1h 02m 05s". One home for what the CLI and the logs print, so that a
 * time that cannot be represented comes out the same ("" or a caller's
 * fallback) instead of as stack garbage from an unchecked localtime_r().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "2026-12-06 02:11:19": the format most of drover prints. */
#define TIMEFMT_DATETIME "%Y-%m-%d %H:%M:%S"

/*
 * t in local time (utc: in UTC) by strftime format fmt into out. Returns
 * 0, or -ERANGE with out "" when t is not a time the C library can break
 * down or the text does not fit in len.
 */
int timefmt(int64_t t, bool utc, const char *fmt, char *out, size_t len)
	__attribute__((format(strftime, 3, 0)));

/* t as TIMEFMT_DATETIME in local time ("" when it cannot be); returns out. */
const char *timefmt_local(int64_t t, char *out, size_t len);

/* A span of seconds: "1h 02m 05s", "3m 10s", "42s" (a negative span is "0s"). */
void timefmt_duration(int64_t s, char *out, size_t len);
