/* SPDX-License-Identifier: MIT */
/*
 * Parsing calendar events (see calendar.h for the grammar). The parser
 * walks the text once, keeps the byte position for its errors, fills one
 * bitmask per field and writes the normalized form (systemd-analyze's
 * "Normalized form") as it goes.
 */
#include "calendar.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "basic/util.h"

enum cal_field {
	CAL_YEAR,
	CAL_MONTH,
	CAL_DAY,
	CAL_HOUR,
	CAL_MINUTE,
	CAL_SECOND,
	CAL_FIELD_COUNT,
};

struct field_desc {
	const char *name;
	unsigned lo, hi; /* the values a field takes; a step is 1..hi (hi >= 1 always) */
	int width; /* digits in the normalized form */
};

static const struct field_desc fields[CAL_FIELD_COUNT] = {
	[CAL_YEAR] = { "year", 0, CALENDAR_YEAR_MAX, 4 },
	[CAL_MONTH] = { "month", 1, 12, 2 },
	[CAL_DAY] = { "day", 1, 31, 2 },
	[CAL_HOUR] = { "hour", 0, 23, 2 },
	[CAL_MINUTE] = { "minute", 0, 59, 2 },
	[CAL_SECOND] = { "second", 0, 59, 2 },
};

#define FIELD_TEXT_MAX CALENDAR_NORMALIZED_MAX

/* One field while it is parsed: its values and its normalized text. */
struct field_value {
	bool any;
	uint64_t bits[CALENDAR_YEAR_WORDS];
	char text[FIELD_TEXT_MAX];
	size_t len;
};

struct parser {
	const char *s;
	size_t pos, end; /* end: where the body ends (before " UTC") */
	size_t *errpos;
	struct drover_err *err;
	struct field_value f[CAL_FIELD_COUNT];
	uint8_t weekdays; /* 0: none given */
};

static const char *const weekday_short[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
static const char *const weekday_long[7] = { "monday", "tuesday",  "wednesday", "thursday",
					     "friday", "saturday", "sunday" };
static const char *const weekday_norm[7] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };

