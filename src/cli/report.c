/* SPDX-License-Identifier: MIT */
/* How the command line shows what libdrover reports and the errors it returns. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("drover: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void print_event(void *ctx, const struct drover_event *ev)
{
	switch (ev->kind) {
	case DROVER_EVENT_LOG:
		printf("%s\n", ev->text);
		fflush(stdout);
		break;
	case DROVER_EVENT_WARN:
		fprintf(stderr, "warning: %s\n", ev->text);
		break;
	case DROVER_EVENT_NOTE:
		fprintf(stderr, "%s\n", ev->text);
		break;
	case DROVER_EVENT_ERROR:
		cli_error("%s", ev->text);
		break;
	case DROVER_EVENT_BYTES:
		break; /* no operation of the command line moves data yet */
	}
}

const struct drover_reporter cli_reporter = { print_event, NULL };

int cli_output_format(const char *arg)
{
	if (streq(arg, "text"))
		return 0;
	if (streq(arg, "json"))
		return 1;
	if (streq(arg, "json-pretty"))
		return 2;
	cli_error("--output-format: '%s' is not one of text, json, json-pretty", arg);
	return -1;
}

int cli_fail(const struct drover_err *err, int r)
{
	cli_error("%s", err && err->text[0] ? err->text : strerror(r < 0 ? -r : r));
	return CLI_EXIT_FAIL;
}
