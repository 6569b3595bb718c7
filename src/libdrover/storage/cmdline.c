/* SPDX-License-Identifier: MIT */
#include "cmdline.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "run.h"

void cmdline_init(struct cmdline *c)
{
	memset(c, 0, sizeof(*c));
}

void cmdline_add(struct cmdline *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->error)
		return;
	if (c->argc == CMDLINE_ARGS) {
		c->error = -E2BIG;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(c->store + c->used, sizeof(c->store) - c->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(c->store) - c->used) {
		c->error = -E2BIG;
		return;
	}
	c->argv[c->argc++] = c->store + c->used;
	c->argv[c->argc] = NULL;
	c->used += (size_t)n + 1;
}

void cmdline_join(const struct cmdline *c, char *out, size_t len)
{
	size_t used = 0;

	if (len)
		out[0] = '\0';
	for (size_t i = 0; i < c->argc && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s", i ? " " : "", c->argv[i]);
}

int cmdline_run(const struct cmdline *c, int in, struct buf *out, struct drover_err *err)
{
	if (c->error)
		return drover_fail(err, c->error, "%s: command line too long",
				   c->argc ? c->argv[0] : "?");
	return storage_run(c->argv, in, out, err);
}
