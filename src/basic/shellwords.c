/* SPDX-License-Identifier: MIT */
#include "shellwords.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "buf.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* One word starting at *p into word; *p moves past it. 0 or -EINVAL/-ENOMEM. */
static int next_word(const char **p, struct buf *word)
{
	const char *s = *p;
	int r = 0;

	while (*s && !is_blank(*s) && r == 0) {
		if (*s == '\'') {
			const char *end = strchr(s + 1, '\'');

			if (!end)
				return -EINVAL;
			r = buf_append(word, s + 1, (size_t)(end - s - 1));
			s = end + 1;
		} else if (*s == '"') {
			for (s++; *s && *s != '"' && r == 0; s++) {
				if (*s == '\\' && s[1] && strchr("\\\"$`", s[1]))
					s++;
				r = buf_append(word, s, 1);
			}
			if (*s != '"')
				return -EINVAL;
			s++;
		} else if (*s == '\\') {
			if (!s[1])
				return -EINVAL;
			r = buf_append(word, s + 1, 1);
			s += 2;
		} else {
			r = buf_append(word, s, 1);
			s++;
		}
	}
	*p = s;
	return r;
}

int shellwords_split(const char *line, struct strv *out)
{
	struct strv words = STRV_INIT;
	struct buf word = BUF_INIT;
	const char *p = line;
	int r = 0;

	for (;;) {
		while (is_blank(*p))
			p++;
		if (!*p)
			break;
		buf_clear(&word);
		r = next_word(&p, &word);
		if (r == 0)
			r = buf_terminate(&word);
		if (r == 0)
			r = strv_add(&words, (const char *)word.data);
		if (r < 0)
			break;
	}
	for (size_t i = 0; r == 0 && i < words.n; i++)
		r = strv_add(out, words.v[i]);
	/* Half-appended words stay behind on ENOMEM only; callers free out anyway. */
	buf_free(&word);
	strv_free(&words);
	return r;
}
