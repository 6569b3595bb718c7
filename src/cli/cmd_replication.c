/* SPDX-License-Identifier: MIT */
/*
 * drover replication: storage replication jobs (pvesr). The job verbs are
 * in repl_cfg_cmds.c and repl_run_cmds.c; here the group's table and the
 * schedule checker, `calendar`, which prints the next events of a calendar
 * event the way `systemd-analyze calendar` does.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "basic/timefmt.h"
#include "basic/util.h"
#include "cli.h"
#include "repl_cli.h"
#include "libdrover/format/calendar.h"

#define COUNT_MAX 100000

struct calendar_args {
	uint64_t count;
	bool have_from;
	int64_t from;
	bool json;
};

/* Does the rest of a time argument say UTC ("", " UTC", "UTC")? */
static int time_zone_suffix(const char *rest, bool *in_utc)
{
	while (*rest == ' ')
		rest++;
	*in_utc = strcmp(rest, "UTC") == 0;
	return *in_utc || *rest == '\0' ? 0 : -EINVAL;
}

/* The same wall-clock fields after mktime/timegm: the time exists as written. */
static bool same_fields(const struct tm *a, const struct tm *b)
{
	return a->tm_year == b->tm_year && a->tm_mon == b->tm_mon && a->tm_mday == b->tm_mday &&
	       a->tm_hour == b->tm_hour && a->tm_min == b->tm_min && a->tm_sec == b->tm_sec;
}

/* "now", "@EPOCH", or "YYYY-MM-DD[ HH:MM[:SS]][ UTC]" (local time unless UTC). */
static int parse_time_arg(const char *s, int64_t *t)
{
	static const char *const formats[] = {
		"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
		"%Y-%m-%dT%H:%M",    "%Y-%m-%d",
	};
	char *end;

	if (strcmp(s, "now") == 0) {
		*t = now_wall_s();
		return 0;
	}
	if (s[0] == '@') {
		long long v;

		errno = 0;
		v = strtoll(s + 1, &end, 10);
		if (errno || end == s + 1 || *end)
			return -EINVAL;
		*t = v;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
		struct tm tm = { 0 }, want;
		const char *rest = strptime(s, formats[i], &tm);
		bool in_utc;
		time_t v;

		if (!rest || time_zone_suffix(rest, &in_utc) < 0)
			continue;
		tm.tm_isdst = -1;
		want = tm;
		v = in_utc ? timegm(&tm) : mktime(&tm);
		if (!same_fields(&tm, &want))
			return -ERANGE; /* Feb 30, or a local time the clock skips */
		*t = v;
		return 0;
	}
	return -EINVAL;
}

static int calendar_opt(int c, struct calendar_args *a)
{
	int r;

	switch (c) {
	case 'n':
		if (parse_u64(optarg, COUNT_MAX, &a->count) < 0 || a->count == 0) {
			cli_error("--count: '%s' is not a number from 1 to %d", optarg, COUNT_MAX);
			return -EINVAL;
		}
		return 0;
	case 'f':
		r = parse_time_arg(optarg, &a->from);
		if (r == -ERANGE)
			cli_error("--from: '%s' does not exist (no such day, or a local time "
				  "the clock skips)",
				  optarg);
		else if (r < 0)
			cli_error("--from: '%s' is not a time: use YYYY-MM-DD [HH:MM[:SS]] [UTC], "
				  "@EPOCH or now",
				  optarg);
		a->have_from = true;
		return r;
	case 'o':
		if (strcmp(optarg, "text") == 0)
			a->json = false;
		else if (strcmp(optarg, "json") == 0)
			a->json = true;
		else {
			cli_error("--output-format: '%s' is not one of text, json", optarg);
			return -EINVAL;
		}
		return 0;
	default:
		return -EINVAL;
	}
}

/* The operands joined by spaces: `calendar mon..fri 22:00` needs no quotes. */
static int join_spec(int argc, char **argv, char *spec, size_t len)
{
	size_t n = 0;

	spec[0] = '\0';
	for (int i = 0; i < argc; i++) {
		int w = snprintf(spec + n, len - n, "%s%s", i ? " " : "", argv[i]);

		if (w < 0 || (size_t)w >= len - n)
			return -ENAMETOOLONG;
		n += (size_t)w;
	}
	return 0;
}

/* The spec and a caret under the failing position. */
static void show_position(const char *spec, size_t pos)
{
	fputs("  ", stderr);
	for (const char *c = spec; *c; c++)
		fputc(isprint((unsigned char)*c) ? *c : ' ', stderr);
	fprintf(stderr, "\n  %*s^\n", (int)pos, "");
}

