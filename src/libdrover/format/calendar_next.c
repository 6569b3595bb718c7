/* SPDX-License-Identifier: MIT */
/*
 * The next event of a calendar event. The search runs on civil time (what
 * the clock shows, as plain numbers, counted in seconds like an epoch), and
 * civil times are mapped to instants one stretch of constant UTC offset at
 * a time, so that DST switches neither lose nor invent events (the rule is
 * in calendar.h). libc's mktime() guesses at skipped and repeated times;
 * here only localtime_r() is asked, for the offset in force at an instant.
 */
#include "calendar.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "basic/util.h"

#define DAY 86400
/* No time zone changes its offset twice within 6 hours. */
#define PROBE (6 * 3600)
/* Longer than any offset change (at most 26 hours, Pacific/Apia 2011). */
#define HORIZON (2 * DAY)
/* Rounds of the instant search: each moves past a switch or jumps ahead. */
#define MAX_ROUNDS 1000
/* Instants beyond this are refused: their years do not fit a struct tm. */
#define INSTANT_MAX (INT64_C(1) << 50)

struct civil {
	int64_t y;
	int mo, d, h, mi, s;
};

/* Days since 1970-01-01 of a proleptic Gregorian date (eras of 400 years). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, struct civil *c)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	c->d = (int)(doy - (153 * mp + 2) / 5 + 1);
	c->mo = (int)(mp < 10 ? mp + 3 : mp - 9);
	c->y = yoe + era * 400 + (c->mo <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static void civil_from_secs(int64_t t, struct civil *c)
{
	int64_t days = floor_div(t, DAY), rest = t - days * DAY;

	civil_from_days(days, c);
	c->h = (int)(rest / 3600);
	c->mi = (int)(rest / 60 % 60);
	c->s = (int)(rest % 60);
}

static int64_t civil_to_secs(const struct civil *c)
{
	return days_from_civil(c->y, c->mo, c->d) * DAY + c->h * 3600 + c->mi * 60 + c->s;
}

/* 0 Monday .. 6 Sunday; 1970-01-01 was a Thursday. */
static int weekday_of(int64_t days)
{
	int64_t w = (days + 3) % 7;

	return (int)(w < 0 ? w + 7 : w);
}

static int days_in_month(int64_t y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* The smallest value in from..hi whose bit is set in mask, or -1. */
static int next_in_mask(uint64_t mask, int from, int hi)
{
	uint64_t m;

	if (from > hi)
		return -1;
	m = mask >> from << from;
	if (hi < 63)
		m &= (UINT64_C(1) << (hi + 1)) - 1;
	return m ? __builtin_ctzll(m) : -1;
}

/* The first listed year >= y, or -1. */
static int64_t next_year(const struct calendar_event *ev, int64_t y)
{
	for (int64_t v = y < 0 ? 0 : y; v <= CALENDAR_YEAR_MAX; v++)
		if (ev->years[v / 64] & (UINT64_C(1) << (v % 64)))
			return v;
	return -1;
}

static void next_month(struct civil *c)
{
	c->d = 1;
	c->h = c->mi = c->s = 0;
	if (++c->mo > 12) {
		c->mo = 1;
		c->y++;
	}
}

static void next_day(struct civil *c)
{
	c->h = c->mi = c->s = 0;
	if (++c->d > days_in_month(c->y, c->mo))
		next_month(c);
}

static void next_hour(struct civil *c)
{
	c->mi = c->s = 0;
	if (++c->h > 23)
		next_day(c);
}

static void next_minute(struct civil *c)
{
	c->s = 0;
	if (++c->mi > 59)
		next_hour(c);
}

/*
 * The first matching civil time >= from. Bounded: the year list ends, or
 * 401 years pass (the Gregorian calendar repeats every 400 years, weekdays
 * included, so what has not matched by then never will).
 */
static bool civil_next(const struct calendar_event *ev, int64_t from, int64_t *out)
{
	struct civil c;
	int64_t last_year;
	int v;

	civil_from_secs(from, &c);
	last_year = ev->any_year ? c.y + 401 : CALENDAR_YEAR_MAX;
	while (c.y <= last_year) {
		if (!ev->any_year) {
			int64_t y = next_year(ev, c.y);

			if (y < 0)
				return false;
			if (y != c.y) {
				c = (struct civil){ y, 1, 1, 0, 0, 0 };
				continue;
			}
		}
		v = next_in_mask(ev->months, c.mo, 12);
		if (v < 0) {
			c = (struct civil){ c.y + 1, 1, 1, 0, 0, 0 };
			continue;
		}
		if (v != c.mo)
			c = (struct civil){ c.y, v, 1, 0, 0, 0 };
		v = next_in_mask(ev->days, c.d, days_in_month(c.y, c.mo));
		if (v < 0) {
			next_month(&c);
			continue;
		}
		if (v != c.d)
			c = (struct civil){ c.y, c.mo, v, 0, 0, 0 };
		if (!(ev->weekdays & (1u << weekday_of(days_from_civil(c.y, c.mo, c.d))))) {
			next_day(&c);
			continue;
		}
		v = next_in_mask(ev->hours, c.h, 23);
		if (v < 0) {
			next_day(&c);
			continue;
		}
		if (v != c.h) {
			c.h = v;
			c.mi = c.s = 0;
		}
		v = next_in_mask(ev->minutes, c.mi, 59);
		if (v < 0) {
			next_hour(&c);
			continue;
		}
		if (v != c.mi) {
			c.mi = v;
			c.s = 0;
		}
		v = next_in_mask(ev->seconds, c.s, 59);
		if (v < 0) {
			next_minute(&c);
			continue;
		}
		c.s = v;
		*out = civil_to_secs(&c);
		return true;
	}
	return false;
}

/* The UTC offset in force at instant t (seconds east). */
static int offset_at(int64_t t, int64_t *off)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm))
		return -EOVERFLOW;
	*off = tm.tm_gmtoff;
	return 0;
}

