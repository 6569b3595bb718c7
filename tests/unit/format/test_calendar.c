/* SPDX-License-Identifier: MIT */
/*
 * Calendar events (libdrover/format/calendar): the grammar, errors and
 * their positions, the normalized form, next events (every worked example
 * of the replication reference §2.4 and proxmox-time's own cases), dates
 * that never happen, and DST switches in several zones, checked against a
 * brute-force walk over every minute.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "libdrover/format/calendar.h"

#define MIN 60
#define HOUR 3600
#define DAY 86400

#define JUL_31_2020 INT64_C(1596153600) /* Fri 2020-07-31 00:00:00 UTC */
#define DEC_31_2020 INT64_C(1609372800) /* Thu 2020-12-31 00:00:00 UTC */

static void use_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* "2020-07-31 00:05" (or with ":SS") in UTC, as an epoch. */
static int64_t utc(const char *s)
{
	struct tm tm = { 0 };
	const char *end = strptime(s, "%Y-%m-%d %H:%M", &tm);

	assert_non_null(end);
	if (*end == ':')
		tm.tm_sec = atoi(end + 1);
	return (int64_t)timegm(&tm);
}

/* The same as local time of the current TZ, with the DST flag given (-1: guess). */
static int64_t local(const char *s, int isdst)
{
	struct tm tm = { 0 };

	assert_non_null(strptime(s, "%Y-%m-%d %H:%M", &tm));
	tm.tm_isdst = isdst;
	return (int64_t)mktime(&tm);
}

static struct calendar_event parse_ok(const char *spec)
{
	struct calendar_event ev;
	struct drover_err err = { "" };

	if (calendar_parse(spec, &ev, NULL, &err) < 0)
		fail_msg("parse '%s': %s", spec, err.text);
	return ev;
}

static int64_t next_ok(const struct calendar_event *ev, int64_t after)
{
	struct drover_err err = { "" };
	int64_t n = 0;

	if (calendar_next(ev, after, &n, &err) < 0)
		fail_msg("next of '%s' after %lld: %s", ev->spec, (long long)after, err.text);
	if (n <= after)
		fail_msg("next of '%s' after %lld is %lld, not later", ev->spec, (long long)after,
			 (long long)n);
	return n;
}

static void expect_never(const char *spec, int64_t after)
{
	struct calendar_event ev = parse_ok(spec);
	struct drover_err err = { "" };
	int64_t n = 0;
	int r = calendar_next(&ev, after, &n, &err);

	if (r != -ENOENT)
		fail_msg("'%s' after %lld: expected no event, got %d (%lld)", spec,
			 (long long)after, r, (long long)n);
	assert_non_null(strstr(err.text, "no event after"));
}

/* The next events of spec after `after`, up to 4, as "YYYY-MM-DD HH:MM" UTC strings. */
struct example {
	const char *spec;
	const char *after;
	const char *events[4];
};

static void check_examples(const struct example *ex, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct calendar_event ev = parse_ok(ex[i].spec);
		int64_t t = utc(ex[i].after);

		for (int k = 0; k < 4 && ex[i].events[k]; k++) {
			int64_t want = utc(ex[i].events[k]), got = next_ok(&ev, t);

			if (got != want)
				fail_msg("'%s' event %d after %s: got %lld, want %s (%lld)",
					 ex[i].spec, k + 1, ex[i].after, (long long)got,
					 ex[i].events[k], (long long)want);
			t = got;
		}
	}
}

