/* SPDX-License-Identifier: MIT */
#include "status.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/array.h"
#include "basic/util.h"
#include "libdrover/cfs/kv.h"

static int finish(struct json_object *o, char **out)
{
	const char *s = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;

	*out = s ? strdup(s) : NULL;
	json_object_put(o);
	return *out ? 0 : -ENOMEM;
}

static void add_u64(struct json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

/* A share rounded to 4 decimals: enough, and short on the wire. */
static void add_share(struct json_object *o, const char *key, double v)
{
	char text[32];

	snprintf(text, sizeof(text), "%.4f", v);
	json_object_object_add(o, key, json_object_new_double_s(v, text));
}

static struct json_object *pair(uint64_t total, uint64_t used)
{
	struct json_object *o = json_object_new_object();

	add_u64(o, "total", total);
	add_u64(o, "used", used);
	return o;
}

int node_status_to_json(const struct node_status *st, char **out)
{
	struct json_object *o = json_object_new_object(), *load = json_object_new_array();

	json_object_object_add(o, "time", json_object_new_int64(st->time));
	add_u64(o, "uptime", st->uptime_s);
	add_u64(o, "cpus", st->cpus);
	add_share(o, "cpu", st->cpu);
	for (int i = 0; i < 3; i++) {
		char text[32];

		snprintf(text, sizeof(text), "%.2f", st->load[i]);
		json_object_array_add(load, json_object_new_double_s(st->load[i], text));
	}
	json_object_object_add(o, "loadavg", load);
	json_object_object_add(o, "memory", pair(st->mem_total, st->mem_used));
	json_object_object_add(o, "swap", pair(st->swap_total, st->swap_used));
	add_u64(o, "guest_chunks", st->guest_chunks);
	return finish(o, out);
}

int guest_status_to_json(const struct guest_status *g, size_t n, char **out)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		add_u64(o, "vmid", g[i].vmid);
		json_object_object_add(o, "type",
				       json_object_new_string(guest_type_name(g[i].type)));
		json_object_object_add(
			o, "status", json_object_new_string(g[i].running ? "running" : "stopped"));
		if (g[i].running) {
			add_u64(o, "pid", (uint64_t)g[i].pid);
			add_u64(o, "uptime", g[i].uptime_s);
			add_share(o, "cpu", g[i].cpu);
			add_u64(o, "mem", g[i].mem);
		}
		json_object_array_add(arr, o);
	}
	return finish(arr, out);
}

/* Number fields: missing is 0, another type is an error. */
static int get_num(struct json_object *o, const char *key, double *v)
{
	struct json_object *x;

	*v = 0;
	if (!json_object_object_get_ex(o, key, &x))
		return 0;
	if (!json_object_is_type(x, json_type_int) && !json_object_is_type(x, json_type_double))
		return -EINVAL;
	*v = json_object_get_double(x);
	return *v >= 0 || streq(key, "time") ? 0 : -EINVAL;
}

static int get_u64(struct json_object *o, const char *key, uint64_t *v)
{
	struct json_object *x;

	*v = 0;
	if (!json_object_object_get_ex(o, key, &x))
		return 0;
	if (!json_object_is_type(x, json_type_int) || json_object_get_int64(x) < 0)
		return -EINVAL;
	*v = json_object_get_uint64(x);
	return 0;
}

static int get_pair(struct json_object *o, const char *key, uint64_t *total, uint64_t *used)
{
	struct json_object *x;

	*total = *used = 0;
	if (!json_object_object_get_ex(o, key, &x))
		return 0;
	if (!json_object_is_type(x, json_type_object))
		return -EINVAL;
	return get_u64(x, "total", total) < 0 || get_u64(x, "used", used) < 0 ? -EINVAL : 0;
}

static int parse_status(struct json_object *o, struct node_status *st)
{
	struct json_object *load;
	uint64_t cpus = 0, chunks = 0;
	double t = 0;
	int r = 0;

	if (!json_object_is_type(o, json_type_object))
		return -EINVAL;
	r |= get_num(o, "time", &t);
	r |= get_u64(o, "uptime", &st->uptime_s);
	r |= get_u64(o, "cpus", &cpus);
	r |= get_num(o, "cpu", &st->cpu);
	r |= get_pair(o, "memory", &st->mem_total, &st->mem_used);
	r |= get_pair(o, "swap", &st->swap_total, &st->swap_used);
	r |= get_u64(o, "guest_chunks", &chunks);
	if (r || cpus > 1u << 20 || chunks > 1u << 20)
		return -EINVAL;
	st->time = (int64_t)t;
	st->cpus = (unsigned)cpus;
	st->guest_chunks = (unsigned)chunks;
	if (json_object_object_get_ex(o, "loadavg", &load)) {
		if (!json_object_is_type(load, json_type_array) ||
		    json_object_array_length(load) != 3)
			return -EINVAL;
		for (size_t i = 0; i < 3; i++) {
			struct json_object *x = json_object_array_get_idx(load, i);

			if (!json_object_is_type(x, json_type_double) &&
			    !json_object_is_type(x, json_type_int))
				return -EINVAL;
			st->load[i] = json_object_get_double(x);
		}
	}
	return 0;
}

