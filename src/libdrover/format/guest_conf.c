/* SPDX-License-Identifier: MIT */
/* The guest config model: sections and lines, edits, the writer, digest and checks. */
#include "guest_conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "basic/array.h"
#include "basic/util.h"
#include "guest_conf_internal.h"
#include "guest_options.h"
#include "guest_schema.h"

void guest_line_clear(struct guest_line *l)
{
	free(l->key);
	free(l->value);
	free(l->raw);
	memset(l, 0, sizeof(*l));
}

int guest_lines_push(struct guest_lines *ls, char *key, char *value, char *raw, unsigned lineno)
{
	if (ARRAY_GROW(ls->v, ls->cap, ls->n + 1) < 0) {
		free(key);
		free(value);
		free(raw);
		return -ENOMEM;
	}
	ls->v[ls->n++] = (struct guest_line){ key, value, raw, lineno };
	return 0;
}

void guest_lines_free(struct guest_lines *ls)
{
	for (size_t i = 0; i < ls->n; i++)
		guest_line_clear(&ls->v[i]);
	free(ls->v);
	memset(ls, 0, sizeof(*ls));
}

static void section_free(struct guest_section *s)
{
	if (!s)
		return;
	guest_lines_free(&s->lead);
	guest_lines_free(&s->lines);
	free(s->name);
	free(s->header_raw);
	free(s);
}

bool guest_section_is_pending_name(const char *name)
{
	return name && strcasecmp(name, "PENDING") == 0;
}

const char *guest_conf_where(const struct guest_conf *c, unsigned lineno, char *buf, size_t len)
{
	if (!c->filename)
		buf[0] = '\0';
	else if (lineno)
		snprintf(buf, len, "%s:%u: ", c->filename, lineno);
	else
		snprintf(buf, len, "%s: ", c->filename);
	return buf;
}

static struct guest_section *section_new(struct guest_conf *c, const char *name)
{
	struct guest_section *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->conf = c;
	if (name && !(s->name = strdup(name))) {
		free(s);
		return NULL;
	}
	return s;
}

/* Insert s at position pos of c's sections. 0 or -ENOMEM (s not freed). */
static int section_insert(struct guest_conf *c, struct guest_section *s, size_t pos)
{
	if (ARRAY_GROW(c->sections, c->cap, c->n + 1) < 0)
		return -ENOMEM;
	memmove(&c->sections[pos + 1], &c->sections[pos], (c->n - pos) * sizeof(s));
	c->sections[pos] = s;
	c->n++;
	return 0;
}

struct guest_section *guest_conf_append_section(struct guest_conf *c, const char *name)
{
	struct guest_section *s = section_new(c, name);

	if (s && section_insert(c, s, c->n) < 0) {
		section_free(s);
		return NULL;
	}
	return s;
}

struct guest_conf *guest_conf_new(enum guest_type type)
{
	struct guest_conf *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->type = type;
	if (!guest_conf_append_section(c, NULL)) {
		free(c);
		return NULL;
	}
	return c;
}

void guest_conf_free(struct guest_conf *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		section_free(c->sections[i]);
	free(c->sections);
	free(c->filename);
	free(c);
}

enum guest_type guest_conf_type(const struct guest_conf *c)
{
	return c->type;
}

const char *guest_conf_digest(const struct guest_conf *c)
{
	return c->digest;
}

