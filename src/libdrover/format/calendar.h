/* SPDX-License-Identifier: MIT */
/*
 * Calendar events: the schedule language of replication jobs, Proxmox's
 * (proxmox-time) subset of systemd.time(7) calendar events.
 *
 *   event    := keyword [UTC] | [weekdays] [date] [time] [UTC]   (at least one part)
 *   keyword  := minutely | hourly | daily | weekly | monthly | yearly | annually
 *             | quarterly | semiannually | semi-annually
 *   weekdays := mon..fri,sun   (names or three-letter forms, any case; fri..mon wraps)
 *   date     := [YEARS-]MONTHS-DAYS
 *   time     := [HOURS:]MINUTES[:SECONDS]   (a single number is minutes)
 *   list     := "*" | "*" "/" STEP | item ("," item)*
 *   item     := N | N..M | N/STEP | N..M/STEP
 *
 * A missing time means 00:00:00, missing seconds mean :00. Without UTC the
 * event is in local time (the TZ environment, after tzset()).
 *
 * Daylight saving time: an event whose hours are all 24 ("every 15
 * minutes", "*:30") follows the clock in real time: times the clock skips
 * do not happen, times it shows twice happen twice. Any other event
 * ("02:30", "every 2 hours") happens once per local time it names: at the
 * moment the clock jumps over it, or at the first of the two moments the
 * clock shows it (cron's rule).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libdrover/error.h"

#define CALENDAR_SPEC_MAX 256 /* the text of an event, with its NUL */
#define CALENDAR_NORMALIZED_MAX 1024 /* its normalized form (numbers grow to 2 or 4 digits) */
#define CALENDAR_YEAR_MAX 2199 /* systemd's last year */
#define CALENDAR_YEAR_WORDS ((CALENDAR_YEAR_MAX + 64) / 64)

/*
 * A parsed event: the set of matching values per field, as bitmasks
 * (bit n set: value n matches). A plain value: copy it, no free.
 */
struct calendar_event {
	bool utc;
	uint8_t weekdays; /* bit 0 Monday .. bit 6 Sunday; all 7 when any */
	bool any_year;
	uint64_t years[CALENDAR_YEAR_WORDS]; /* when !any_year */
	uint16_t months; /* bits 1..12 */
	uint32_t days; /* bits 1..31 */
	uint32_t hours; /* bits 0..23 */
	uint64_t minutes; /* bits 0..59 */
	uint64_t seconds; /* bits 0..59 */
	char spec[CALENDAR_SPEC_MAX]; /* as given */
	char normalized[CALENDAR_NORMALIZED_MAX]; /* "Mon..Fri *-*-* 08..17:00/15:00" */
};

/*
 * Parse spec. Returns 0, or -EINVAL with err saying where and what:
 * "calendar 'mon..fri 25:00': position 9: hour 25 out of range 0..23".
 * Positions count bytes of spec from 0; *errpos (may be NULL) gets it too.
 */
int calendar_parse(const char *spec, struct calendar_event *ev, size_t *errpos,
		   struct drover_err *err);

/*
 * The first event strictly after `after` (seconds since the epoch) into
 * *next. Returns 0; -ENOENT when there is none (a date in the past, Feb 30:
 * the search is bounded by the year list, or by 400 years, after which the
 * Gregorian calendar repeats); -EOVERFLOW when a time cannot be represented.
 * err (may be NULL) gets "calendar 'SPEC': no event after ...".
 */
int calendar_next(const struct calendar_event *ev, int64_t after, int64_t *next,
		  struct drover_err *err);
