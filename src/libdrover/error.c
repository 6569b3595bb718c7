/* SPDX-License-Identifier: MIT */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int drover_fail(struct drover_err *err, int r, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->text, sizeof(err->text), fmt, ap);
		va_end(ap);
	}
	return r;
}

int drover_fail_prefix(struct drover_err *err, int r, const char *fmt, ...)
{
	char old[DROVER_ERR_MAX];
	size_t n;
	va_list ap;
	int w;

	if (!err)
		return r;
	memcpy(old, err->text, sizeof(old));
	va_start(ap, fmt);
	w = vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
	n = w < 0 ? 0 : (size_t)w;
	/* Long texts are cut at the end: the step named first matters most. */
	if (n < sizeof(err->text))
		snprintf(err->text + n, sizeof(err->text) - n, ": %.*s",
			 (int)(sizeof(err->text) - n), old);
	return r;
}

int drover_fail_append(struct drover_err *err, int r, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	if (!err)
		return r;
	n = strnlen(err->text, sizeof(err->text) - 1);
	va_start(ap, fmt);
	vsnprintf(err->text + n, sizeof(err->text) - n, fmt, ap);
	va_end(ap);
	return r;
}

int drover_fail_run(struct drover_err *err, int status, const char *output, const char *fmt, ...)
{
	int r = status < 0 ? status : -EIO;
	char what[DROVER_ERR_MAX];
	size_t n = output ? strlen(output) : 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	while (n && output[n - 1] == '\n')
		n--;
	if (status < 0 || !n)
		return drover_fail(err, r, "%s: %s", what,
				   status < 0 ? strerror(-status) : "failed without a word");
	return drover_fail(err, r, "%s: %.*s", what, (int)n, output);
}
