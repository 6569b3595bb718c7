/* SPDX-License-Identifier: MIT */
#include "shellwords.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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

/* Characters that mean nothing to a shell anywhere in a word. */
static bool is_plain(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("-_./:,=+@%", c);
}

int shellwords_quote(const char *word, struct buf *out)
{
	bool plain = word[0] != '\0';
	int r;

	for (const char *s = word; *s && plain; s++)
		plain = is_plain(*s);
	if (plain)
		return buf_append(out, word, strlen(word));
	r = buf_append(out, "'", 1);
	for (const char *s = word; *s && r == 0; s++)
		r = *s == '\'' ? buf_append(out, "'\\''", 4) : buf_append(out, s, 1);
	return r ? r : buf_append(out, "'", 1);
}
