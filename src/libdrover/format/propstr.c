/* SPDX-License-Identifier: MIT */
#include "propstr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/array.h"
#include "basic/util.h"

void propstr_free(struct propstr *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->items[i].key);
		free(p->items[i].value);
	}
	free(p->items);
	p->items = NULL;
	p->n = p->cap = 0;
}

static bool key_valid(const char *k, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = k[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Append an item made of copies of key (may be NULL) and value. */
static int push(struct propstr *p, const char *key, size_t klen, const char *value, size_t vlen)
{
	struct propstr_item *it;

	if (ARRAY_GROW(p->items, p->cap, p->n + 1) < 0)
		return -ENOMEM;
	it = &p->items[p->n];
	it->key = key ? strndup(key, klen) : NULL;
	it->value = strndup(value, vlen);
	if ((key && !it->key) || !it->value) {
		free(it->key);
		free(it->value);
		return -ENOMEM;
	}
	p->n++;
	return 0;
}

/* One item text[0..len) (no comma in it) appended to p. */
static int parse_item(struct propstr *p, const char *item, size_t len, struct drover_err *err)
{
	const char *eq = memchr(item, '=', len);
	size_t klen, vlen;

	if (len == 0)
		return drover_fail(err, -EINVAL, "empty item in property list");
	if (!eq) {
		if (p->n > 0)
			return drover_fail(err, -EINVAL, "'%.*s' is not key=value", (int)len, item);
		return push(p, NULL, 0, item, len);
	}
	klen = (size_t)(eq - item);
	vlen = len - klen - 1;
	if (!key_valid(item, klen))
		return drover_fail(err, -EINVAL, "bad property name '%.*s'", (int)klen, item);
	if (vlen == 0)
		return drover_fail(err, -EINVAL, "property '%.*s' has no value", (int)klen, item);
	for (size_t i = 0; i < p->n; i++)
		if (p->items[i].key && strlen(p->items[i].key) == klen &&
		    memcmp(p->items[i].key, item, klen) == 0)
			return drover_fail(err, -EINVAL, "property '%.*s' given twice", (int)klen,
					   item);
	return push(p, item, klen, eq + 1, vlen);
}

int propstr_parse(const char *text, struct propstr *out, struct drover_err *err)
{
	struct propstr p = PROPSTR_INIT;
	const char *s = text;
	int r = 0;

	if (!*text)
		return drover_fail(err, -EINVAL, "empty property list");
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);

		r = parse_item(&p, s, len, err);
		if (r < 0 || !comma)
			break;
		s = comma + 1;
	}
	if (r < 0) {
		propstr_free(&p);
		return r == -ENOMEM ? drover_fail(err, r, "out of memory") : r;
	}
	*out = p;
	return 0;
}

struct propstr_item *propstr_find(const struct propstr *p, const char *key)
{
	for (size_t i = 0; i < p->n; i++) {
		const char *k = p->items[i].key;

		if (key ? (k && streq(k, key)) : !k)
			return &p->items[i];
	}
	return NULL;
}

const char *propstr_get(const struct propstr *p, const char *key)
{
	struct propstr_item *it = propstr_find(p, key);

	return it ? it->value : NULL;
}

static void remove_item(struct propstr *p, struct propstr_item *it)
{
	size_t i = (size_t)(it - p->items);

	free(it->key);
	free(it->value);
	memmove(&p->items[i], &p->items[i + 1], (p->n - i - 1) * sizeof(*it));
	p->n--;
}

int propstr_set(struct propstr *p, const char *key, const char *value)
{
	struct propstr_item *it = propstr_find(p, key);
	char *v;
	int r;

	if (!value) {
		if (it)
			remove_item(p, it);
		return 0;
	}
	if (it) {
		v = strdup(value);
		if (!v)
			return -ENOMEM;
		free(it->value);
		it->value = v;
		return 0;
	}
	r = push(p, key, key ? strlen(key) : 0, value, strlen(value));
	if (r == 0 && !key) {
		/* The bare value is always the first item. */
		struct propstr_item bare = p->items[p->n - 1];

		memmove(&p->items[1], &p->items[0], (p->n - 1) * sizeof(bare));
		p->items[0] = bare;
	}
	return r;
}

int propstr_format(const struct propstr *p, struct buf *out)
{
	int r = 0;

	for (size_t i = 0; i < p->n && r == 0; i++) {
		const struct propstr_item *it = &p->items[i];

		if (i > 0)
			r = buf_append(out, ",", 1);
		if (r == 0 && it->key)
			r = buf_printf(out, "%s=", it->key);
		if (r == 0)
			r = buf_append(out, it->value, strlen(it->value));
	}
	return r;
}

int propstr_bool(const char *value, bool *out)
{
	static const char *const yes[] = { "1", "on", "yes", "true" };
	static const char *const no[] = { "0", "off", "no", "false" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (streq(value, yes[i])) {
			*out = true;
			return 0;
		}
		if (streq(value, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}
