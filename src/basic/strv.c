/* SPDX-License-Identifier: MIT */
#include "strv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "array.h"

void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

/* Takes ownership of str (freed on failure). */
static int strv_push(struct strv *s, char *str)
{
	if (!str)
		return -ENOMEM;
	if (ARRAY_GROW(s->v, s->cap, s->n + 2) < 0) { /* and the NULL after it */
		free(str);
		return -ENOMEM;
	}
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
	return 0;
}

int strv_add(struct strv *s, const char *str)
{
	return strv_push(s, strdup(str));
}

int strv_addf(struct strv *s, const char *fmt, ...)
{
	char *str;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&str, fmt, ap);
	va_end(ap);
	return strv_push(s, r < 0 ? NULL : str);
}

int strv_addv(struct strv *s, ...)
{
	const char *str;
	va_list ap;
	int r = 0;

	va_start(ap, s);
	while (r == 0 && (str = va_arg(ap, const char *)))
		r = strv_add(s, str);
	va_end(ap);
	return r;
}

char **strv_steal(struct strv *s)
{
	char **v = s->v;

	s->v = NULL;
	s->n = s->cap = 0;
	return v;
}

void strv_free_array(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

size_t strv_length(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}
