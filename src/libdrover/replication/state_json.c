/* SPDX-License-Identifier: MIT */
#include "state_json.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"

#define TARGET_PREFIX "local/"
/* Times beyond year 36000 are damage (json-c also saturates huge numbers to INT64_MAX). */
#define TIME_MAX (INT64_C(1) << 40)

/* Where a value is, for errors: "100 local/node2: fail_count". */
struct where {
	uint32_t guest;
	const char *key;
};

static int bad(struct drover_err *err, const struct where *w, const char *field, const char *what)
{
	return drover_fail(err, -EINVAL, "replication state: %" PRIu32 " %.80s: %s %s", w->guest,
			   w->key, field, what);
}

static int get_int(struct json_object *job, const struct where *w, const char *field, int64_t max,
		   int64_t *out, struct drover_err *err)
{
	struct json_object *v;

	*out = 0;
	if (!json_object_object_get_ex(job, field, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return bad(err, w, field, "is not a whole number");
	errno = 0;
	*out = json_object_get_int64(v);
	if (errno || *out < 0 || *out > max)
		return bad(err, w, field, "is out of range");
	return 0;
}

static int get_ints(struct json_object *job, const struct where *w, struct repl_job_state *st,
		    struct drover_err *err)
{
	int64_t v;
	int r;

	if ((r = get_int(job, w, "last_iteration", TIME_MAX, &st->last_iteration, err)) < 0 ||
	    (r = get_int(job, w, "last_try", TIME_MAX, &st->last_try, err)) < 0 ||
	    (r = get_int(job, w, "last_sync", TIME_MAX, &st->last_sync, err)) < 0)
		return r;
	if ((r = get_int(job, w, "fail_count", UINT32_MAX, &v, err)) < 0)
		return r;
	st->fail_count = (uint32_t)v;
	if ((r = get_int(job, w, "bytes", INT64_MAX, &v, err)) < 0)
		return r;
	st->bytes = (uint64_t)v;
	if ((r = get_int(job, w, "pid", INT32_MAX, &v, err)) < 0)
		return r;
	st->pid = (int32_t)v;
	if ((r = get_int(job, w, "ptime", INT64_MAX, &v, err)) < 0)
		return r;
	st->ptime = (uint64_t)v;
	return 0;
}

static int get_duration(struct json_object *job, const struct where *w, double *out,
			struct drover_err *err)
{
	struct json_object *v;

	*out = 0;
	if (!json_object_object_get_ex(job, "duration", &v) ||
	    json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
		return bad(err, w, "duration", "is not a number");
	*out = json_object_get_double(v);
	if (!isfinite(*out) || *out < 0)
		return bad(err, w, "duration", "is out of range");
	return 0;
}

static int get_strings(struct json_object *job, const struct where *w, struct repl_job_state *st,
		       struct drover_err *err)
{
	struct json_object *v;

	if (json_object_object_get_ex(job, "error", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_string))
			return bad(err, w, "error", "is not a string");
		snprintf(st->error, sizeof(st->error), "%s", json_object_get_string(v));
	}
	if (json_object_object_get_ex(job, "last_node", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_string) ||
		    !node_name_valid(json_object_get_string(v)))
			return bad(err, w, "last_node", "is not a node name");
		snprintf(st->last_node, sizeof(st->last_node), "%s", json_object_get_string(v));
	}
	return 0;
}

static int get_storeids(struct json_object *job, const struct where *w, struct repl_job_state *st,
			struct drover_err *err)
{
	const char *ids[REPL_STOREIDS_MAX];
	struct json_object *v;
	size_t n;

	if (!json_object_object_get_ex(job, "storeid_list", &v) ||
	    json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return bad(err, w, "storeid_list", "is not a list");
	n = json_object_array_length(v);
	if (n > REPL_STOREIDS_MAX)
		return bad(err, w, "storeid_list", "has more than 32 storages");
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);

		if (!json_object_is_type(e, json_type_string) ||
		    !repl_storage_id_valid(json_object_get_string(e)))
			return bad(err, w, "storeid_list",
				   "holds something that is not a storage ID");
		ids[i] = json_object_get_string(e);
	}
	return repl_job_set_storeids(st, ids, n, err);
}

static int decode_job(struct json_object *job, const struct where *w, struct repl_job_state *st,
		      struct drover_err *err)
{
	int r;

	memset(st, 0, sizeof(*st));
	if (!json_object_is_type(job, json_type_object))
		return bad(err, w, "state", "is not an object");
	if ((r = get_ints(job, w, st, err)) < 0 ||
	    (r = get_duration(job, w, &st->duration, err)) < 0 ||
	    (r = get_strings(job, w, st, err)) < 0 || (r = get_storeids(job, w, st, err)) < 0)
		return r;
	return 0;
}

/* The jobs of one guest, {"local/TARGET": {...}}, added to s. */
static int decode_guest(struct json_object *jobs, uint32_t guest, struct repl_state *s,
			struct drover_err *err)
{
	if (!json_object_is_type(jobs, json_type_object))
		return drover_fail(err, -EINVAL, "replication state: %" PRIu32 ": not an object",
				   guest);
	json_object_object_foreach(jobs, key, job)
	{
		struct where w = { guest, key };
		struct repl_job_state st, *slot;
		const char *target = key + strlen(TARGET_PREFIX);
		int r;

		if (!str_has_prefix(key, TARGET_PREFIX) || !node_name_valid(target))
			return drover_fail(err, -EINVAL,
					   "replication state: %" PRIu32 ": '%.80s' is not "
					   "local/NODE",
					   guest, key);
		r = decode_job(job, &w, &st, err);
		if (r < 0)
			return r;
		r = repl_state_get(s, guest, target, &slot);
		if (r < 0)
			return drover_fail(err, r, "replication state: out of memory");
		*slot = st;
	}
	return 0;
}

