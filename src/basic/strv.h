/* SPDX-License-Identifier: MIT */
/*
 * A growable, NULL-terminated vector of strings: an argv being built. The
 * vector owns every string in it; strv_free() releases them and the array.
 */
#pragma once

#include <stddef.h>

#include "util.h"

struct strv {
	char **v; /* NULL-terminated once anything was added; NULL when empty */
	size_t n;
	size_t cap;
};

#define STRV_INIT          \
	{                  \
		NULL, 0, 0 \
	}

void strv_free(struct strv *s);

/* Append a copy of str. Returns 0 or -ENOMEM. */
int strv_add(struct strv *s, const char *str) WARN_UNUSED;

/* Append a printf-formatted string. Returns 0 or -ENOMEM. */
int strv_addf(struct strv *s, const char *fmt, ...) PRINTF_FMT(2, 3) WARN_UNUSED;

/* Append several strings, the list ending with NULL. Returns 0 or -ENOMEM. */
int strv_addv(struct strv *s, ...) __attribute__((sentinel)) WARN_UNUSED;

/* Take the array out (the caller frees it with strv_free_array()); s is empty after. */
char **strv_steal(struct strv *s);

/* Free a NULL-terminated array of strings and the strings (NULL is fine). */
void strv_free_array(char **v);

/* Number of strings in a NULL-terminated array. */
size_t strv_length(char *const *v);