/* Reference §2.4, after Fri 2020-07-31 00:00 UTC. */
static const struct example reference_examples[] = {
	{ "*/5",
	  "2020-07-31 00:00",
	  { "2020-07-31 00:05", "2020-07-31 00:10", "2020-07-31 00:15", "2020-07-31 00:20" } },
	{ "*/15",
	  "2020-07-31 00:00",
	  { "2020-07-31 00:15", "2020-07-31 00:30", "2020-07-31 00:45", "2020-07-31 01:00" } },
	{ "*:00",
	  "2020-07-31 00:00",
	  { "2020-07-31 01:00", "2020-07-31 02:00", "2020-07-31 03:00", "2020-07-31 04:00" } },
	{ "0",
	  "2020-07-31 00:00",
	  { "2020-07-31 01:00", "2020-07-31 02:00", "2020-07-31 03:00", "2020-07-31 04:00" } },
	{ "hourly",
	  "2020-07-31 00:00",
	  { "2020-07-31 01:00", "2020-07-31 02:00", "2020-07-31 03:00", "2020-07-31 04:00" } },
	{ "mon..fri 8..17:00/15",
	  "2020-07-31 00:00",
	  { "2020-07-31 08:00", "2020-07-31 08:15", "2020-07-31 08:30", "2020-07-31 08:45" } },
	/* ... and after the last slot of Friday comes Monday */
	{ "mon..fri 8..17:00/15",
	  "2020-07-31 17:30",
	  { "2020-07-31 17:45", "2020-08-03 08:00", "2020-08-03 08:15", NULL } },
	{ "mon..fri 7..18:00/15",
	  "2020-07-31 00:00",
	  { "2020-07-31 07:00", "2020-07-31 07:15", "2020-07-31 07:30", "2020-07-31 07:45" } },
	{ "mon..fri 7..18:00/15",
	  "2020-07-31 18:30",
	  { "2020-07-31 18:45", "2020-08-03 07:00", NULL, NULL } },
	{ "sat 02:00",
	  "2020-07-31 00:00",
	  { "2020-08-01 02:00", "2020-08-08 02:00", "2020-08-15 02:00", "2020-08-22 02:00" } },
	{ "daily",
	  "2020-07-31 00:00",
	  { "2020-08-01 00:00", "2020-08-02 00:00", "2020-08-03 00:00", "2020-08-04 00:00" } },
	{ "12:05",
	  "2020-07-31 00:00",
	  { "2020-07-31 12:05", "2020-08-01 12:05", "2020-08-02 12:05", "2020-08-03 12:05" } },
	{ "*/2:00",
	  "2020-07-31 00:00",
	  { "2020-07-31 02:00", "2020-07-31 04:00", "2020-07-31 06:00", "2020-07-31 08:00" } },
	/* a single number is minutes: minute 22 of every hour, not 22:00 */
	{ "22",
	  "2020-07-31 00:00",
	  { "2020-07-31 00:22", "2020-07-31 01:22", "2020-07-31 02:22", "2020-07-31 03:22" } },
	{ "mon..fri 22",
	  "2020-07-31 22:30",
	  { "2020-07-31 23:22", "2020-08-03 00:22", "2020-08-03 01:22", NULL } },
	{ "mon..fri 22:00", "2020-07-31 00:00", { "2020-07-31 22:00", "2020-08-03 22:00", NULL } },
	/* weekday ranges wrap around the week's end */
	{ "fri..mon",
	  "2020-07-31 00:00",
	  { "2020-08-01 00:00", "2020-08-02 00:00", "2020-08-03 00:00", "2020-08-07 00:00" } },
	/* the first Saturday of each month */
	{ "sat *-1..7 15:00",
	  "2020-07-31 00:00",
	  { "2020-08-01 15:00", "2020-09-05 15:00", "2020-10-03 15:00", "2020-11-07 15:00" } },
	{ "2015-10-21", "2015-01-01 00:00", { "2015-10-21 00:00", NULL } },
};

static void test_reference_examples(void **state)
{
	use_tz("UTC");
	check_examples(reference_examples,
		       sizeof(reference_examples) / sizeof(reference_examples[0]));
	/* a date in the past never happens: the job would never run */
	expect_never("2015-10-21", JUL_31_2020);
	/* "*" "/00" is invalid, as in both Proxmox parsers (§2.5: use hourly, *:00 or 0) */
	{
		struct calendar_event ev;
		size_t pos = 99;

		assert_int_equal(calendar_parse("*/00", &ev, &pos, NULL), -EINVAL);
		assert_int_equal(pos, 2);
	}
}

/* The same examples in a zone with DST, given with UTC: the zone must not matter. */
static void test_utc_suffix(void **state)
{
	struct example ex[sizeof(reference_examples) / sizeof(reference_examples[0])];
	char specs[sizeof(ex) / sizeof(ex[0])][CALENDAR_SPEC_MAX];

	use_tz("Europe/Vienna");
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		ex[i] = reference_examples[i];
		snprintf(specs[i], sizeof(specs[i]), "%s UTC", ex[i].spec);
		ex[i].spec = specs[i];
	}
	check_examples(ex, sizeof(ex) / sizeof(ex[0]));

	/* without UTC, local time: 12:00 in Vienna in summer is 10:00 UTC */
	{
		struct calendar_event lt = parse_ok("12:00"), u = parse_ok("12:00UTC");

		assert_false(lt.utc);
		assert_true(u.utc);
		assert_int_equal(next_ok(&lt, JUL_31_2020), utc("2020-07-31 10:00"));
		assert_int_equal(next_ok(&u, JUL_31_2020), utc("2020-07-31 12:00"));
		u = parse_ok("  daily   UTC ");
		assert_true(u.utc);
		assert_int_equal(next_ok(&u, JUL_31_2020), utc("2020-08-01 00:00"));
	}
}

/* proxmox-time's test cases (THURSDAY_00_00 is the epoch, a Thursday). */
struct pve_case {
	const char *spec;
	int64_t last, expect;
};

