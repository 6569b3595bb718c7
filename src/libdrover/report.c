/* SPDX-License-Identifier: MIT */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>

void drover_report_log(const struct drover_reporter *r, const char *fmt, ...)
{
	struct drover_event ev = { .kind = DROVER_EVENT_LOG };
	char line[1024];
	va_list ap;

	if (!r || !r->report)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ev.text = line;
	r->report(r->ctx, &ev);
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