/* The first instant in (a, b] whose offset is not o, if any. */
static int first_change(int64_t a, int64_t b, int64_t o, bool *found, int64_t *t)
{
	int64_t lo = a, hi, off;
	int r;

	*found = false;
	while (lo < b) {
		hi = MIN(lo + PROBE, b);
		r = offset_at(hi, &off);
		if (r < 0)
			return r;
		if (off != o) {
			while (hi - lo > 1) {
				int64_t mid = lo + (hi - lo) / 2;

				r = offset_at(mid, &off);
				if (r < 0)
					return r;
				if (off != o)
					hi = mid;
				else
					lo = mid;
			}
			*found = true;
			*t = hi;
			return 0;
		}
		lo = hi;
	}
	return 0;
}

/*
 * If the clock was set back shortly before cur and shows at cur a time it
 * showed before the switch, *end gets the civil time up to which that is
 * so (the clock's reading just before the switch, plus one second).
 */
static int repeat_end(int64_t cur, int64_t o, bool *repeat, int64_t *end)
{
	int64_t before, t;
	bool found;
	int r = offset_at(cur - PROBE, &before);

	*repeat = false;
	if (r < 0 || before <= o)
		return r;
	r = first_change(cur - PROBE, cur, before, &found, &t);
	if (r < 0 || !found)
		return r;
	*end = t + before;
	*repeat = cur + o < *end;
	return 0;
}

/*
 * For an event that does not fire every hour: does the clock jump forward
 * at cur over a time that matches? Then that time happens at cur.
 */
static int jumped_over(const struct calendar_event *ev, int64_t cur, int64_t o, bool *hit)
{
	int64_t before, c;
	int r = offset_at(cur - 1, &before);

	*hit = r == 0 && before < o && civil_next(ev, cur + before, &c) && c < cur + o;
	return r;
}

static int next_local(const struct calendar_event *ev, int64_t after, int64_t *next)
{
	bool every_hour = (ev->hours & 0xffffff) == 0xffffff;
	int64_t cur = after + 1, o, s, c, u, t, end;
	bool hit, found;
	int r;

	/*
	 * Invariant: no event lies in (after, cur). Each round looks at the
	 * stretch from cur on where the offset stays o.
	 */
	for (int round = 0; round < MAX_ROUNDS; round++) {
		r = offset_at(cur, &o);
		if (r < 0)
			return r;
		s = cur + o;
		if (!every_hour) {
			r = jumped_over(ev, cur, o, &hit);
			if (r < 0)
				return r;
			if (hit) {
				*next = cur;
				return 0;
			}
			r = repeat_end(cur, o, &hit, &end);
			if (r < 0)
				return r;
			if (hit)
				s = end; /* those times happened before the switch */
		}
		if (!civil_next(ev, s, &c))
			return -ENOENT;
		u = c - o; /* where c falls if the offset stays o */
		r = first_change(cur, MIN(u, cur + HORIZON), o, &found, &t);
		if (r < 0)
			return r;
		if (found) {
			cur = t; /* the stretch ends before u: go on from the switch */
			continue;
		}
		if (u <= cur + HORIZON) {
			*next = u;
			return 0;
		}
		/*
		 * No switch for two days and c is further: no instant between
		 * here and two days before u can show a time before c, as
		 * offsets differ by less than that. Jump.
		 */
		cur = MAX(cur + HORIZON, u - HORIZON);
	}
	return -ENOENT;
}

static int no_event(const struct calendar_event *ev, int64_t after, struct drover_err *err)
{
	struct civil c;

	civil_from_secs(after, &c);
	return drover_fail(err, -ENOENT,
			   "calendar '%s': no event after %04lld-%02d-%02d %02d:%02d:%02d UTC",
			   ev->spec, (long long)c.y, c.mo, c.d, c.h, c.mi, c.s);
}

int calendar_next(const struct calendar_event *ev, int64_t after, int64_t *next,
		  struct drover_err *err)
{
	int r;

	if (after >= INSTANT_MAX || after <= -INSTANT_MAX)
		return drover_fail(err, -EOVERFLOW, "calendar '%s': time %lld out of range",
				   ev->spec, (long long)after);
	if (ev->utc)
		r = civil_next(ev, after + 1, next) ? 0 : -ENOENT;
	else
		r = next_local(ev, after, next);
	if (r == -ENOENT)
		return no_event(ev, after, err);
	if (r < 0)
		return drover_fail(err, r, "calendar '%s': local time of %lld unknown", ev->spec,
				   (long long)after);
	return 0;
}