static void test_proxmox_cases(void **state)
{
	static const struct pve_case cases[] = {
		{ "0", 0, HOUR },
		{ "*", 0, MIN },
		{ "*:0", 0, HOUR },
		{ "*:*", 0, MIN },
		{ "*:*:*", 0, 1 },
		{ "*:3:5", 0, 3 * MIN + 5 },
		{ "mon *:*", 0, 4 * DAY },
		{ "mon 2:*", 0, 4 * DAY + 2 * HOUR },
		{ "mon 2:50", 0, 4 * DAY + 2 * HOUR + 50 * MIN },
		{ "tue", 0, 5 * DAY },
		{ "wed", 0, 6 * DAY },
		{ "thu", 0, 7 * DAY },
		{ "fri", 0, 1 * DAY },
		{ "sat", 0, 2 * DAY },
		{ "sun", 0, 3 * DAY },
		{ "4..10/2:0", 0, 4 * HOUR },
		{ "4..10/2:0", 5 * HOUR, 6 * HOUR },
		{ "4..10/2:0", 11 * HOUR, DAY + 4 * HOUR },
		{ "5,10:4,8", 0, 5 * HOUR + 4 * MIN },
		{ "10,5:8,4", 0, 5 * HOUR + 4 * MIN },
		{ "6,4..10:23,5/5", 0, 4 * HOUR + 5 * MIN },
		{ "4..10,6:5/5,23", 0, 4 * HOUR + 5 * MIN },
		{ "sat", JUL_31_2020, JUL_31_2020 + 1 * DAY },
		{ "sun", JUL_31_2020, JUL_31_2020 + 2 * DAY },
		{ "mon", JUL_31_2020, JUL_31_2020 + 3 * DAY },
		{ "tue", JUL_31_2020, JUL_31_2020 + 4 * DAY },
		{ "wed", JUL_31_2020, JUL_31_2020 + 5 * DAY },
		{ "thu", JUL_31_2020, JUL_31_2020 + 6 * DAY },
		{ "fri", JUL_31_2020, JUL_31_2020 + 7 * DAY },
		{ "fri", DEC_31_2020, DEC_31_2020 + 1 * DAY },
		{ "sat", DEC_31_2020, DEC_31_2020 + 2 * DAY },
		{ "sun", DEC_31_2020, DEC_31_2020 + 3 * DAY },
		{ "mon", DEC_31_2020, DEC_31_2020 + 4 * DAY },
		{ "tue", DEC_31_2020, DEC_31_2020 + 5 * DAY },
		{ "wed", DEC_31_2020, DEC_31_2020 + 6 * DAY },
		{ "thu", DEC_31_2020, DEC_31_2020 + 7 * DAY },
		{ "daily", 0, DAY },
		{ "daily", 1, DAY },
		{ "2020-07-31", 0, JUL_31_2020 },
		{ "02-28", 0, (31 + 27) * DAY },
		{ "02-29", 0, 2 * 365 * DAY + (31 + 28) * DAY }, /* 1972-02-29 */
		{ "1965/5-01-01", -1, 0 },
		{ "2020-7..9-2/2", JUL_31_2020, JUL_31_2020 + 2 * DAY },
		{ "2020,2021-12-31", JUL_31_2020, DEC_31_2020 },
		{ "minutely", 0, MIN },
		{ "hourly", 0, HOUR },
		{ "weekly", 0, 4 * DAY },
		{ "monthly", 0, 31 * DAY },
		{ "quarterly", 0, (31 + 28 + 31) * DAY },
		{ "semiannually", 0, (31 + 28 + 31 + 30 + 31 + 30) * DAY },
		{ "semi-annually", 0, (31 + 28 + 31 + 30 + 31 + 30) * DAY },
		{ "yearly", 0, 365 * DAY },
		{ "annually", 0, 365 * DAY },
	};
	struct calendar_event ev;
	int64_t n;

	use_tz("UTC");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ev = parse_ok(cases[i].spec);
		n = next_ok(&ev, cases[i].last);
		if (n != cases[i].expect)
			fail_msg("'%s' after %lld: got %lld, want %lld", cases[i].spec,
				 (long long)cases[i].last, (long long)n,
				 (long long)cases[i].expect);
	}
	/* chains: every result is the start of the next search */
	ev = parse_ok("5/2:0");
	n = 0;
	for (int h = 5; h <= 11; h += 2)
		assert_int_equal(n = next_ok(&ev, n), h * HOUR);
	ev = parse_ok("*:*");
	n = 0;
	for (int i = 1; i < 100; i++)
		assert_int_equal(n = next_ok(&ev, n), i * MIN);
	ev = parse_ok("*:0");
	n = 0;
	for (int i = 1; i < 100; i++)
		assert_int_equal(n = next_ok(&ev, n), i * HOUR);
	ev = parse_ok("1:0");
	n = 15 * HOUR;
	for (int i = 1; i < 100; i++)
		assert_int_equal(n = next_ok(&ev, n), i * DAY + HOUR);
}