int guest_digest(const void *data, size_t len, char out[GUEST_DIGEST_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
		return -EIO;
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int guest_conf_check_digest(const struct guest_conf *c, const char *expected,
			    struct drover_err *err)
{
	if (!expected || !*expected || strcasecmp(expected, c->digest) == 0)
		return 0;
	return drover_fail(
		err, -ESTALE,
		"the config was changed by someone else (digest %s, expected %s): read it again",
		c->digest, expected);
}

int guest_conf_check_lock(const struct guest_conf *c, unsigned vmid, const char *allowed,
			  struct drover_err *err)
{
	const char *lock = guest_get(c->sections[0], "lock");
	const char *what = c->type == GUEST_LXC ? "CT" : "VM";

	if (!lock || (allowed && streq(lock, allowed)))
		return 0;
	if (vmid)
		return drover_fail(err, -EBUSY, "%s %u is locked (%s)", what, vmid, lock);
	return drover_fail(err, -EBUSY, "%s is locked (%s)", what, lock);
}

/* --- writing --- */

static int write_line(const struct guest_line *l, struct buf *out)
{
	if (l->raw)
		return buf_printf(out, "%s\n", l->raw);
	if (l->key)
		return buf_printf(out, "%s: %s\n", l->key, l->value);
	if (l->value)
		return buf_printf(out, "#%s\n", l->value);
	return buf_append(out, "\n", 1);
}

static int write_lines(const struct guest_lines *ls, struct buf *out)
{
	int r = 0;

	for (size_t i = 0; i < ls->n && r == 0; i++)
		r = write_line(&ls->v[i], out);
	return r;
}

int guest_conf_write(const struct guest_conf *c, struct buf *out)
{
	size_t start = out->len;
	int r = 0;

	for (size_t i = 0; i < c->n && r == 0; i++) {
		const struct guest_section *s = c->sections[i];

		if (i > 0) {
			r = write_lines(&s->lead, out);
			if (r == 0 && s->header_raw)
				r = buf_printf(out, "%s\n", s->header_raw);
			else if (r == 0)
				r = buf_printf(out, "[%s]\n", s->name);
		}
		if (r == 0)
			r = write_lines(&s->lines, out);
	}
	/* Byte for byte: a file read without a final newline is written without one. */
	if (r == 0 && c->no_final_newline && !c->changed && out->len > start)
		out->len--;
	return r;
}

/* --- sections --- */

struct guest_section *guest_conf_current(struct guest_conf *c)
{
	return c->sections[0];
}

static bool is_snapshot(const struct guest_section *s)
{
	return s->name && !guest_section_is_pending_name(s->name);
}

struct guest_section *guest_conf_pending(struct guest_conf *c, bool create)
{
	struct guest_section *s;

	for (size_t i = 1; i < c->n; i++)
		if (guest_section_is_pending_name(c->sections[i]->name))
			return c->sections[i];
	if (!create)
		return NULL;
	s = section_new(c, "PENDING");
	if (!s || guest_lines_push(&s->lead, NULL, NULL, NULL, 0) < 0 ||
	    section_insert(c, s, 1) < 0) {
		section_free(s);
		return NULL;
	}
	c->changed = true;
	return s;
}

struct guest_section *guest_conf_snapshot(struct guest_conf *c, const char *name)
{
	for (size_t i = 1; i < c->n; i++)
		if (is_snapshot(c->sections[i]) && streq(c->sections[i]->name, name))
			return c->sections[i];
	return NULL;
}

size_t guest_conf_snapshot_count(const struct guest_conf *c)
{
	size_t n = 0;

	for (size_t i = 1; i < c->n; i++)
		n += is_snapshot(c->sections[i]);
	return n;
}

struct guest_section *guest_conf_snapshot_at(struct guest_conf *c, size_t k)
{
	for (size_t i = 1; i < c->n; i++)
		if (is_snapshot(c->sections[i]) && k-- == 0)
			return c->sections[i];
	return NULL;
}

int guest_conf_snapshot_add(struct guest_conf *c, const char *name, struct guest_section **out,
			    struct drover_err *err)
{
	struct guest_section *s;
	size_t pos = c->n;
	int r;

	r = guest_key_check(c->type, GUEST_IN_CURRENT, "parent", name, err);
	if (r < 0 || guest_section_is_pending_name(name))
		return drover_fail(err, -EINVAL, "bad snapshot name '%s'", name);
	if (guest_conf_snapshot(c, name))
		return drover_fail(err, -EEXIST, "snapshot '%s' already exists", name);
	for (size_t i = 1; i < c->n; i++) {
		if (is_snapshot(c->sections[i]) && strcmp(c->sections[i]->name, name) > 0) {
			pos = i;
			break;
		}
	}
	s = section_new(c, name);
	if (!s || guest_lines_push(&s->lead, NULL, NULL, NULL, 0) < 0 ||
	    section_insert(c, s, pos) < 0) {
		section_free(s);
		return drover_fail(err, -ENOMEM, "out of memory");
	}
	c->changed = true;
	if (out)
		*out = s;
	return 0;
}

void guest_conf_section_remove(struct guest_conf *c, struct guest_section *s)
{
	for (size_t i = 1; i < c->n; i++) {
		if (c->sections[i] != s)
			continue;
		memmove(&c->sections[i], &c->sections[i + 1], (c->n - i - 1) * sizeof(s));
		c->n--;
		section_free(s);
		c->changed = true;
		return;
	}
}

const char *guest_section_name(const struct guest_section *s)
{
	return s->name;
}

/* --- keys --- */

static struct guest_line *find_line(const struct guest_section *s, const char *key)
{
	for (size_t i = 0; i < s->lines.n; i++)
		if (s->lines.v[i].key && streq(s->lines.v[i].key, key))
			return &s->lines.v[i];
	return NULL;
}

const char *guest_get(const struct guest_section *s, const char *key)
{
	struct guest_line *l = find_line(s, key);

	return l ? l->value : NULL;
}

int guest_each_numbered(struct guest_section *s, const char *prefix, unsigned count,
			int (*fn)(void *ctx, const char *key, const char *value, unsigned index),
			void *ctx)
{
	int r = 0;

	for (unsigned i = 0; i < count && r >= 0; i++) {
		char key[64];
		const char *v;

		snprintf(key, sizeof(key), "%s%u", prefix, i);
		v = guest_get(s, key);
		if (v)
			r = fn(ctx, key, v, i);
	}
	return r < 0 ? r : 0;
}

size_t guest_section_size(const struct guest_section *s)
{
	return s->lines.n;
}

const char *guest_line_key(const struct guest_section *s, size_t i, const char **value)
{
	if (i >= s->lines.n || !s->lines.v[i].key)
		return NULL;
	if (value)
		*value = s->lines.v[i].value;
	return s->lines.v[i].key;
}

static unsigned where_of(const struct guest_section *s)
{
	if (!s->name)
		return GUEST_IN_CURRENT;
	return guest_section_is_pending_name(s->name) ? GUEST_IN_PENDING : GUEST_IN_SNAPSHOT;
}

/* Index after the last line that is not blank (new lines go before trailing blanks). */
static size_t content_end(const struct guest_section *s)
{
	size_t end = s->lines.n;

	while (end > 0 && !s->lines.v[end - 1].key && !s->lines.v[end - 1].value)
		end--;
	return end;
}

/* Where a new key line goes: before the first key sorting after it; raw LXC keys last. */
static size_t insert_pos(const struct guest_section *s, const char *key)
{
	bool raw = guest_key_is_raw_lxc(s->conf->type, key);
	size_t end = content_end(s);

	if (raw)
		return end;
	for (size_t i = 0; i < end; i++) {
		const char *k = s->lines.v[i].key;

		if (k && (guest_key_is_raw_lxc(s->conf->type, k) || strcmp(k, key) > 0))
			return i;
	}
	return end;
}

/* Insert a new key line at pos. 0 or -ENOMEM. */
static int insert_line(struct guest_section *s, size_t pos, const char *key, const char *value)
{
	char *k = strdup(key), *v = strdup(value);
	struct guest_line l;
	int r;

	if (!k || !v) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	r = guest_lines_push(&s->lines, k, v, NULL, 0);
	if (r < 0)
		return r;
	l = s->lines.v[s->lines.n - 1];
	memmove(&s->lines.v[pos + 1], &s->lines.v[pos], (s->lines.n - 1 - pos) * sizeof(l));
	s->lines.v[pos] = l;
	return 0;
}

static int set_line_value(struct guest_line *l, const char *value)
{
	char *v;

	if (streq(l->value, value))
		return 0; /* unchanged: the line keeps its bytes */
	v = strdup(value);
	if (!v)
		return -ENOMEM;
	free(l->value);
	l->value = v;
	free(l->raw);
	l->raw = NULL;
	return 0;
}

int guest_set(struct guest_section *s, const char *key, const char *value, struct drover_err *err)
{
	struct guest_line *l;
	int r;

	if (streq(key, "description"))
		return guest_set_description(s, value, err);
	r = guest_key_check(s->conf->type, where_of(s), key, value, err);
	if (r < 0)
		return r;
	l = find_line(s, key);
	r = l ? set_line_value(l, value) : insert_line(s, insert_pos(s, key), key, value);
	if (r < 0)
		return drover_fail(err, r, "out of memory");
	s->conf->changed = true;
	return 0;
}

int guest_add_raw_lxc(struct guest_section *s, const char *key, const char *value,
		      struct drover_err *err)
{
	int r;

	if (!guest_key_is_raw_lxc(s->conf->type, key))
		return drover_fail(err, -EINVAL, "'%s' is not a raw LXC key", key);
	r = guest_key_check(s->conf->type, where_of(s), key, value, err);
	if (r == 0 && insert_line(s, content_end(s), key, value) < 0)
		r = drover_fail(err, -ENOMEM, "out of memory");
	if (r == 0)
		s->conf->changed = true;
	return r;
}

static void remove_line(struct guest_lines *ls, size_t i)
{
	guest_line_clear(&ls->v[i]);
	memmove(&ls->v[i], &ls->v[i + 1], (ls->n - i - 1) * sizeof(ls->v[0]));
	ls->n--;
}

static bool is_comment(const struct guest_line *l)
{
	return !l->key && l->value;
}

int guest_delete(struct guest_section *s, const char *key)
{
	bool found = false;

	for (size_t i = s->lines.n; i-- > 0;) {
		const struct guest_line *l = &s->lines.v[i];
		bool descr = streq(key, "description") && is_comment(l);

		if (descr || (l->key && streq(l->key, key))) {
			remove_line(&s->lines, i);
			found = true;
		}
	}
	if (found)
		s->conf->changed = true;
	return found ? 0 : -ENOENT;
}

/* --- description --- */

/* The text of b as a new C string in *out (b is emptied); on r < 0 just free b. */
static int take_string(struct buf *b, int r, char **out)
{
	if (r == 0)
		r = buf_terminate(b);
	if (r < 0) {
		buf_free(b);
		return r;
	}
	*out = (char *)buf_steal(b, NULL);
	return 0;
}

/* Append text with %XX decoded. */
static int decode_append(struct buf *b, const char *text)
{
	int r = 0;

	for (const char *p = text; *p && r == 0; p++) {
		int hi = p[0] == '%' ? hex_digit(p[1]) : -1;
		int lo = hi >= 0 ? hex_digit(p[2]) : -1;
		char ch = lo >= 0 ? (char)(hi << 4 | lo) : *p;

		r = buf_append(b, &ch, 1);
		if (lo >= 0)
			p += 2;
	}
	return r;
}

int guest_description(const struct guest_section *s, char **out)
{
	const char *key_value = guest_get(s, "description");
	struct buf b = BUF_INIT;
	int r = 0;

	for (size_t i = 0; i < s->lines.n && r == 0; i++) {
		if (!is_comment(&s->lines.v[i]))
			continue;
		r = decode_append(&b, s->lines.v[i].value);
		if (r == 0)
			r = buf_append(&b, "\n", 1);
	}
	if (r == 0 && key_value)
		r = decode_append(&b, key_value);
	while (b.len > 0 && strchr(" \t\r\n", b.data[b.len - 1]))
		b.len--;
	return take_string(&b, r, out);
}

/* One line of a description, encoded as Proxmox does (plus '%', so that it decodes back). */
static int encode_line(const char *text, size_t len, char **out)
{
	struct buf b = BUF_INIT;
	int r = 0;

	for (size_t i = 0; i < len && r == 0; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (ch < 0x20 || ch > 0x7e || ch == ':' || ch == '%')
			r = buf_printf(&b, "%%%02X", ch);
		else
			r = buf_append(&b, &ch, 1);
	}
	return take_string(&b, r, out);
}

/* The new comment lines for text, at the top of s. */
static int insert_description(struct guest_section *s, const char *text)
{
	size_t pos = 0;
	int r = 0;

	for (const char *p = text; *p && r == 0; pos++) {
		size_t len = strcspn(p, "\n");
		char *enc = NULL;
		struct guest_line l;

		r = encode_line(p, len, &enc);
		if (r == 0)
			r = guest_lines_push(&s->lines, NULL, enc, NULL, 0);
		if (r < 0)
			break;
		l = s->lines.v[s->lines.n - 1];
		memmove(&s->lines.v[pos + 1], &s->lines.v[pos], (s->lines.n - 1 - pos) * sizeof(l));
		s->lines.v[pos] = l;
		p += len + (p[len] == '\n');
	}
	return r;
}

int guest_set_description(struct guest_section *s, const char *text, struct drover_err *err)
{
	int r;

	if (text && strlen(text) > GUEST_DESCRIPTION_MAX)
		return drover_fail(err, -EINVAL, "description is longer than %d bytes",
				   GUEST_DESCRIPTION_MAX);
	guest_delete(s, "description");
	s->conf->changed = true;
	if (!text || !*text)
		return 0;
	r = insert_description(s, text);
	return r < 0 ? drover_fail(err, r, "out of memory") : 0;
}

/* --- snapshots --- */

static bool stays_out_of_snapshot(const char *key)
{
	return streq(key, "lock") || streq(key, "parent") || streq(key, "description");
}

static int copy_current_keys(struct guest_section *cur, struct guest_section *snap)
{
	int r = 0;

	for (size_t i = 0; i < cur->lines.n && r == 0; i++) {
		const struct guest_line *l = &cur->lines.v[i];

		if (l->key && !stays_out_of_snapshot(l->key))
			r = insert_line(snap, snap->lines.n, l->key, l->value);
	}
	return r;
}

int guest_conf_snapshot_take(struct guest_conf *c, const char *name, long long snaptime,
			     const char *description, struct drover_err *err)
{
	struct guest_section *cur = c->sections[0], *snap = NULL;
	const char *parent = guest_get(cur, "parent");
	char when[32];
	int r;

	r = guest_conf_snapshot_add(c, name, &snap, err);
	if (r < 0)
		return r;
	snprintf(when, sizeof(when), "%lld", snaptime);
	r = copy_current_keys(cur, snap) < 0 ? drover_fail(err, -ENOMEM, "out of memory") : 0;
	if (r == 0 && parent)
		r = guest_set(snap, "parent", parent, err);
	if (r == 0)
		r = guest_set(snap, "snaptime", when, err);
	if (r == 0 && description)
		r = guest_set_description(snap, description, err);
	if (r == 0)
		r = guest_set(cur, "parent", name, err);
	if (r < 0)
		guest_conf_section_remove(c, snap);
	return r;
}

/* --- checks across keys --- */

static int check_parent(const struct guest_conf *c, const struct guest_section *s,
			struct drover_err *err)
{
	const struct guest_line *l = find_line(s, "parent");
	char where[512];

	if (!l)
		return 0;
	if (!guest_conf_snapshot((struct guest_conf *)c, l->value) ||
	    (s->name && streq(s->name, l->value)))
		return drover_fail(err, -EINVAL, "%sparent '%s' is not another snapshot",
				   guest_conf_where(c, l->lineno, where, sizeof(where)), l->value);
	return 0;
}

static int check_parent_loop(const struct guest_conf *c, const struct guest_section *s,
			     struct drover_err *err)
{
	const struct guest_section *p = s;
	char where[512];

	for (size_t steps = 0; p; steps++) {
		const char *parent = guest_get(p, "parent");

		if (!parent)
			return 0;
		if (steps > c->n)
			return drover_fail(err, -EINVAL, "%ssnapshot parents form a loop",
					   guest_conf_where(c, s->lineno, where, sizeof(where)));
		p = guest_conf_snapshot((struct guest_conf *)c, parent);
	}
	return 0;
}

static int check_balloon(const struct guest_conf *c, const struct guest_section *s,
			 struct drover_err *err)
{
	const struct guest_line *b = find_line(s, "balloon");
	const char *mem = guest_get(s, "memory");
	uint64_t kib = 512 << 10, balloon;
	char where[512];

	if (c->type != GUEST_QEMU || !b || parse_u64(b->value, UINT64_MAX >> 10, &balloon) < 0)
		return 0;
	if (mem && guest_memory_parse(mem, &kib, NULL) < 0)
		return 0;
	if (balloon << 10 > kib)
		return drover_fail(err, -EINVAL, "%sballoon (%s MiB) is more than memory",
				   guest_conf_where(c, b->lineno, where, sizeof(where)), b->value);
	return 0;
}

int guest_conf_validate(const struct guest_conf *c, struct drover_err *err)
{
	int r = 0;

	for (size_t i = 0; i < c->n && r == 0; i++) {
		const struct guest_section *s = c->sections[i];

		r = check_parent(c, s, err);
		if (r == 0)
			r = check_parent_loop(c, s, err);
		if (r == 0)
			r = check_balloon(c, s, err);
	}
	return r;
}