static void format_time(int64_t t, bool in_utc, char *buf, size_t len)
{
	/* gmtime_r() calls the zone GMT; systemd and the schedules say UTC */
	if (timefmt(t, in_utc, in_utc ? "%a %Y-%m-%d %H:%M:%S UTC" : "%a %Y-%m-%d %H:%M:%S %Z", buf,
		    len) < 0)
		snprintf(buf, len, "@%" PRId64, t);
}

/* systemd's relative times: "8min left", "1 day 2h left", "2 years 1 month ago". */
static void format_relative(int64_t now, int64_t t, char *buf, size_t len)
{
	const int64_t min = 60, hour = 3600, day = 86400, week = 7 * day;
	const int64_t month = 2629800, year = 31557600; /* 30.44 and 365.25 days */
	int64_t d = t > now ? t - now : now - t;
	const char *dir = t > now ? "left" : "ago";
	long long a, b;

	if (d >= year) {
		a = d / year, b = d % year / month;
		snprintf(buf, len, "%lld %s %lld %s %s", a, a == 1 ? "year" : "years", b,
			 b == 1 ? "month" : "months", dir);
	} else if (d >= month) {
		a = d / month, b = d % month / day;
		snprintf(buf, len, "%lld %s %lld %s %s", a, a == 1 ? "month" : "months", b,
			 b == 1 ? "day" : "days", dir);
	} else if (d >= week) {
		a = d / week, b = d % week / day;
		snprintf(buf, len, "%lld %s %lld %s %s", a, a == 1 ? "week" : "weeks", b,
			 b == 1 ? "day" : "days", dir);
	} else if (d >= 2 * day) {
		snprintf(buf, len, "%lld days %s", (long long)(d / day), dir);
	} else if (d >= 25 * hour) {
		snprintf(buf, len, "1 day %lldh %s", (long long)((d - day) / hour), dir);
	} else if (d >= 6 * hour) {
		snprintf(buf, len, "%lldh %s", (long long)(d / hour), dir);
	} else if (d >= hour) {
		snprintf(buf, len, "%lldh %lldmin %s", (long long)(d / hour),
			 (long long)(d % hour / min), dir);
	} else if (d >= 5 * min) {
		snprintf(buf, len, "%lldmin %s", (long long)(d / min), dir);
	} else if (d >= min) {
		snprintf(buf, len, "%lldmin %llds %s", (long long)(d / min), (long long)(d % min),
			 dir);
	} else if (d > 0) {
		snprintf(buf, len, "%llds %s", (long long)d, dir);
	} else {
		snprintf(buf, len, "now");
	}
}

/* Local time is UTC when the zone calls itself that and has no offset. */
static bool local_is_utc(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	return localtime_r(&tt, &tm) && tm.tm_gmtoff == 0 && strcmp(tm.tm_zone, "UTC") == 0;
}

static void print_event(const struct calendar_event *ev, uint64_t i, int64_t t, int64_t now)
{
	char when[96], label[32];

	if (i == 0)
		snprintf(label, sizeof(label), "Next elapse");
	else
		snprintf(label, sizeof(label), "Iter. #%" PRIu64, i + 1);
	format_time(t, ev->utc, when, sizeof(when));
	printf("%15s: %s\n", label, when);
	if (!ev->utc && !local_is_utc(t)) {
		format_time(t, true, when, sizeof(when));
		printf("%15s: %s\n", "(in UTC)", when);
	}
	format_relative(now, t, when, sizeof(when));
	printf("%15s: %s\n", "From now", when);
}

/* The events after `after`, up to count; *n gets how many there are. */
static int next_events(const struct calendar_event *ev, int64_t after, uint64_t count,
		       int64_t *events, uint64_t *n)
{
	struct drover_err err = { "" };
	int r = 0;

	*n = 0;
	while (*n < count) {
		r = calendar_next(ev, after, &events[*n], &err);
		if (r < 0)
			break;
		after = events[(*n)++];
	}
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		cli_error("%s", err.text);
	return r;
}

static void print_text(const struct calendar_event *ev, const int64_t *events, uint64_t n,
		       int64_t now)
{
	printf("%15s: %s\n", "Original form", ev->spec);
	printf("%15s: %s\n", "Normalized form", ev->normalized);
	if (n == 0)
		printf("%15s: never\n", "Next elapse");
	for (uint64_t i = 0; i < n; i++)
		print_event(ev, i, events[i], now);
}