static void test_weekdays(void **state)
{
	static const struct {
		const char *spec;
		uint8_t days; /* bit 0 Monday */
	} cases[] = {
		{ "mon", 0x01 },
		{ "MON", 0x01 },
		{ "monDay", 0x01 },
		{ "Tuesday", 0x02 },
		{ "wednesday", 0x04 },
		{ "thursday", 0x08 },
		{ "friday", 0x10 },
		{ "saturday", 0x20 },
		{ "sunday", 0x40 },
		{ "mon..fri", 0x1f },
		{ "fri..mon", 0x71 },
		{ "sun..mon", 0x41 },
		{ "sat..sat", 0x20 },
		{ "mon,wed..fri", 0x1d },
		{ "mon,tue..wednesday,fri..sat", 0x37 },
		{ "mon..sun", 0x7f },
		{ "tue..mon", 0x7f },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct calendar_event ev = parse_ok(cases[i].spec);

		if (ev.weekdays != cases[i].days)
			fail_msg("'%s': weekdays 0x%02x, want 0x%02x", cases[i].spec, ev.weekdays,
				 cases[i].days);
		/* weekdays alone: at midnight */
		assert_int_equal(ev.hours, 1);
		assert_int_equal(ev.minutes, 1);
		assert_int_equal(ev.seconds, 1);
	}
}

