/* SPDX-License-Identifier: MIT */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>

static void report_text(const struct drover_reporter *r, enum drover_event_kind kind,
			const char *fmt, va_list ap)
{
	struct drover_event ev = { .kind = kind };
	char text[2048];

	vsnprintf(text, sizeof(text), fmt, ap);
	ev.text = text;
	r->report(r->ctx, &ev);
}

#define REPORT_TEXT(r, kind, fmt)              \
	do {                                   \
		va_list ap;                    \
                                               \
		if (!(r) || !(r)->report)      \
			return;                \
		va_start(ap, fmt);             \
		report_text(r, kind, fmt, ap); \
		va_end(ap);                    \
	} while (0)

void drover_report_log(const struct drover_reporter *r, const char *fmt, ...)
{
	REPORT_TEXT(r, DROVER_EVENT_LOG, fmt);
}

void drover_report_warn(const struct drover_reporter *r, const char *fmt, ...)
{
	REPORT_TEXT(r, DROVER_EVENT_WARN, fmt);
}

void drover_report_note(const struct drover_reporter *r, const char *fmt, ...)
{
	REPORT_TEXT(r, DROVER_EVENT_NOTE, fmt);
}

void drover_report_error(const struct drover_reporter *r, const char *fmt, ...)
{
	REPORT_TEXT(r, DROVER_EVENT_ERROR, fmt);
}

void drover_report_bytes(const struct drover_reporter *r, uint64_t done, uint64_t total,
			 uint64_t rate, uint64_t elapsed_ns)
{
	struct drover_event ev = {
		.kind = DROVER_EVENT_BYTES,
		.done = done,
		.total = total,
		.rate = rate,
		.elapsed_ns = elapsed_ns,
	};

	if (r && r->report)
		r->report(r->ctx, &ev);
}