static void print_json(const struct calendar_event *ev, const int64_t *events, uint64_t n)
{
	struct json_object *o = json_object_new_object(), *list = json_object_new_array();

	json_object_object_add(o, "original", json_object_new_string(ev->spec));
	json_object_object_add(o, "normalized", json_object_new_string(ev->normalized));
	json_object_object_add(o, "utc", json_object_new_boolean(ev->utc));
	for (uint64_t i = 0; i < n; i++)
		json_object_array_add(list, json_object_new_int64(events[i]));
	json_object_object_add(o, "events", list);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static int cmd_calendar(struct cli_context *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "from", required_argument, NULL, 'f' },
		{ "output-format", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct calendar_args a = { .count = 1 };
	struct calendar_event ev;
	struct drover_err err = { "" };
	char spec[CALENDAR_SPEC_MAX];
	int64_t *events, now;
	uint64_t n;
	size_t pos = 0;
	int c, r;

	tzset();
	optind = 0;
	while ((c = getopt_long(argc, argv, "n:o:", opts, NULL)) != -1)
		if (c == '?' || calendar_opt(c, &a) < 0)
			return CLI_EXIT_USAGE;
	if (optind >= argc) {
		cli_error("calendar: missing SPEC (see 'drover replication calendar --help')");
		return CLI_EXIT_USAGE;
	}
	if (join_spec(argc - optind, argv + optind, spec, sizeof(spec)) < 0) {
		cli_error("calendar: SPEC longer than %d characters", CALENDAR_SPEC_MAX - 1);
		return CLI_EXIT_FAIL;
	}
	if (calendar_parse(spec, &ev, &pos, &err) < 0) {
		cli_error("%s", err.text);
		show_position(spec, pos);
		return CLI_EXIT_FAIL;
	}
	now = now_wall_s();
	events = calloc(a.count, sizeof(*events));
	if (!events) {
		cli_error("calendar: out of memory");
		return CLI_EXIT_FAIL;
	}
	r = next_events(&ev, a.have_from ? a.from : now, a.count, events, &n);
	if (r == 0) {
		if (a.json)
			print_json(&ev, events, n);
		else
			print_text(&ev, events, n, now);
	}
	free(events);
	return r < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static const struct cli_command replication_calendar = {
	.name = "calendar",
	.summary = "check a schedule: show its next events",
	.usage = "Usage: drover replication calendar SPEC... [--count N] [--from TIME]\n"
		 "                                   [--output-format text|json]\n"
		 "\n"
		 "Parses SPEC, a calendar event as a job's schedule takes it (the words\n"
		 "of SPEC may be given as separate arguments), and prints its normalized\n"
		 "form and its next events, as 'systemd-analyze calendar' does. A SPEC\n"
		 "that does not parse is shown with the failing position marked.\n"
		 "\n"
		 "Examples of SPEC: '*/15' (every 15 minutes, the default), hourly, daily,\n"
		 "'mon..fri 22:00', 'sat *-1..7 15:00' (first Saturday of the month),\n"
		 "'02:30 UTC'. A single number is a minute: '22' is 00:22, 01:22, ...\n"
		 "See drover-replication(1), SCHEDULE FORMAT.\n"
		 "\n"
		 "Options:\n"
		 "  -n, --count N              show N events (default 1)\n"
		 "      --from TIME            the events after TIME instead of now:\n"
		 "                             YYYY-MM-DD [HH:MM[:SS]] [UTC], @EPOCH or now\n"
		 "  -o, --output-format FMT    text (default) or json\n",
	.run = cmd_calendar,
};

static const struct cli_command *const replication_commands[] = {
	&repl_create_cmd,
	&repl_update_cmd,
	&repl_delete_cmd,
	&repl_enable_cmd,
	&repl_disable_cmd,
	&repl_list_cmd,
	&repl_read_cmd,
	&repl_status_cmd,
	&repl_schedule_now_cmd,
	&repl_run_cmd,
	&repl_log_cmd,
	&replication_calendar,
	&repl_metrics_cmd,
	&repl_prepare_cmd,
	&repl_finalize_cmd,
	&repl_set_state_cmd,
	NULL,
};

const struct cli_command cli_replication_group = {
	.name = "replication",
	.summary = "storage replication jobs (pvesr)",
	.usage = "Usage: drover replication COMMAND [OPTIONS]\n"
		 "\n"
		 "Storage replication: guests' volumes copied to other nodes on a\n"
		 "schedule, incrementally. See drover-replication(1).\n",
	.subcommands = replication_commands,
};