static int parse_object(const char *text, size_t len, struct json_object **out,
			struct drover_err *err)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	size_t end;

	if (!tok)
		return drover_fail(err, -ENOMEM, "replication state: out of memory");
	if (len > INT32_MAX)
		len = INT32_MAX;
	o = json_tokener_parse_ex(tok, text, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (!o || json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		json_tokener_free(tok);
		return drover_fail(err, -EINVAL, "replication state: not JSON (at byte %zu)", end);
	}
	json_tokener_free(tok);
	while (end < len &&
	       (text[end] == ' ' || text[end] == '\n' || text[end] == '\t' || text[end] == '\r'))
		end++;
	if (end < len || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return drover_fail(err, -EINVAL, "replication state: not one JSON object");
	}
	*out = o;
	return 0;
}

int repl_state_from_json(const char *text, size_t len, struct repl_state *s, struct drover_err *err)
{
	struct json_object *root;
	int r = parse_object(text, len, &root, err);

	if (r < 0)
		return r;
	json_object_object_foreach(root, key, jobs)
	{
		uint32_t guest;

		if (vmid_parse_n(key, strlen(key), &guest) < 0) {
			r = drover_fail(err, -EINVAL,
					"replication state: '%.80s' is not a guest ID", key);
			break;
		}
		r = decode_guest(jobs, guest, s, err);
		if (r < 0)
			break;
	}
	json_object_put(root);
	if (r < 0)
		repl_state_free(s);
	return r;
}

int repl_state_guest_from_json(const char *text, size_t len, uint32_t guest, struct repl_state *s,
			       struct drover_err *err)
{
	struct repl_state fresh;
	struct json_object *root;
	int r = parse_object(text, len, &root, err);

	if (r < 0)
		return r;
	repl_state_init(&fresh);
	r = decode_guest(root, guest, &fresh, err);
	json_object_put(root);
	if (r == 0) {
		repl_state_remove_guest(s, guest);
		for (size_t i = 0; i < fresh.n && r == 0; i++) {
			struct repl_job_state *slot;

			r = repl_state_get(s, guest, fresh.entries[i].target, &slot);
			if (r == 0)
				*slot = fresh.entries[i].st;
		}
		if (r < 0)
			r = drover_fail(err, r, "replication state: out of memory");
	}
	repl_state_free(&fresh);
	return r;
}

static struct json_object *encode_job(const struct repl_job_state *st)
{
	struct json_object *o = json_object_new_object(), *ids = json_object_new_array();
	char duration[32];

	json_object_object_add(o, "last_iteration", json_object_new_int64(st->last_iteration));
	json_object_object_add(o, "last_try", json_object_new_int64(st->last_try));
	json_object_object_add(o, "last_sync", json_object_new_int64(st->last_sync));
	json_object_object_add(o, "fail_count", json_object_new_int64(st->fail_count));
	/* milliseconds are enough, and "4.127" reads better than json-c's 17 digits */
	snprintf(duration, sizeof(duration), "%.3f", st->duration);
	json_object_object_add(o, "duration", json_object_new_double_s(st->duration, duration));
	if (st->bytes)
		json_object_object_add(o, "bytes", json_object_new_int64((int64_t)st->bytes));
	if (st->error[0])
		json_object_object_add(o, "error", json_object_new_string(st->error));
	if (st->last_node[0])
		json_object_object_add(o, "last_node", json_object_new_string(st->last_node));
	for (size_t i = 0; i < st->n_storeids; i++)
		json_object_array_add(ids, json_object_new_string(st->storeids[i]));
	json_object_object_add(o, "storeid_list", ids);
	if (st->pid) {
		json_object_object_add(o, "pid", json_object_new_int64(st->pid));
		json_object_object_add(o, "ptime", json_object_new_int64((int64_t)st->ptime));
	}
	return o;
}

static struct json_object *encode_guest(const struct repl_state *s, uint32_t guest)
{
	struct json_object *o = json_object_new_object();
	char key[sizeof(TARGET_PREFIX) + NODE_NAME_MAX];

	for (size_t i = 0; i < s->n; i++) {
		if (s->entries[i].guest != guest)
			continue;
		snprintf(key, sizeof(key), TARGET_PREFIX "%s", s->entries[i].target);
		json_object_object_add(o, key, encode_job(&s->entries[i].st));
	}
	return o;
}

static int to_text(struct json_object *o, char **out)
{
	/* "local/node2", not json-c's default "local\/node2" */
	const char *text = json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	*out = text ? strdup(text) : NULL;
	json_object_put(o);
	return *out ? 0 : -ENOMEM;
}

int repl_state_to_json(const struct repl_state *s, char **out)
{
	struct json_object *root = json_object_new_object();
	char key[16];

	for (size_t i = 0; i < s->n; i++) {
		if (i > 0 && s->entries[i - 1].guest == s->entries[i].guest)
			continue;
		snprintf(key, sizeof(key), "%" PRIu32, s->entries[i].guest);
		json_object_object_add(root, key, encode_guest(s, s->entries[i].guest));
	}
	return to_text(root, out);
}

int repl_state_guest_to_json(const struct repl_state *s, uint32_t guest, char **out)
{
	return to_text(encode_guest(s, guest), out);
}
