/* SPDX-License-Identifier: MIT */
/*
 * Progress of a long operation. libdrover never prints: an operation that
 * moves data or takes many steps tells its caller through a reporter, and
 * the caller decides what to show (the CLI: a progress line on a terminal,
 * log lines otherwise; droverd: the task log; later the API: a stream).
 */
#pragma once

#include <stdint.h>

enum drover_event_kind {
	DROVER_EVENT_LOG, /* one line of a log (qm migrate's habit): text */
	DROVER_EVENT_BYTES, /* data moved so far: done, total, rate, elapsed_ns */
	DROVER_EVENT_WARN, /* something the user should know; the operation goes on: text */
	DROVER_EVENT_NOTE, /* advice or an explanation, shown as it is (may hold newlines): text */
	DROVER_EVENT_ERROR, /* one failure of several (a node of many); the result says the rest */
};

struct drover_event {
	enum drover_event_kind kind;
	const char *text; /* LOG, WARN, NOTE, ERROR: without a final newline */
	uint64_t done; /* DROVER_EVENT_BYTES: bytes moved */
	uint64_t total; /* bytes expected in all, 0 when unknown */
	uint64_t rate; /* bytes per second, recent */
	uint64_t elapsed_ns; /* since the transfer started */
};

struct drover_reporter {
	void (*report)(void *ctx, const struct drover_event *ev);
	void *ctx;
};

/* A log line to r (r or r->report may be NULL: then nothing happens). */
void drover_report_log(const struct drover_reporter *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A warning, a note or one failure of several to r (may be NULL). */
void drover_report_warn(const struct drover_reporter *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void drover_report_note(const struct drover_reporter *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void drover_report_error(const struct drover_reporter *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Bytes moved so far to r (may be NULL). */
void drover_report_bytes(const struct drover_reporter *r, uint64_t done, uint64_t total,
			 uint64_t rate, uint64_t elapsed_ns);
