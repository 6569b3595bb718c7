/* SPDX-License-Identifier: MIT */
#include "section_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/array.h"
#include "basic/util.h"

#define SC_NAME_MAX 63
#define SC_LINE_MAX 65536

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

bool sc_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SC_NAME_MAX || s[0] < 'a' || s[0] > 'z')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			return false;
	return true;
}

static void free_section(struct sc_section *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->props[i].key);
		free(s->props[i].value);
	}
	free(s->props);
	free(s->type);
	free(s->id);
	memset(s, 0, sizeof(*s));
}

void sc_free(struct sc_file *f)
{
	for (size_t i = 0; i < f->n; i++)
		free_section(&f->sections[i]);
	free(f->sections);
	memset(f, 0, sizeof(*f));
}

struct sc_section *sc_find(const struct sc_file *f, const char *id)
{
	for (size_t i = 0; i < f->n; i++)
		if (streq(f->sections[i].id, id))
			return &f->sections[i];
	return NULL;
}

const struct sc_prop *sc_prop(const struct sc_section *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (streq(s->props[i].key, key))
			return &s->props[i];
	return NULL;
}

int sc_add(struct sc_file *f, const char *type, const char *id, struct sc_section **out)
{
	struct sc_section *s;

	if (sc_find(f, id))
		return -EEXIST;
	if (ARRAY_GROW(f->sections, f->cap, f->n + 1) < 0)
		return -ENOMEM;
	s = &f->sections[f->n];
	memset(s, 0, sizeof(*s));
	s->type = strdup(type);
	s->id = strdup(id);
	if (!s->type || !s->id) {
		free_section(s);
		return -ENOMEM;
	}
	f->n++;
	if (out)
		*out = s;
	return 0;
}

int sc_remove(struct sc_file *f, const char *id)
{
	struct sc_section *s = sc_find(f, id);
	size_t i;

	if (!s)
		return -ENOENT;
	i = (size_t)(s - f->sections);
	free_section(s);
	memmove(&f->sections[i], &f->sections[i + 1], (f->n - i - 1) * sizeof(*s));
	f->n--;
	return 0;
}

static int set_at(struct sc_section *s, const char *key, const char *value, unsigned line)
{
	char *v = value ? strdup(value) : NULL;
	struct sc_prop *p;

	if (value && !v)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		if (streq(s->props[i].key, key)) {
			free(s->props[i].value);
			s->props[i].value = v;
			return 0;
		}
	}
	if (ARRAY_GROW(s->props, s->cap, s->n + 1) < 0) {
		free(v);
		return -ENOMEM;
	}
	p = &s->props[s->n];
	p->key = strdup(key);
	if (!p->key) {
		free(v);
		return -ENOMEM;
	}
	p->value = v;
	p->line = line;
	s->n++;
	return 0;
}

int sc_set(struct sc_section *s, const char *key, const char *value)
{
	return set_at(s, key, value, 0);
}

bool sc_unset(struct sc_section *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++) {
		if (!streq(s->props[i].key, key))
			continue;
		free(s->props[i].key);
		free(s->props[i].value);
		memmove(&s->props[i], &s->props[i + 1], (s->n - i - 1) * sizeof(s->props[0]));
		s->n--;
		return true;
	}
	return false;
}

int sc_copy(const struct sc_file *f, struct sc_file *out)
{
	*out = (struct sc_file)SC_FILE_INIT;
	for (size_t i = 0; i < f->n; i++) {
		const struct sc_section *s = &f->sections[i];
		struct sc_section *c;
		int r = sc_add(out, s->type, s->id, &c);

		if (r == 0)
			c->line = s->line;
		for (size_t k = 0; r == 0 && k < s->n; k++)
			r = set_at(c, s->props[k].key, s->props[k].value, s->props[k].line);
		if (r < 0) {
			sc_free(out);
			return r;
		}
	}
	return 0;
}

/* The parser's state: where it is, and which section lines go to. */
struct parser {
	const char *filename;
	unsigned line;
	struct sc_file *f;
	struct sc_section *cur; /* NULL: between sections */
	unsigned ended_at; /* line of the blank line that ended the last section */
	struct drover_err *err;
};