int node_status_from_json(const char *text, struct node_status *st)
{
	struct json_object *o = json_tokener_parse(text);
	int r;

	memset(st, 0, sizeof(*st));
	r = o ? parse_status(o, st) : -EINVAL;
	json_object_put(o);
	return r;
}

static int parse_guest(struct json_object *o, struct guest_status *g)
{
	struct json_object *type, *status;
	uint64_t vmid, pid;
	int r = 0;

	memset(g, 0, sizeof(*g));
	if (!json_object_is_type(o, json_type_object) || get_u64(o, "vmid", &vmid) < 0 ||
	    vmid == 0 || vmid > UINT32_MAX || !json_object_object_get_ex(o, "type", &type) ||
	    !json_object_object_get_ex(o, "status", &status) ||
	    !json_object_is_type(type, json_type_string) ||
	    !json_object_is_type(status, json_type_string))
		return -EINVAL;
	g->vmid = (uint32_t)vmid;
	g->type = streq(json_object_get_string(type), "qemu")  ? GUEST_QEMU
		  : streq(json_object_get_string(type), "lxc") ? GUEST_LXC
							       : GUEST_NONE;
	g->running = streq(json_object_get_string(status), "running");
	if (g->type == GUEST_NONE ||
	    (!g->running && !streq(json_object_get_string(status), "stopped")))
		return -EINVAL;
	r |= get_u64(o, "pid", &pid);
	r |= get_u64(o, "uptime", &g->uptime_s);
	r |= get_num(o, "cpu", &g->cpu);
	r |= get_u64(o, "mem", &g->mem);
	if (r || pid > INT32_MAX)
		return -EINVAL;
	g->pid = (int)pid;
	return 0;
}

int guest_status_from_json(const char *text, struct guest_status **v, size_t *n)
{
	struct json_object *arr = json_tokener_parse(text);
	size_t len, cap = *n; /* what *v holds at least */
	int r = 0;

	if (!arr || !json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		return -EINVAL;
	}
	len = json_object_array_length(arr);
	for (size_t i = 0; i < len && r == 0; i++) {
		struct guest_status g;

		r = parse_guest(json_object_array_get_idx(arr, i), &g);
		if (r < 0)
			break;
		if (ARRAY_GROW(*v, cap, *n + 1) < 0) {
			r = -ENOMEM;
			break;
		}
		(*v)[(*n)++] = g;
	}
	json_object_put(arr);
	return r;
}

static int set_text(struct ipc_client *c, const char *key, int r, char *text)
{
	if (r == 0)
		r = cfs_kv_set(c, key, text, strlen(text));
	free(text);
	return r;
}

int node_status_publish(struct ipc_client *c, struct node_status *st, const struct guest_status *g,
			size_t n, unsigned *chunks)
{
	unsigned count = (unsigned)((n + NODE_GUESTS_PER_CHUNK - 1) / NODE_GUESTS_PER_CHUNK);
	char key[32], *text = NULL;
	int r = 0;

	for (unsigned i = 0; i < count && r == 0; i++) {
		size_t first = (size_t)i * NODE_GUESTS_PER_CHUNK;

		snprintf(key, sizeof(key), NODE_GUESTS_KEY "%u", i);
		r = guest_status_to_json(g + first, MIN(n - first, NODE_GUESTS_PER_CHUNK), &text);
		r = set_text(c, key, r, text);
	}
	if (r < 0)
		return r;
	st->guest_chunks = count;
	r = node_status_to_json(st, &text);
	r = set_text(c, NODE_STATUS_KEY, r, text);
	for (unsigned i = count; r == 0 && i < *chunks; i++) {
		snprintf(key, sizeof(key), NODE_GUESTS_KEY "%u", i);
		r = cfs_kv_set(c, key, NULL, 0);
	}
	if (r == 0)
		*chunks = count;
	return r;
}

int node_status_read(struct ipc_client *c, const char *node, struct node_status *st,
		     struct guest_status **g, size_t *n)
{
	struct buf b = BUF_INIT;
	char key[32];
	int r = cfs_kv_get(c, node, NODE_STATUS_KEY, &b);