static int fail_at(struct parser *p, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Control bytes would garble a terminal: '?' instead, so one byte stays one column. */
static void printable(char *s)
{
	for (; *s; s++)
		if (!isprint((unsigned char)*s))
			*s = '?';
}

static int fail_at(struct parser *p, size_t pos, const char *fmt, ...)
{
	char msg[256], shown[CALENDAR_SPEC_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(shown, sizeof(shown), "%s", p->s);
	printable(shown);
	printable(msg);
	if (p->errpos)
		*p->errpos = pos;
	return drover_fail(p->err, -EINVAL, "calendar '%s': position %zu: %s", shown, pos, msg);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void bit_set(uint64_t *w, unsigned v)
{
	w[v / 64] |= 1ULL << (v % 64);
}

static void text_add(struct field_value *fv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void text_add(struct field_value *fv, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (fv->len >= sizeof(fv->text) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(fv->text + fv->len, sizeof(fv->text) - fv->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		fv->len = MIN(fv->len + (size_t)n, sizeof(fv->text) - 1);
}

/* A decimal number at p->pos (before stop), at most 9 digits. */
static int parse_number(struct parser *p, size_t stop, const char *what, unsigned *v)
{
	size_t start = p->pos;
	unsigned long n = 0;

	if (p->pos >= stop || !isdigit((unsigned char)p->s[p->pos])) {
		if (p->pos >= stop)
			return fail_at(p, p->pos, "expected %s", what);
		return fail_at(p, p->pos, "expected %s, not '%c'", what, p->s[p->pos]);
	}
	while (p->pos < stop && isdigit((unsigned char)p->s[p->pos])) {
		if (p->pos - start >= 9)
			return fail_at(p, start, "number too large");
		n = n * 10 + (unsigned long)(p->s[p->pos] - '0');
		p->pos++;
	}
	*v = (unsigned)n;
	return 0;
}

/* A number in lo..hi; what: "hour" or "hour step", for the error. */
static int parse_bounded(struct parser *p, size_t stop, const char *expected, const char *what,
			 unsigned lo, unsigned hi, unsigned *v)
{
	size_t start = p->pos;
	int r = parse_number(p, stop, expected, v);

	if (r < 0)
		return r;
	if (*v < lo || *v > hi)
		return fail_at(p, start, "%s %u out of range %u..%u", what, *v, lo, hi);
	return 0;
}

static int parse_value(struct parser *p, enum cal_field f, size_t stop, unsigned *v)
{
	return parse_bounded(p, stop, "a number or '*'", fields[f].name, fields[f].lo, fields[f].hi,
			     v);
}

static int parse_step(struct parser *p, enum cal_field f, size_t stop, unsigned *step)
{
	char what[32];

	snprintf(what, sizeof(what), "%s step", fields[f].name);
	return parse_bounded(p, stop, "a step after '/'", what, 1, fields[f].hi, step);
}

/* Every value from `from` to `to` (inclusive), `step` apart. */
static void add_values(struct field_value *fv, unsigned from, unsigned to, unsigned step)
{
	for (unsigned v = from; v <= to; v += step)
		bit_set(fv->bits, v);
}

/* One item of a list: N, N..M, N/STEP or N..M/STEP. */
static int parse_item(struct parser *p, enum cal_field f, size_t stop)
{
	const struct field_desc *d = &fields[f];
	struct field_value *fv = &p->f[f];
	size_t start = p->pos;
	bool range = false, stepped = false;
	unsigned a, b, step = 1;
	int r;

	if (p->pos < stop && p->s[p->pos] == '*')
		return fail_at(p, p->pos, "'*' must stand alone, not in a list");
	r = parse_value(p, f, stop, &a);
	if (r < 0)
		return r;
	b = a;
	if (stop - p->pos >= 2 && p->s[p->pos] == '.' && p->s[p->pos + 1] == '.') {
		p->pos += 2;
		r = parse_value(p, f, stop, &b);
		if (r < 0)
			return r;
		if (a > b)
			return fail_at(p, start, "%s range %u..%u runs backwards", d->name, a, b);
		range = true;
	}
	if (p->pos < stop && p->s[p->pos] == '/') {
		p->pos++;
		r = parse_step(p, f, stop, &step);
		if (r < 0)
			return r;
		stepped = true;
		if (!range)
			b = d->hi; /* N/STEP: from N to the field's end */
	}
	add_values(fv, a, b, step);
	text_add(fv, "%0*u", d->width, a);
	if (range)
		text_add(fv, "..%0*u", d->width, b);
	if (stepped && !(range && step == 1)) /* a..b/1 is a..b (systemd's habit) */
		text_add(fv, "/%u", step);
	return 0;
}

/* A list in [p->pos, stop): "*", "*" "/" STEP, or items separated by ','. */
static int parse_list(struct parser *p, enum cal_field f, size_t stop)
{
	const struct field_desc *d = &fields[f];
	struct field_value *fv = &p->f[f];
	unsigned step;
	int r;

	if (p->pos < stop && p->s[p->pos] == '*') {
		p->pos++;
		if (p->pos < stop && p->s[p->pos] == '/') {
			p->pos++;
			r = parse_step(p, f, stop, &step);
			if (r < 0)
				return r;
			add_values(fv, d->lo, d->hi, step);
			text_add(fv, "%0*u/%u", d->width, d->lo, step);
		} else {
			fv->any = true;
			text_add(fv, "*");
		}
	} else {
		for (;;) {
			r = parse_item(p, f, stop);
			if (r < 0)
				return r;
			if (p->pos >= stop || p->s[p->pos] != ',')
				break;
			p->pos++;
			text_add(fv, ",");
		}
	}
	if (p->pos < stop)
		return fail_at(p, p->pos, "unexpected '%c' in the %s", p->s[p->pos], d->name);
	return 0;
}

/* Where the current word (up to a blank or the body's end) ends. */
static size_t token_end(const struct parser *p)
{
	size_t i = p->pos;

	while (i < p->end && !is_blank(p->s[i]))
		i++;
	return i;
}

static void skip_blanks(struct parser *p)
{
	while (p->pos < p->end && is_blank(p->s[p->pos]))
		p->pos++;
}

/* Parts of a date or time separated by sep, each parsed as a list of fields[i]. */
static int parse_parts(struct parser *p, char sep, const enum cal_field *order, size_t n,
		       size_t stop)
{
	for (size_t i = 0; i < n; i++) {
		size_t part_end = p->pos;
		int r;

		while (part_end < stop && p->s[part_end] != sep)
			part_end++;
		r = parse_list(p, order[i], part_end);
		if (r < 0)
			return r;
		if (i + 1 < n)
			p->pos++; /* the separator */
	}
	return 0;
}

static size_t count_char(const struct parser *p, size_t stop, char c, size_t *third)
{
	size_t n = 0;

	for (size_t i = p->pos; i < stop; i++)
		if (p->s[i] == c && ++n == 3)
			*third = i;
	return n;
}

static int parse_date(struct parser *p, size_t stop)
{
	static const enum cal_field ymd[] = { CAL_YEAR, CAL_MONTH, CAL_DAY };
	size_t third = 0, dashes = count_char(p, stop, '-', &third);

	if (dashes > 2)
		return fail_at(p, third, "a date has at most three parts: YEAR-MONTH-DAY");
	if (dashes == 1) {
		p->f[CAL_YEAR].any = true;
		text_add(&p->f[CAL_YEAR], "*");
		return parse_parts(p, '-', ymd + 1, 2, stop);
	}
	return parse_parts(p, '-', ymd, 3, stop);
}

static int parse_time(struct parser *p, size_t stop)
{
	static const enum cal_field hms[] = { CAL_HOUR, CAL_MINUTE, CAL_SECOND };
	size_t third = 0, colons = count_char(p, stop, ':', &third);
	int r;

	if (colons > 2)
		return fail_at(p, third, "a time has at most three parts: HOUR:MINUTE:SECOND");
	if (colons == 0) {
		/* A single number is minutes (Proxmox): "22" is minute 22 of every hour. */
		p->f[CAL_HOUR].any = true;
		text_add(&p->f[CAL_HOUR], "*");
		r = parse_parts(p, ':', hms + 1, 1, stop);
	} else {
		r = parse_parts(p, ':', hms, colons + 1, stop);
	}
	if (r == 0 && colons < 2) {
		bit_set(p->f[CAL_SECOND].bits, 0);
		text_add(&p->f[CAL_SECOND], "00");
	}
	return r;
}

static int weekday_index(const char *word, size_t len)
{
	for (int i = 0; i < 7; i++)
		if ((len == 3 && strncasecmp(word, weekday_short[i], 3) == 0) ||
		    (len == strlen(weekday_long[i]) &&
		     strncasecmp(word, weekday_long[i], len) == 0))
			return i;
	return -1;
}

static int parse_weekday(struct parser *p, int *day)
{
	size_t start = p->pos;

	while (p->pos < p->end && isalpha((unsigned char)p->s[p->pos]))
		p->pos++;
	if (p->pos == start) {
		if (p->pos >= p->end)
			return fail_at(p, p->pos, "expected a weekday");
		return fail_at(p, p->pos, "expected a weekday, not '%c'", p->s[p->pos]);
	}
	*day = weekday_index(p->s + start, p->pos - start);
	if (*day < 0)
		return fail_at(p, start, "'%.*s' is not a weekday", (int)(p->pos - start),
			       p->s + start);
	return 0;
}

/* mon..fri,sun; a range may wrap around the week end (fri..mon). */
static int parse_weekdays(struct parser *p)
{
	for (;;) {
		int a, b, r = parse_weekday(p, &a);

		if (r < 0)
			return r;
		b = a;
		if (p->end - p->pos >= 2 && p->s[p->pos] == '.' && p->s[p->pos + 1] == '.') {
			p->pos += 2;
			r = parse_weekday(p, &b);
			if (r < 0)
				return r;
		}
		for (int d = a;; d = (d + 1) % 7) {
			p->weekdays |= (uint8_t)(1u << d);
			if (d == b)
				break;
		}
		if (p->pos >= p->end || p->s[p->pos] != ',')
			break;
		p->pos++;
	}
	if (p->pos < p->end && !is_blank(p->s[p->pos]))
		return fail_at(p, p->pos,
			       "unexpected '%c' after the weekdays (a space must follow)",
			       p->s[p->pos]);
	return 0;
}

struct keyword {
	const char *name;
	uint8_t weekdays; /* 0: any */
	uint16_t months; /* 0: any */
	bool first_day;
	bool hour_any, minute_any; /* hourly: any hour; minutely: any hour and minute */
};

#define Q_MONTHS ((1u << 1) | (1u << 4) | (1u << 7) | (1u << 10))
#define H_MONTHS ((1u << 1) | (1u << 7))

static const struct keyword keywords[] = {
	{ "minutely", 0, 0, false, true, true },
	{ "hourly", 0, 0, false, true, false },
	{ "daily", 0, 0, false, false, false },
	{ "weekly", 1, 0, false, false, false },
	{ "monthly", 0, 0, true, false, false },
	{ "yearly", 0, 1u << 1, true, false, false },
	{ "annually", 0, 1u << 1, true, false, false },
	{ "quarterly", 0, Q_MONTHS, true, false, false },
	{ "semiannually", 0, H_MONTHS, true, false, false },
	{ "semi-annually", 0, H_MONTHS, true, false, false },
};

static void set_any(struct field_value *fv)
{
	fv->any = true;
	text_add(fv, "*");
}

static void set_single(struct field_value *fv, enum cal_field f, unsigned v)
{
	bit_set(fv->bits, v);
	text_add(fv, "%0*u", fields[f].width, v);
}

static void apply_keyword(struct parser *p, const struct keyword *k)
{
	p->weekdays = k->weekdays;
	set_any(&p->f[CAL_YEAR]);
	if (k->months) {
		for (unsigned m = 1; m <= 12; m++) {
			if (!(k->months & (1u << m)))
				continue;
			if (p->f[CAL_MONTH].len)
				text_add(&p->f[CAL_MONTH], ",");
			set_single(&p->f[CAL_MONTH], CAL_MONTH, m);
		}
	} else {
		set_any(&p->f[CAL_MONTH]);
	}
	if (k->first_day)
		set_single(&p->f[CAL_DAY], CAL_DAY, 1);
	else
		set_any(&p->f[CAL_DAY]);
	if (k->hour_any)
		set_any(&p->f[CAL_HOUR]);
	else
		set_single(&p->f[CAL_HOUR], CAL_HOUR, 0);
	if (k->minute_any)
		set_any(&p->f[CAL_MINUTE]);
	else
		set_single(&p->f[CAL_MINUTE], CAL_MINUTE, 0);
	set_single(&p->f[CAL_SECOND], CAL_SECOND, 0);
}

static const struct keyword *find_keyword(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strlen(keywords[i].name) == len && memcmp(keywords[i].name, s, len) == 0)
			return &keywords[i];
	return NULL;
}

/* A keyword is the whole body; a keyword followed by more is a mistake worth naming. */
static int parse_keyword(struct parser *p, bool *done)
{
	size_t word_end = p->pos;
	const struct keyword *k;

	while (word_end < p->end &&
	       (isalpha((unsigned char)p->s[word_end]) || p->s[word_end] == '-'))
		word_end++;
	k = find_keyword(p->s + p->pos, word_end - p->pos);
	*done = k != NULL;
	if (!k)
		return 0;
	if (word_end < p->end)
		return fail_at(p, word_end,
			       "'%s' stands alone: a keyword takes no weekday, date or time",
			       k->name);
	apply_keyword(p, k);
	p->pos = word_end;
	return 0;
}

static void default_time(struct parser *p)
{
	set_single(&p->f[CAL_HOUR], CAL_HOUR, 0);
	set_single(&p->f[CAL_MINUTE], CAL_MINUTE, 0);
	set_single(&p->f[CAL_SECOND], CAL_SECOND, 0);
}

static void default_date(struct parser *p)
{
	set_any(&p->f[CAL_YEAR]);
	set_any(&p->f[CAL_MONTH]);
	set_any(&p->f[CAL_DAY]);
}

/* [weekdays] [date] [time], each part a word of its own. */
static int parse_body(struct parser *p)
{
	bool have_date = false, have_time = false, keyword;
	size_t stop;
	int r;

	if (isalpha((unsigned char)p->s[p->pos])) {
		r = parse_keyword(p, &keyword);
		if (r < 0 || keyword)
			return r;
		r = parse_weekdays(p);
		if (r < 0)
			return r;
		skip_blanks(p);
	}
	if (p->pos < p->end) {
		stop = token_end(p);
		if (memchr(p->s + p->pos, '-', stop - p->pos)) {
			r = parse_date(p, stop);
			if (r < 0)
				return r;
			have_date = true;
			skip_blanks(p);
		}
	}
	if (p->pos < p->end) {
		stop = token_end(p);
		r = parse_time(p, stop);
		if (r < 0)
			return r;
		have_time = true;
		skip_blanks(p);
	}
	if (p->pos < p->end)
		return fail_at(p, p->pos, "unexpected '%.*s' after the %s",
			       (int)(token_end(p) - p->pos), p->s + p->pos,
			       have_time ? "time" : "date");
	if (!have_date)
		default_date(p);
	if (!have_time)
		default_time(p);
	return 0;
}

static uint64_t mask_of(const struct field_value *fv, enum cal_field f)
{
	uint64_t all = 0;

	if (!fv->any)
		return fv->bits[0];
	for (unsigned v = fields[f].lo; v <= fields[f].hi; v++)
		all |= 1ULL << v;
	return all;
}

static void weekday_text(uint8_t days, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < 7; i++) {
		int j = i;

		if (!(days & (1u << i)))
			continue;
		while (j + 1 < 7 && (days & (1u << (j + 1))))
			j++;
		if (j - i >= 2)
			n += (size_t)snprintf(buf + n, len - n, "%s%s..%s", n ? "," : "",
					      weekday_norm[i], weekday_norm[j]);
		else
			for (int d = i; d <= j; d++)
				n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "",
						      weekday_norm[d]);
		i = j;
	}
}

/* Append str to buf (size bytes, *len used), cutting it if it does not fit. */
static void append(char *buf, size_t size, size_t *len, const char *str)
{
	size_t n = strlen(str);

	if (*len + n >= size)
		n = size - 1 - *len;
	memcpy(buf + *len, str, n);
	*len += n;
	buf[*len] = '\0';
}

static void finish(struct parser *p, struct calendar_event *ev)
{
	char days[64] = "";
	size_t n = 0;

	ev->weekdays = p->weekdays ? p->weekdays : 0x7f;
	ev->any_year = p->f[CAL_YEAR].any;
	if (!ev->any_year)
		memcpy(ev->years, p->f[CAL_YEAR].bits, sizeof(ev->years));
	ev->months = (uint16_t)mask_of(&p->f[CAL_MONTH], CAL_MONTH);
	ev->days = (uint32_t)mask_of(&p->f[CAL_DAY], CAL_DAY);
	ev->hours = (uint32_t)mask_of(&p->f[CAL_HOUR], CAL_HOUR);
	ev->minutes = mask_of(&p->f[CAL_MINUTE], CAL_MINUTE);
	ev->seconds = mask_of(&p->f[CAL_SECOND], CAL_SECOND);
	if (ev->weekdays != 0x7f) {
		weekday_text(ev->weekdays, days, sizeof(days));
		append(ev->normalized, sizeof(ev->normalized), &n, days);
		append(ev->normalized, sizeof(ev->normalized), &n, " ");
	}
	for (int f = CAL_YEAR; f < CAL_FIELD_COUNT; f++) {
		static const char *const sep[CAL_FIELD_COUNT] = { "", "-", "-", " ", ":", ":" };

		append(ev->normalized, sizeof(ev->normalized), &n, sep[f]);
		append(ev->normalized, sizeof(ev->normalized), &n, p->f[f].text);
	}
	if (ev->utc)
		append(ev->normalized, sizeof(ev->normalized), &n, " UTC");
}

static void find_body(struct parser *p, struct calendar_event *ev)
{
	size_t len = strlen(p->s);

	while (p->pos < len && is_blank(p->s[p->pos]))
		p->pos++;
	p->end = len;
	while (p->end > p->pos && is_blank(p->s[p->end - 1]))
		p->end--;
	/* Proxmox takes "UTC" at the very end, with or without a space before it. */
	if (p->end - p->pos >= 3 && memcmp(p->s + p->end - 3, "UTC", 3) == 0) {
		ev->utc = true;
		p->end -= 3;
		while (p->end > p->pos && is_blank(p->s[p->end - 1]))
			p->end--;
	}
}

int calendar_parse(const char *spec, struct calendar_event *ev, size_t *errpos,
		   struct drover_err *err)
{
	struct parser p = { .s = spec, .errpos = errpos, .err = err };
	size_t len = strnlen(spec, CALENDAR_SPEC_MAX);
	int r;

	memset(ev, 0, sizeof(*ev));
	if (len >= CALENDAR_SPEC_MAX)
		return fail_at(&p, CALENDAR_SPEC_MAX - 1, "longer than %d characters",
			       CALENDAR_SPEC_MAX - 1);
	memcpy(ev->spec, spec, len + 1);
	find_body(&p, ev);
	if (p.pos >= p.end)
		return fail_at(&p, p.pos, "%s",
			       ev->utc ? "expected a weekday, date or time before 'UTC'"
				       : "empty: expected a keyword, weekday, date or time");
	r = parse_body(&p);
	if (r == 0)
		finish(&p, ev);
	return r;
}
