/* SPDX-License-Identifier: MIT */
#include "corosync_conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"

void cc_free(struct cc_node *n)
{
	while (n) {
		struct cc_node *next = n->next;

		cc_free(n->children);
		free(n->name);
		free(n->value);
		free(n);
		n = next;
	}
}

static void append_child(struct cc_node *parent, struct cc_node *n)
{
	struct cc_node **p = &parent->children;

	while (*p)
		p = &(*p)->next;
	*p = n;
}

struct cc_node *cc_add(struct cc_node *parent, const char *name, const char *value)
{
	struct cc_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strdup(name);
	n->value = value ? strdup(value) : NULL;
	if (!n->name || (value && !n->value)) {
		cc_free(n);
		return NULL;
	}
	if (parent)
		append_child(parent, n);
	return n;
}

struct cc_node *cc_addf(struct cc_node *parent, const char *name, const char *fmt, ...)
{
	char value[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	return cc_add(parent, name, value);
}

struct cc_node *cc_set(struct cc_node *n, const char *key, const char *value)
{
	struct cc_node *k = cc_child(n, key);
	char *v;

	if (!k || !k->value)
		return cc_add(n, key, value);
	v = strdup(value);
	if (!v)
		return NULL;
	free(k->value);
	k->value = v;
	return k;
}

void cc_remove(struct cc_node *parent, struct cc_node *child)
{
	for (struct cc_node **p = &parent->children; *p; p = &(*p)->next) {
		if (*p == child) {
			*p = child->next;
			child->next = NULL;
			cc_free(child);
			return;
		}
	}
}

struct cc_node *cc_child(const struct cc_node *n, const char *name)
{
	for (struct cc_node *c = n ? n->children : NULL; c; c = c->next)
		if (streq(c->name, name))
			return c;
	return NULL;
}

const char *cc_get(const struct cc_node *root, const char *section, const char *key)
{
	/* No section: a key of root itself. */
	const struct cc_node *s = section ? cc_child(root, section) : root;
	struct cc_node *k = s && !s->value ? cc_child(s, key) : NULL;

	return k ? k->value : NULL;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int fail(struct cc_error *err, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct cc_error *err, unsigned line, const char *fmt, ...)
{
	va_list ap;

	err->line = line;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool valid_name(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
			return false;
	return true;
}

/* One line: "}", "name {", "key: value", blank or comment. */
static int parse_line(char *s, unsigned lineno, struct cc_node **stack, int *depth,
		      struct cc_error *err)
{
	size_t len;
	char *colon;

	s = trim(s);
	len = strlen(s);
	if (len == 0 || s[0] == '#')
		return 0;
	if (streq(s, "}")) {
		if (*depth == 0)
			return fail(err, lineno, "'}' without an open section");
		(*depth)--;
		return 0;
	}
	if (s[len - 1] == '{') {
		char *name = trim((s[len - 1] = '\0', s));

		if (!valid_name(name, strlen(name)))
			return fail(err, lineno, "invalid section name '%s'", name);
		if (*depth >= 15)
			return fail(err, lineno, "sections nested too deep");
		stack[*depth + 1] = cc_add(stack[*depth], name, NULL);
		if (!stack[*depth + 1])
			return -ENOMEM;
		stack[*depth + 1]->line = lineno;
		(*depth)++;
		return 0;
	}
	if (strchr(s, '{') || strchr(s, '}'))
		return fail(err, lineno, "a brace must stand alone at the end of its line");
	colon = strchr(s, ':');
	if (!colon)
		return fail(err, lineno, "expected 'key: value', a section or '}'");
	*colon = '\0';
	if (!valid_name(trim(s), strlen(trim(s))))
		return fail(err, lineno, "invalid key '%s'", trim(s));
	if (*depth == 0)
		return fail(err, lineno, "key '%s' outside of any section", trim(s));
	{
		struct cc_node *k = cc_add(stack[*depth], trim(s), trim(colon + 1));

		if (!k)
			return -ENOMEM;
		k->line = lineno;
	}
	return 0;
}

struct cc_node *cc_parse(const char *text, size_t len, struct cc_error *err)
{
	struct cc_node *stack[16];
	struct cc_node *root = cc_add(NULL, "", NULL);
	unsigned lineno = 0;
	int depth = 0, r = 0;
	size_t pos = 0;

	memset(err, 0, sizeof(*err));
	if (!root)
		return NULL;
	stack[0] = root;
	while (pos < len && r == 0) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *line = malloc(n + 1);

		lineno++;
		if (!line) {
			r = -ENOMEM;
			break;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		if (memchr(line, '\0', n))
			r = fail(err, lineno, "NUL byte in the text");
		else
			r = parse_line(line, lineno, stack, &depth, err);
		free(line);
		pos += n + 1;
	}
	if (r == 0 && depth > 0)
		r = fail(err, stack[depth]->line, "section '%s' is not closed", stack[depth]->name);
	if (r < 0) {
		if (r == -ENOMEM && !err->text[0])
			snprintf(err->text, sizeof(err->text), "out of memory");
		cc_free(root);
		return NULL;
	}
	return root;
}

static int write_node(const struct cc_node *n, int indent, struct buf *out)
{
	char line[1024];
	int r = 0;

	for (const struct cc_node *c = n->children; c && r == 0; c = c->next) {
		if (c->value) {
			snprintf(line, sizeof(line), "%*s%s: %s\n", indent, "", c->name, c->value);
			r = buf_append(out, line, strlen(line));
			continue;
		}
		snprintf(line, sizeof(line), "%*s%s {\n", indent, "", c->name);
		r = buf_append(out, line, strlen(line));
		if (r == 0)
			r = write_node(c, indent + 4, out);
		if (r == 0) {
			snprintf(line, sizeof(line), "%*s}\n", indent, "");
			r = buf_append(out, line, strlen(line));
		}
		/* a blank line between top-level sections, as corosync's examples have */
		if (r == 0 && indent == 0 && c->next)
			r = buf_append(out, "\n", 1);
	}
	return r;
}

int cc_write(const struct cc_node *root, struct buf *out)
{
	return write_node(root, 0, out);
}

uint64_t cc_config_version(const char *text, size_t len)
{
	struct cc_error err;
	struct cc_node *root = cc_parse(text, len, &err);
	const char *v = root ? cc_get(root, "totem", "config_version") : NULL;
	uint64_t version = 0;

	if (v && parse_u64(v, UINT64_MAX, &version) < 0)
		version = 0;
	cc_free(root);
	return version;
}