/* The normalized forms are those systemd-analyze calendar prints (systemd 252). */
static void test_normalized(void **state)
{
	static const char *const cases[][2] = {
		{ "*/5", "*-*-* *:00/5:00" },
		{ "*:00", "*-*-* *:00:00" },
		{ "0", "*-*-* *:00:00" },
		{ "hourly", "*-*-* *:00:00" },
		{ "minutely", "*-*-* *:*:00" },
		{ "mon..fri 8..17:00/15", "Mon..Fri *-*-* 08..17:00/15:00" },
		{ "sat 02:00", "Sat *-*-* 02:00:00" },
		{ "daily", "*-*-* 00:00:00" },
		{ "*/2:00", "*-*-* 00/2:00:00" },
		{ "sat *-1..7 15:00", "Sat *-*-01..07 15:00:00" },
		{ "2015-10-21", "2015-10-21 00:00:00" },
		{ "quarterly", "*-01,04,07,10-01 00:00:00" },
		{ "semiannually", "*-01,07-01 00:00:00" },
		{ "weekly", "Mon *-*-* 00:00:00" },
		{ "monthly", "*-*-01 00:00:00" },
		{ "yearly", "*-01-01 00:00:00" },
		{ "*:*:*", "*-*-* *:*:*" },
		{ "2020-7..9-2/2", "2020-07..09-02/2 00:00:00" },
		{ "2020,2021-12-31", "2020,2021-12-31 00:00:00" },
		{ "5/2:0", "*-*-* 05/2:00:00" },
		{ "4..10/2:0", "*-*-* 04..10/2:00:00" },
		{ "mon,wed..fri", "Mon,Wed..Fri *-*-* 00:00:00" },
		{ "mon..sun", "*-*-* 00:00:00" },
		{ "mon,tue", "Mon,Tue *-*-* 00:00:00" },
		{ "fri..mon 12:30:15", "Mon,Fri..Sun *-*-* 12:30:15" },
		{ "*-*-* 12:00 UTC", "*-*-* 12:00:00 UTC" },
		{ "12:00 UTC", "*-*-* 12:00:00 UTC" },
		{ "4..10,6:5/5,23", "*-*-* 04..10,06:05/5,23:00" },
		{ "1..3/1:0", "*-*-* 01..03:00:00" },
		{ "5/1:0", "*-*-* 05/1:00:00" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct calendar_event ev = parse_ok(cases[i][0]);

		if (strcmp(ev.normalized, cases[i][1]) != 0)
			fail_msg("'%s': normalized '%s', want '%s'", cases[i][0], ev.normalized,
				 cases[i][1]);
		/* the normalized form means the same */
		{
			struct calendar_event again = parse_ok(ev.normalized);

			assert_string_equal(again.normalized, ev.normalized);
			assert_memory_equal(&again.years, &ev.years, sizeof(ev.years));
			assert_int_equal(again.any_year, ev.any_year);
			assert_int_equal(again.weekdays, ev.weekdays);
			assert_int_equal(again.months, ev.months);
			assert_int_equal(again.days, ev.days);
			assert_int_equal(again.hours, ev.hours);
			assert_true(again.minutes == ev.minutes);
			assert_true(again.seconds == ev.seconds);
			assert_int_equal(again.utc, ev.utc);
		}
	}
}

struct bad {
	const char *spec;
	size_t pos;
	const char *message; /* what follows "position N: " */
};

static void test_errors(void **state)
{
	char long_spec[400];
	static const struct bad cases[] = {
		{ "mon..fri 25:00", 9, "hour 25 out of range 0..23" },
		{ "", 0, "empty: expected a keyword, weekday, date or time" },
		{ "   ", 3, "empty: expected a keyword, weekday, date or time" },
		{ "UTC", 0, "expected a weekday, date or time before 'UTC'" },
		{ "*/00", 2, "minute step 0 out of range 1..59" },
		{ "*/0", 2, "minute step 0 out of range 1..59" },
		{ "*/60", 2, "minute step 60 out of range 1..59" },
		{ "1..5/0", 5, "minute step 0 out of range 1..59" },
		{ "*/24:00", 2, "hour step 24 out of range 1..23" },
		{ "foo", 0, "'foo' is not a weekday" },
		{ "Daily", 0, "'Daily' is not a weekday" },
		{ "daily 12:00", 5,
		  "'daily' stands alone: a keyword takes no weekday, date or time" },
		{ "mon..fri 10..5:00", 9, "hour range 10..5 runs backwards" },
		{ "10..5", 0, "minute range 10..5 runs backwards" },
		{ "12:60", 3, "minute 60 out of range 0..59" },
		{ "12:00:60", 6, "second 60 out of range 0..59" },
		{ "1:2:3:4", 5, "a time has at most three parts: HOUR:MINUTE:SECOND" },
		{ "2024-13-01", 5, "month 13 out of range 1..12" },
		{ "2024-02-00", 8, "day 0 out of range 1..31" },
		{ "0-01", 0, "month 0 out of range 1..12" },
		{ "01-32", 3, "day 32 out of range 1..31" },
		{ "2200-01-01", 0, "year 2200 out of range 0..2199" },
		{ "1-2-3-4", 5, "a date has at most three parts: YEAR-MONTH-DAY" },
		{ "mon,,tue", 4, "expected a weekday, not ','" },
		{ "mon..", 5, "expected a weekday" },
		{ "mon..5", 5, "expected a weekday, not '5'" },
		{ "mon12:00", 3, "unexpected '1' after the weekdays (a space must follow)" },
		{ "12:00 13:00", 6, "unexpected '13:00' after the time" },
		{ "12:00 utc", 6, "unexpected 'utc' after the time" },
		{ "*,5", 1, "unexpected ',' in the minute" },
		{ "5,*", 2, "'*' must stand alone, not in a list" },
		{ "12:", 3, "expected a number or '*'" },
		{ ":30", 0, "expected a number or '*'" },
		{ "1234567890", 0, "number too large" },
		{ "*/5x", 3, "unexpected 'x' in the minute" },
		{ "5/", 2, "expected a step after '/'" },
		{ "mon 2024-01-01 12:00 x", 21, "unexpected 'x' after the time" },
		{ "2024-01-01T12:00", 10, "unexpected 'T' in the day" },
		{ "mon..fri 8..17:00/15:00:00", 23,
		  "a time has at most three parts: HOUR:MINUTE:SECOND" },
		{ "\001", 0, "expected a number or '*', not '?'" },
		{ "12:00 ", 6, NULL }, /* fine: blanks around are ignored */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct calendar_event ev;
		struct drover_err err = { "" };
		char want[600];
		size_t pos = 999;
		int r = calendar_parse(cases[i].spec, &ev, &pos, &err);

		if (!cases[i].message) {
			assert_int_equal(r, 0);
			continue;
		}
		if (r != -EINVAL)
			fail_msg("'%s': parsed, expected an error at %zu", cases[i].spec,
				 cases[i].pos);
		if (pos != cases[i].pos)
			fail_msg("'%s': error at %zu (%s), want %zu", cases[i].spec, pos, err.text,
				 cases[i].pos);
		snprintf(want, sizeof(want), "position %zu: %s", cases[i].pos, cases[i].message);
		if (!strstr(err.text, want))
			fail_msg("'%s': error '%s', want '... %s'", cases[i].spec, err.text, want);
	}

	/* the whole text, as the brief's example shows it */
	{
		struct calendar_event ev;
		struct drover_err err = { "" };

		assert_int_equal(calendar_parse("mon..fri 25:00", &ev, NULL, &err), -EINVAL);
		assert_string_equal(
			err.text,
			"calendar 'mon..fri 25:00': position 9: hour 25 out of range 0..23");
		/* control bytes are not echoed */
		assert_int_equal(calendar_parse("mon\033[2J", &ev, NULL, &err), -EINVAL);
		assert_null(strchr(err.text, '\033'));
	}

	memset(long_spec, '1', sizeof(long_spec) - 1);
	long_spec[sizeof(long_spec) - 1] = '\0';
	{
		struct calendar_event ev;
		struct drover_err err = { "" };
		size_t pos;

		assert_int_equal(calendar_parse(long_spec, &ev, &pos, &err), -EINVAL);
		assert_int_equal(pos, CALENDAR_SPEC_MAX - 1);
		assert_non_null(strstr(err.text, "longer than 255 characters"));
	}
}

/* What Proxmox accepts but is easy to get wrong, and blanks. */
static void test_accepted_forms(void **state)
{
	static const char *const ok[] = {
		"  mon   12:00  ",
		"mon\t12:00",
		"sat,sun 2024-*-* 10:00",
		"2024-*-* 10:00:30",
		"*-*-* *:*:*",
		"*/1",
		"0/1:0",
		"*/23:*/59:*/59",
		"2199-12-31 23:59:59",
		"0-1-1",
		"dailyUTC",
		"mon UTC",
		"12-25",
		"1..12/3-1 0:0",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		parse_ok(ok[i]);
}

/* Dates that never come, and the bound of the search. */
static void test_impossible_dates(void **state)
{
	struct calendar_event ev;

	use_tz("UTC");
	expect_never("02-30", 0);
	expect_never("02-30", JUL_31_2020);
	expect_never("04-31", JUL_31_2020);
	expect_never("2021-02-29", 0);
	expect_never("mon 2020-07-31", 0); /* a Friday */
	expect_never("2199-12-31 23:59:59", utc("2199-12-31 23:59:59"));
	expect_never("1965/5-01-01", utc("2199-12-31 23:00")); /* no listed year left */

	/* Feb 29 only in leap years, Monday Feb 29 only once in 28 years */
	ev = parse_ok("*-02-29");
	assert_int_equal(next_ok(&ev, utc("2021-01-01 00:00")), utc("2024-02-29 00:00"));
	ev = parse_ok("mon *-02-29");
	assert_int_equal(next_ok(&ev, utc("2021-01-01 00:00")), utc("2044-02-29 00:00"));
	/* the 31st skips months without one */
	ev = parse_ok("*-*-31 12:00");
	assert_int_equal(next_ok(&ev, utc("2021-04-01 00:00")), utc("2021-05-31 12:00"));
	ev = parse_ok("2199-12-31 23:59:59");
	assert_int_equal(next_ok(&ev, JUL_31_2020), utc("2199-12-31 23:59:59"));
	/* centuries: 2100 is not a leap year, 2000 was */
	ev = parse_ok("*-02-29");
	assert_int_equal(next_ok(&ev, utc("2097-01-01 00:00")), utc("2104-02-29 00:00"));
	assert_int_equal(next_ok(&ev, utc("1997-01-01 00:00")), utc("2000-02-29 00:00"));
	/* a Friday the 13th in February, from 2021 */
	ev = parse_ok("fri *-02-13");
	assert_int_equal(next_ok(&ev, utc("2021-01-01 00:00")), utc("2026-02-13 00:00"));
}

/* Out-of-range instants are refused, not looped over. */
static void test_range(void **state)
{
	struct calendar_event ev = parse_ok("daily");
	struct drover_err err = { "" };
	int64_t n;

	use_tz("UTC");
	assert_int_equal(calendar_next(&ev, INT64_MAX, &n, &err), -EOVERFLOW);
	assert_int_equal(calendar_next(&ev, INT64_MIN, &n, &err), -EOVERFLOW);
	assert_int_equal(next_ok(&ev, -1), 0);
	assert_int_equal(next_ok(&ev, -DAY - 1), -DAY);
}

/* ---- DST ------------------------------------------------------------------ */

static int64_t offset_at(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	assert_non_null(localtime_r(&tt, &tm));
	return tm.tm_gmtoff;
}

/* Does the civil time c (the clock's reading, counted like an epoch) match? */
static bool civil_matches(const struct calendar_event *ev, int64_t c)
{
	time_t tt = (time_t)c;
	struct tm tm;
	int wd;

	assert_non_null(gmtime_r(&tt, &tm));
	wd = (tm.tm_wday + 6) % 7;
	if (!ev->any_year) {
		int y = tm.tm_year + 1900;

		if (y > CALENDAR_YEAR_MAX || !(ev->years[y / 64] >> (y % 64) & 1))
			return false;
	}
	return (ev->months >> (tm.tm_mon + 1) & 1) && (ev->days >> tm.tm_mday & 1) &&
	       (ev->weekdays >> wd & 1) && (ev->hours >> tm.tm_hour & 1) &&
	       (ev->minutes >> tm.tm_min & 1) && (ev->seconds >> tm.tm_sec & 1);
}

/*
 * The rule of calendar.h, written the slow way: an event firing every hour
 * fires whenever the clock shows a matching time; any other fires when the
 * clock first shows a matching time, or when the clock jumps over one.
 */
static bool fires(const struct calendar_event *ev, int64_t v)
{
	bool every_hour = (ev->hours & 0xffffff) == 0xffffff;
	int64_t o = offset_at(v), before = offset_at(v - 1), c = v + o;

	if (civil_matches(ev, c)) {
		if (every_hour)
			return true;
		for (int64_t d = 1800; d <= 3 * 3600; d += 1800)
			if (v - d + offset_at(v - d) == c)
				return false; /* shown before */
		return true;
	}
	if (!every_hour && before < o)
		for (int64_t g = v + before; g < c; g += 60)
			if (civil_matches(ev, g))
				return true;
	return false;
}

/* Every minute in [a, b]: the events calendar_next() finds are exactly those fires() says. */
static int check_window(const char *spec, int64_t a, int64_t b)
{
	struct calendar_event ev = parse_ok(spec);
	int64_t t = a - 1, n;
	int count = 0;

	for (int64_t v = a; v <= b; v += 60) {
		if (!fires(&ev, v))
			continue;
		n = next_ok(&ev, t);
		if (n != v)
			fail_msg("TZ=%s '%s' after %lld: next %lld, the brute force says %lld",
				 getenv("TZ"), spec, (long long)t, (long long)n, (long long)v);
		t = v;
		count++;
	}
	n = next_ok(&ev, t);
	if (n <= b)
		fail_msg("TZ=%s '%s' after %lld: next %lld, the brute force has none before %lld",
			 getenv("TZ"), spec, (long long)t, (long long)n, (long long)b);
	return count;
}

static const char *const dst_specs[] = {
	"*/15",	  "*:30",	   "02:30",	"2:*",	       "*/2:00",   "1..3:0/20",
	"01:30",  "mon..sun 2:15", "daily",	"hourly",      "minutely", "0..23:45",
	"2,3:10", "3:*/20",	   "sun 2:0/5", "*-*-* 00:00", "*:0/7",	   "2..4:00",
};

struct dst_window {
	const char *tz;
	const char *from, *to; /* UTC */
};

static void test_dst_brute_force(void **state)
{
	static const struct dst_window windows[] = {
		/* Europe: 02:00 CET -> 03:00 CEST; 03:00 CEST -> 02:00 CET */
		{ "Europe/Vienna", "2024-03-30 20:00", "2024-03-31 06:00" },
		{ "Europe/Vienna", "2024-10-26 20:00", "2024-10-27 06:00" },
		/* US: 02:00 EST -> 03:00 EDT; 02:00 EDT -> 01:00 EST */
		{ "America/New_York", "2024-03-10 02:00", "2024-03-10 12:00" },
		{ "America/New_York", "2024-11-03 02:00", "2024-11-03 12:00" },
		/* southern hemisphere: the switches the other way round */
		{ "Australia/Sydney", "2024-04-06 10:00", "2024-04-06 20:00" },
		{ "Australia/Sydney", "2024-10-05 10:00", "2024-10-05 20:00" },
		/* half an hour: 02:00 -> 02:30 and 02:00 -> 01:30 */
		{ "Australia/Lord_Howe", "2024-04-06 10:00", "2024-04-06 20:00" },
		{ "Australia/Lord_Howe", "2024-10-05 10:00", "2024-10-05 20:00" },
		/* Samoa skipped Friday 2011-12-30 altogether */
		{ "Pacific/Apia", "2011-12-29 00:00", "2011-12-31 12:00" },
	};

	for (size_t w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
		use_tz(windows[w].tz);
		for (size_t s = 0; s < sizeof(dst_specs) / sizeof(dst_specs[0]); s++)
			check_window(dst_specs[s], utc(windows[w].from), utc(windows[w].to));
	}
}

/* The Vienna switches of 2024, spelled out. */
static void test_dst_vienna(void **state)
{
	struct calendar_event ev;
	int64_t t;

	use_tz("Europe/Vienna");

	/* spring: 02:00-02:59 does not exist; a daily 02:30 runs at the jump, 03:00 CEST */
	ev = parse_ok("02:30");
	t = next_ok(&ev, local("2024-03-30 12:00", 0));
	assert_int_equal(t, local("2024-03-31 03:00", 1));
	assert_int_equal(t, utc("2024-03-31 01:00"));
	assert_int_equal(next_ok(&ev, t), local("2024-04-01 02:30", 1));
	/* every 30 minutes goes on in real time: 01:30 CET, then 03:00 CEST */
	ev = parse_ok("*:0/30");
	t = next_ok(&ev, local("2024-03-31 01:00", 0));
	assert_int_equal(t, utc("2024-03-31 00:30"));
	assert_int_equal(t = next_ok(&ev, t), utc("2024-03-31 01:00"));
	assert_int_equal(t = next_ok(&ev, t), utc("2024-03-31 01:30"));

	/* autumn: 02:00-02:59 twice; every 30 minutes fires in both */
	t = local("2024-10-27 01:30", 1);
	assert_int_equal(t = next_ok(&ev, t), utc("2024-10-27 00:00")); /* 02:00 CEST */
	assert_int_equal(t = next_ok(&ev, t), utc("2024-10-27 00:30")); /* 02:30 CEST */
	assert_int_equal(t = next_ok(&ev, t), utc("2024-10-27 01:00")); /* 02:00 CET */
	assert_int_equal(t = next_ok(&ev, t), utc("2024-10-27 01:30")); /* 02:30 CET */
	assert_int_equal(t = next_ok(&ev, t), utc("2024-10-27 02:00")); /* 03:00 CET */
	/* ... a daily 02:30 only once, at the first 02:30 */
	ev = parse_ok("02:30");
	assert_int_equal(t = next_ok(&ev, local("2024-10-26 12:00", 1)), utc("2024-10-27 00:30"));
	assert_int_equal(next_ok(&ev, t), local("2024-10-28 02:30", 0));
	/* from inside the second 02:00-02:59 as well */
	assert_int_equal(next_ok(&ev, utc("2024-10-27 01:10")), local("2024-10-28 02:30", 0));
	/* every 2 hours: 02:00 CEST, not again at 02:00 CET, then 04:00 */
	ev = parse_ok("*/2:00");
	assert_int_equal(t = next_ok(&ev, utc("2024-10-26 23:30")), utc("2024-10-27 00:00"));
	assert_int_equal(next_ok(&ev, t), utc("2024-10-27 03:00"));
	/* far events are found across both switches of the year (the search jumps) */
	ev = parse_ok("06-01 12:00");
	assert_int_equal(next_ok(&ev, utc("2024-01-01 00:00")), utc("2024-06-01 10:00"));
	ev = parse_ok("12-01 12:00");
	assert_int_equal(next_ok(&ev, utc("2024-06-01 00:00")), utc("2024-12-01 11:00"));
	ev = parse_ok("*-03-31 02:30");
	assert_int_equal(next_ok(&ev, utc("2024-01-01 00:00")), utc("2024-03-31 01:00"));
	ev = parse_ok("*-10-27 02:30");
	assert_int_equal(next_ok(&ev, utc("2024-01-01 00:00")), utc("2024-10-27 00:30"));
	ev = parse_ok("*-10-27 02:*:30");
	assert_int_equal(next_ok(&ev, utc("2024-10-27 00:59:30")), utc("2025-10-27 01:00:30"));
	ev = parse_ok("2199-12-31 23:59");
	assert_int_equal(next_ok(&ev, utc("2024-01-01 00:00")), utc("2199-12-31 22:59"));
	/* in UTC nothing special happens */
	ev = parse_ok("02:30 UTC");
	assert_int_equal(next_ok(&ev, utc("2024-10-27 00:00")), utc("2024-10-27 02:30"));
}

/* A year of events in Vienna: counts that only come out right if DST is handled. */
static void test_dst_year(void **state)
{
	static const struct {
		const char *spec;
		int count;
	} cases[] = {
		{ "*/15", 366 * 96 }, /* 4 lost in March, 4 more in October */
		{ "daily", 366 },
		{ "02:30", 366 }, /* March at 03:00, October once */
		{ "2:*", 366 * 60 - 60 + 1 }, /* March: one event at the jump for the hour */
		{ "hourly", 366 * 24 },
		{ "mon..fri 8..17:00/15", 262 * 40 },
	};
	int64_t from = local("2024-01-01 00:00", 0) - 1, to = local("2025-01-01 00:00", 0) - 1;

	use_tz("Europe/Vienna");
	from = local("2024-01-01 00:00", 0) - 1;
	to = local("2025-01-01 00:00", 0) - 1;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct calendar_event ev = parse_ok(cases[i].spec);
		int n = 0;

		for (int64_t t = next_ok(&ev, from); t <= to; t = next_ok(&ev, t))
			n++;
		if (n != cases[i].count)
			fail_msg("'%s' in 2024 in Vienna: %d events, want %d", cases[i].spec, n,
				 cases[i].count);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_examples),
		cmocka_unit_test(test_utc_suffix),
		cmocka_unit_test(test_proxmox_cases),
		cmocka_unit_test(test_weekdays),
		cmocka_unit_test(test_normalized),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_accepted_forms),
		cmocka_unit_test(test_impossible_dates),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_dst_brute_force),
		cmocka_unit_test(test_dst_vienna),
		cmocka_unit_test(test_dst_year),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