	if (r == 0)
		r = node_status_from_json((char *)b.data, st);
	for (unsigned i = 0; r == 0 && i < st->guest_chunks; i++) {
		snprintf(key, sizeof(key), NODE_GUESTS_KEY "%u", i);
		r = cfs_kv_get(c, node, key, &b);
		/* a chunk gone in between: the next status will be whole again */
		if (r == -ENOENT) {
			r = 0;
			break;
		}
		if (r == 0)
			r = guest_status_from_json((char *)b.data, g, n);
	}
	buf_free(&b);
	return r;
}

static int cmp_node(const void *a, const void *b)
{
	return strcmp(((const struct cluster_node *)a)->name,
		      ((const struct cluster_node *)b)->name);
}

static int push_node(struct cluster_node **v, size_t *n, size_t *cap, const char *name, bool online,
		     bool self, const char *addr)
{
	struct cluster_node *nv;

	if (!node_name_valid(name))
		return 0; /* not a node droverfs could have: skipped */
	if (array_grow((void **)v, cap, *n + 1, sizeof(**v)) < 0)
		return -ENOMEM;
	nv = *v;
	memset(&nv[*n], 0, sizeof(*nv));
	snprintf(nv[*n].name, sizeof(nv[*n].name), "%s", name);
	nv[*n].online = online;
	nv[*n].self = self;
	snprintf(nv[*n].addr, sizeof(nv[*n].addr), "%s", addr ? addr : "");
	(*n)++;
	return 0;
}

int cluster_nodes_from_json(const char *text, struct cluster_node **v, size_t *n)
{
	struct json_object *o = json_tokener_parse(text), *self, *list, *online, *ip;
	const char *me;
	size_t cap = 0;
	int r = 0;

	*v = NULL;
	*n = 0;
	if (!o || !json_object_object_get_ex(o, "nodename", &self) ||
	    !json_object_is_type(self, json_type_string)) {
		json_object_put(o);
		return -EINVAL;
	}
	me = json_object_get_string(self);
	if (!json_object_object_get_ex(o, "nodelist", &list) ||
	    !json_object_is_type(list, json_type_object)) {
		/* local mode: this node alone */
		r = push_node(v, n, &cap, me, true, true, NULL);
	} else {
		json_object_object_foreach(list, name, info)
		{
			bool up = json_object_object_get_ex(info, "online", &online) &&
				  json_object_get_int(online) != 0;

			const char *addr = json_object_object_get_ex(info, "ip", &ip) &&
							   json_object_is_type(ip, json_type_string)
						   ? json_object_get_string(ip)
						   : NULL;

			r = push_node(v, n, &cap, name, up, streq(name, me), addr);
			if (r < 0)
				break;
		}
	}
	json_object_put(o);
	if (r < 0) {
		free(*v);
		*v = NULL;
		*n = 0;
		return r;
	}
	qsort(*v, *n, sizeof(**v), cmp_node);
	return 0;
}

int cluster_nodes_get(struct ipc_client *c, struct cluster_node **v, size_t *n)
{
	struct buf b = BUF_INIT;
	int r = cfs_get_json(c, IPC_GET_MEMBERS, &b);

	if (r == 0)
		r = cluster_nodes_from_json((char *)b.data, v, n);
	buf_free(&b);
	return r;
}

int node_views_get(struct ipc_client *c, struct node_view **out, size_t *count)
{
	struct cluster_node *nodes = NULL;
	struct node_view *v;
	size_t n = 0;
	int r = cluster_nodes_get(c, &nodes, &n);

	if (r < 0)
		return r;
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		free(nodes);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		v[i].node = nodes[i];
		v[i].have = node_status_read(c, nodes[i].name, &v[i].st, &v[i].g, &v[i].ng);
	}
	free(nodes);
	*out = v;
	*count = n;
	return 0;
}

int node_views_read(const char *socket, struct node_view **v, size_t *n, struct drover_err *err)
{
	struct ipc_client c;
	int r = cfs_ipc_open(&c, socket, 10000, err);

	if (r < 0)
		return r;
	r = node_views_get(&c, v, n);
	ipc_client_close(&c);
	return r < 0 ? drover_fail(err, r, "reading the cluster's nodes: %s", strerror(-r)) : 0;
}

void node_views_free(struct node_view *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].g);
	free(v);
}

const char *node_view_state(const struct node_view *v, int64_t now)
{
	if (!v->node.online)
		return "offline";
	if (v->have < 0)
		return "no-status";
	return now - v->st.time > NODE_STATUS_STALE_S ? "stale" : "online";
}
