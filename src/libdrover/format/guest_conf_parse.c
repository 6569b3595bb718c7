/* SPDX-License-Identifier: MIT */
/* Reading a guest config: lines into sections, each key checked against the schema. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "guest_conf.h"
#include "guest_conf_internal.h"
#include "guest_schema.h"

struct parser {
	struct guest_conf *c;
	struct guest_section *cur;
	struct guest_lines
		blanks; /* blank lines not yet placed: a section's, or the next header's */
	unsigned lineno;
	struct drover_err *err;
};

static int fail(struct parser *p, int r, const char *fmt, ...) PRINTF_FMT(3, 4);

static int fail(struct parser *p, int r, const char *fmt, ...)
{
	char text[DROVER_ERR_MAX], where[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return drover_fail(p->err, r, "%s%s",
			   guest_conf_where(p->c, p->lineno, where, sizeof(where)), text);
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* Move the waiting blank lines to the end of ls. */
static int flush_blanks(struct parser *p, struct guest_lines *ls)
{
	int r = 0;

	for (size_t i = 0; i < p->blanks.n && r == 0; i++) {
		struct guest_line *l = &p->blanks.v[i];

		r = guest_lines_push(ls, NULL, NULL, l->raw, l->lineno);
		l->raw = NULL;
	}
	guest_lines_free(&p->blanks);
	return r;
}

static int blank_line(struct parser *p, const char *line, size_t len)
{
	char *raw = strndup(line, len);

	return raw ? guest_lines_push(&p->blanks, NULL, NULL, raw, p->lineno) : -ENOMEM;
}

/* The text between '#' and the end of the line, trailing blanks cut. */
static int comment_line(struct parser *p, const char *line, size_t len)
{
	size_t end = len;
	char *raw, *value;

	while (end > 1 && is_space(line[end - 1]))
		end--;
	raw = strndup(line, len);
	value = strndup(line + 1, end - 1);
	if (flush_blanks(p, &p->cur->lines) < 0)
		return -ENOMEM;
	return raw && value ? guest_lines_push(&p->cur->lines, NULL, value, raw, p->lineno)
			    : (free(raw), free(value), -ENOMEM);
}

/* "[name]" opens the pending section or a snapshot. */
static int header_line(struct parser *p, const char *line, size_t len)
{
	const char *close = memchr(line, ']', len);
	struct guest_section *s;
	char name[64];
	size_t n;

	for (const char *q = close ? close + 1 : line + len; q < line + len; q++)
		if (!is_space(*q))
			close = NULL;
	if (!close)
		return fail(p, -EINVAL, "bad section header (expected [NAME])");
	n = (size_t)(close - line - 1);
	if (n == 0 || n >= sizeof(name))
		return fail(p, -EINVAL, "bad section name");
	memcpy(name, line + 1, n);
	name[n] = '\0';
	if (str_has_prefix(name, "special:"))
		return fail(p, -EINVAL, "section [%s] is not supported by drover", name);
	if (guest_section_is_pending_name(name)) {
		if (guest_conf_pending(p->c, false))
			return fail(p, -EINVAL, "a second [PENDING] section");
	} else {
		if (guest_key_check(p->c->type, GUEST_IN_CURRENT, "parent", name, NULL) < 0)
			return fail(p, -EINVAL, "bad snapshot name '%s'", name);
		if (guest_conf_snapshot(p->c, name))
			return fail(p, -EINVAL, "snapshot [%s] given twice", name);
	}
	s = guest_conf_append_section(p->c, guest_section_is_pending_name(name) ? "PENDING" : name);
	if (!s || !(s->header_raw = strndup(line, len)))
		return -ENOMEM;
	s->lineno = p->lineno;
	p->cur = s;
	return flush_blanks(p, &s->lead);
}

static unsigned where_of(const struct guest_section *s)
{
	if (!s->name)
		return GUEST_IN_CURRENT;
	return guest_section_is_pending_name(s->name) ? GUEST_IN_PENDING : GUEST_IN_SNAPSHOT;
}

static int check_key(struct parser *p, const char *key, const char *value)
{
	const struct guest_lines *ls = &p->cur->lines;
	int r;

	if (!guest_key_is_raw_lxc(p->c->type, key)) {
		for (size_t i = 0; i < ls->n; i++)
			if (ls->v[i].key && streq(ls->v[i].key, key))
				return fail(p, -EINVAL, "key '%s' given twice (also on line %u)",
					    key, ls->v[i].lineno);
	}
	if (!*value && !guest_key_is_raw_lxc(p->c->type, key))
		return fail(p, -EINVAL, "key '%s' has no value", key);
	if (strlen(value) > GUEST_VALUE_MAX)
		return fail(p, -EINVAL, "value of '%s' is longer than %d bytes", key,
			    GUEST_VALUE_MAX);
	r = guest_key_check(p->c->type, where_of(p->cur), key, value, p->err);
	if (r < 0)
		return drover_fail_prefix(p->err, r, "%s:%u", p->c->filename, p->lineno);
	return 0;
}

/* "key: value" */
static int key_line(struct parser *p, const char *line, size_t len)
{
	size_t klen = 0, vstart, vend = len;
	char *key = NULL, *value = NULL, *raw = NULL;
	int r;

	while (klen < len && line[klen] != ':' && !is_space(line[klen]))
		klen++;
	if (klen == len || line[klen] != ':' || klen == 0)
		return fail(p, -EINVAL, "not a 'key: value' line");
	vstart = klen + 1;
	while (vstart < len && is_space(line[vstart]))
		vstart++;
	while (vend > vstart && is_space(line[vend - 1]))
		vend--;
	key = strndup(line, klen);
	value = strndup(line + vstart, vend - vstart);
	raw = strndup(line, len);
	if (!key || !value || !raw) {
		r = -ENOMEM;
	} else if (!guest_key_syntax_ok(p->c->type, key)) {
		r = fail(p, -EINVAL, "bad key '%s'", key);
	} else {
		r = check_key(p, key, value);
	}
	if (r == 0)
		r = flush_blanks(p, &p->cur->lines);
	if (r == 0)
		return guest_lines_push(&p->cur->lines, key, value, raw, p->lineno);
	free(key);
	free(value);
	free(raw);
	return r;
}

static bool is_blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_space(line[i]))
			return false;
	return true;
}