/* An error at the parser's line: "FILE:LINE: what". */
#define FAIL(p, r, fmt, ...) \
	drover_fail((p)->err, r, "%s:%u: " fmt, (p)->filename, (p)->line, ##__VA_ARGS__)

/* "TYPE: ID" with optional blanks after the colon and at the end. */
static int parse_header(struct parser *p, char *l)
{
	char *colon = strchr(l, ':'), *id, *end;
	struct sc_section *s;
	int r;

	if (!colon)
		return FAIL(p, -EINVAL, "'%.80s' is not a section header (TYPE: ID)", l);
	*colon = '\0';
	id = colon + 1;
	while (is_blank(*id))
		id++;
	end = id + strcspn(id, " \t\r");
	for (char *q = end; *q; q++)
		if (!is_blank(*q))
			return FAIL(p, -EINVAL,
				    "section header '%.60s: %.80s' has more than one ID", l, id);
	*end = '\0';
	if (!sc_name_valid(l))
		return FAIL(
			p, -EINVAL,
			"'%.80s' is not a section type (a-z, 0-9, '_', '-', starting with a letter)",
			l);
	if (!*id)
		return FAIL(p, -EINVAL, "section header '%.80s:' has no ID", l);
	if ((s = sc_find(p->f, id)))
		return FAIL(p, -EINVAL, "section ID '%.80s' is used twice (first at line %u)", id,
			    s->line);
	r = sc_add(p->f, l, id, &p->cur);
	if (r < 0)
		return drover_fail(p->err, r, "%s: out of memory", p->filename);
	p->cur->line = p->line;
	return 0;
}

/* An indented "key[ value]" line of the current section. */
static int parse_prop(struct parser *p, char *l)
{
	char *key = l, *value, *end;
	const struct sc_prop *old;
	int r;

	while (is_blank(*key))
		key++;
	if (!p->cur)
		return p->ended_at
			       ? FAIL(p, -EINVAL,
				      "indented line '%.80s' outside of a section (the blank line %u ended the section before)",
				      key, p->ended_at)
			       : FAIL(p, -EINVAL,
				      "indented line '%.80s' before the first section header", key);
	value = key + strcspn(key, " \t\r");
	if (*value) {
		*value++ = '\0';
		while (is_blank(*value))
			value++;
	}
	end = value + strlen(value);
	while (end > value && is_blank(end[-1]))
		*--end = '\0';
	if (!sc_name_valid(key))
		return FAIL(
			p, -EINVAL,
			"'%.80s' is not a key (a-z, 0-9, '_', '-', starting with a letter) in section '%.80s'",
			key, p->cur->id);
	if ((old = sc_prop(p->cur, key)))
		return FAIL(p, -EINVAL,
			    "key '%.80s' is given twice in section '%.80s' (first at line %u)", key,
			    p->cur->id, old->line);
	r = set_at(p->cur, key, *value ? value : NULL, p->line);
	if (r < 0)
		return drover_fail(p->err, r, "%s: out of memory", p->filename);
	return 0;
}

static int parse_line(struct parser *p, char *l)
{
	const char *first = l;

	while (is_blank(*first))
		first++;
	if (!*first) {
		/* a blank line ends the section */
		if (p->cur)
			p->ended_at = p->line;
		p->cur = NULL;
		return 0;
	}
	if (*first == '#')
		return 0;
	if (first == l)
		return parse_header(p, l);
	return parse_prop(p, l);
}

int sc_parse(const char *text, size_t len, const char *filename, struct sc_file *f,
	     struct drover_err *err)
{
	struct parser p = { .filename = filename, .f = f, .err = err };
	char *line = malloc(SC_LINE_MAX + 1);
	size_t pos = 0;
	int r = 0;

	*f = (struct sc_file)SC_FILE_INIT;
	if (!line)
		return drover_fail(err, -ENOMEM, "%s: out of memory", filename);
	while (r == 0 && pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		p.line++;
		if (n > SC_LINE_MAX)
			r = drover_fail(err, -EINVAL, "%s:%u: line longer than %u bytes", filename,
					p.line, SC_LINE_MAX);
		else if (memchr(text + pos, '\0', n))
			r = drover_fail(err, -EINVAL, "%s:%u: a NUL byte (not a text file?)",
					filename, p.line);
		if (r == 0) {
			memcpy(line, text + pos, n);
			line[n] = '\0';
			r = parse_line(&p, line);
		}
		pos += n + 1;
	}
	free(line);
	if (r < 0)
		sc_free(f);
	return r;
}

int sc_write(const struct sc_file *f, struct buf *out)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < f->n; i++) {
		const struct sc_section *s = &f->sections[i];

		r = buf_printf(out, "%s: %s\n", s->type, s->id);
		for (size_t k = 0; r == 0 && k < s->n; k++)
			r = s->props[k].value ? buf_printf(out, "\t%s %s\n", s->props[k].key,
							   s->props[k].value)
					      : buf_printf(out, "\t%s\n", s->props[k].key);
		if (r == 0)
			r = buf_printf(out, "\n");
	}
	return r;
}
