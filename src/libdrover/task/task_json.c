/* SPDX-License-Identifier: MIT */
#include "task_json.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "libdrover/cfs/kv.h"

static struct json_object *entry_json(const struct task_info *t)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "upid", json_object_new_string(t->upid));
	json_object_object_add(o, "status",
			       json_object_new_string(t->running ? "running" : t->status));
	if (!t->running)
		json_object_object_add(o, "endtime", json_object_new_int64(t->endtime));
	return o;
}

/* The order to publish in: running first, then newest first. */
static int cmp_publish(const void *pa, const void *pb)
{
	const struct task_info *a = *(const struct task_info *const *)pa;
	const struct task_info *b = *(const struct task_info *const *)pb;

	if (a->running != b->running)
		return a->running ? -1 : 1;
	if (a->u.starttime != b->u.starttime)
		return a->u.starttime > b->u.starttime ? -1 : 1;
	return -strcmp(a->upid, b->upid);
}

int task_list_to_json(const struct task_list *l, size_t max_bytes, char **out)
{
	const struct task_info **order = calloc(l->n ? l->n : 1, sizeof(*order));
	struct json_object *arr = json_object_new_array();
	size_t used = 2; /* "[]" */
	int r = 0;

	if (!order || !arr) {
		free(order);
		json_object_put(arr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < l->n; i++)
		order[i] = &l->v[i];
	qsort(order, l->n, sizeof(*order), cmp_publish);
	for (size_t i = 0; i < l->n; i++) {
		struct json_object *e = entry_json(order[i]);
		size_t n;

		if (!e) {
			r = -ENOMEM;
			break;
		}
		n = strlen(json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN)) + 2;
		if (used + n > max_bytes) {
			json_object_put(e);
			break;
		}
		used += n;
		json_object_array_add(arr, e);
	}
	if (r == 0) {
		*out = strdup(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
		if (!*out)
			r = -ENOMEM;
	}
	json_object_put(arr);
	free(order);
	return r;
}

static int entry_parse(struct json_object *e, struct task_info *t)
{
	struct json_object *upid, *status, *end;
	const char *s;

	memset(t, 0, sizeof(*t));
	if (!json_object_is_type(e, json_type_object) ||
	    !json_object_object_get_ex(e, "upid", &upid) ||
	    !json_object_object_get_ex(e, "status", &status) ||
	    !json_object_is_type(upid, json_type_string) ||
	    !json_object_is_type(status, json_type_string))
		return -EINVAL;
	s = json_object_get_string(upid);
	if (strlen(s) >= sizeof(t->upid) || upid_parse(s, &t->u) < 0)
		return -EINVAL;
	strcpy(t->upid, s);
	if (!json_object_object_get_ex(e, "endtime", &end)) {
		t->running = true;
		return 0;
	}
	if (!json_object_is_type(end, json_type_int))
		return -EINVAL;
	t->endtime = json_object_get_int64(end);
	snprintf(t->status, sizeof(t->status), "%s", json_object_get_string(status));
	return 0;
}

int task_list_from_json(const char *text, struct task_list *out)
{
	struct json_object *arr = json_tokener_parse(text);
	size_t n;
	int r = 0;

	if (!arr || !json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		return -EINVAL;
	}
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n && r == 0; i++) {
		struct task_info t;

		if (entry_parse(json_object_array_get_idx(arr, i), &t) == 0)
			r = task_list_push(out, &t);
	}
	json_object_put(arr);
	return r;
}

void task_publish_cfs(void *ctx, const struct task_list *active)
{
	struct ipc_client c;
	char *json = NULL;

	if (task_list_to_json(active, TASK_JSON_MAX, &json) < 0)
		return;
	/* droverfs answers at once; a hung one must not hold the task store's lock */
	if (cfs_ipc_connect(&c, ctx, 5000) == 0) {
		cfs_kv_set(&c, TASK_KV_KEY, json, strlen(json));
		ipc_client_close(&c);
	}
	free(json);
}