static int parse_line(struct parser *p, const char *line, size_t len)
{
	if (is_blank(line, len))
		return blank_line(p, line, len);
	if (line[0] == '#')
		return comment_line(p, line, len);
	if (line[0] == '[')
		return header_line(p, line, len);
	return key_line(p, line, len);
}

static int parse_text(struct parser *p, const char *text, size_t len)
{
	const char *s = text, *end = text + len;
	int r = 0;

	while (s < end && r == 0) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);

		p->lineno++;
		if (memchr(s, '\0', n))
			return fail(p, -EINVAL, "NUL byte in the line");
		r = parse_line(p, s, n);
		s += n + 1;
	}
	if (r == 0)
		r = flush_blanks(p, &p->cur->lines);
	return r;
}

int guest_conf_parse(enum guest_type type, const char *filename, const char *text, size_t len,
		     struct guest_conf **out, struct drover_err *err)
{
	struct parser p = { .err = err };
	int r;

	if (len > GUEST_CONF_MAX_SIZE)
		return drover_fail(err, -EFBIG,
				   "%s: %zu bytes, more than the %d a guest config may have",
				   filename, len, GUEST_CONF_MAX_SIZE);
	p.c = guest_conf_new(type);
	if (!p.c || !(p.c->filename = strdup(filename))) {
		guest_conf_free(p.c);
		return drover_fail(err, -ENOMEM, "out of memory");
	}
	p.cur = p.c->sections[0];
	p.c->no_final_newline = len > 0 && text[len - 1] != '\n';
	r = parse_text(&p, text, len);
	if (r == 0)
		r = guest_conf_validate(p.c, err);
	if (r == 0 && guest_digest(text, len, p.c->digest) < 0)
		r = drover_fail(err, -EIO, "%s: SHA-1 failed", filename);
	guest_lines_free(&p.blanks);
	if (r == -ENOMEM)
		drover_fail(err, r, "%s: out of memory", filename);
	if (r < 0) {
		guest_conf_free(p.c);
		return r;
	}
	*out = p.c;
	return 0;
}

int guest_conf_load(enum guest_type type, const char *path, struct guest_conf **out,
		    struct drover_err *err)
{
	char *text = NULL;
	size_t len = 0;
	int r = read_file_max(path, GUEST_CONF_MAX_SIZE, &text, &len);

	if (r == -EFBIG)
		return drover_fail(err, r, "%s: larger than the %d bytes a guest config may have",
				   path, GUEST_CONF_MAX_SIZE);
	if (r < 0)
		return drover_fail(err, r, "%s: %s", path, strerror(-r));
	r = guest_conf_parse(type, path, text, len, out, err);
	free(text);
	return r;
}
