/* SPDX-License-Identifier: MIT */
#include "guest_list.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/array.h"
#include "basic/util.h"
#include "conf_edit.h"
#include "libdrover/cfs/kv.h"

struct published_node {
	char node[NODE_NAME_MAX + 1];
	int have; /* 0, or -errno: nothing published */
	int64_t time;
	struct guest_status *g;
	size_t ng;
};

static int by_vmid(const void *a, const void *b)
{
	const struct guest_listed *x = a, *y = b;

	return x->vmid < y->vmid ? -1 : x->vmid > y->vmid;
}

/* The entries of type in .vmlist's "ids" into *out (configs not read yet). */
static int from_vmlist(struct json_object *ids, enum guest_type type, struct guest_listed **out,
		       size_t *n)
{
	const char *want = type == GUEST_QEMU ? "qemu" : "lxc";
	size_t cap = 0;

	json_object_object_foreach(ids, id, info)
	{
		struct json_object *jnode, *jtype;
		uint32_t vmid;

		if (vmid_parse_n(id, strlen(id), &vmid) < 0 ||
		    !json_object_object_get_ex(info, "node", &jnode) ||
		    !json_object_object_get_ex(info, "type", &jtype) ||
		    !streq(json_object_get_string(jtype), want))
			continue;
		if (ARRAY_GROW(*out, cap, *n + 1) < 0)
			return -ENOMEM;
		(*out)[*n] = (struct guest_listed){ .vmid = vmid };
		snprintf((*out)[*n].node, sizeof((*out)[*n].node), "%s",
			 json_object_get_string(jnode));
		(*n)++;
	}
	return 0;
}

/* Every listed guest's config in one batch read, parsed (a bad one stays NULL). */
static int read_confs(struct ipc_client *cl, enum guest_type type, struct guest_listed *v, size_t n)
{
	char **paths = calloc(n + 1, sizeof(*paths));
	struct cfs_file *files = calloc(n + 1, sizeof(*files));
	int r = paths && files ? 0 : -ENOMEM;

	for (size_t i = 0; i < n && r == 0; i++) {
		char rel[PATH_MAX];

		r = guest_conf_relpath(v[i].node, type, v[i].vmid, rel, sizeof(rel));
		if (r == 0 && !(paths[i] = strdup(rel)))
			r = -ENOMEM;
	}
	if (r == 0)
		r = cfs_read_files(cl, (const char *const *)paths, n, files);
	for (size_t i = 0; i < n && r == 0; i++)
		if (files[i].status == 0)
			guest_conf_parse(type, paths[i], (const char *)files[i].data.data,
					 files[i].data.len, &v[i].conf, NULL);
	for (size_t i = 0; i < n; i++) {
		if (files)
			buf_free(&files[i].data);
		if (paths)
			free(paths[i]);
	}
	free(files);
	free(paths);
	return r;
}

int guest_list_read(struct ipc_client *cl, enum guest_type type, struct guest_listed **out,
		    size_t *n, struct drover_err *err)
{
	struct json_object *list = NULL, *ids;
	struct buf b = BUF_INIT;
	int r = cfs_get_json(cl, IPC_GET_VMLIST, &b);

	*out = NULL;
	*n = 0;
	if (r == 0) {
		list = json_tokener_parse((char *)b.data);
		if (!list || !json_object_object_get_ex(list, "ids", &ids))
			r = -EPROTO;
	}
	buf_free(&b);
	if (r == 0)
		r = from_vmlist(ids, type, out, n);
	json_object_put(list);
	if (r == 0)
		r = read_confs(cl, type, *out, *n);
	if (r < 0) {
		guest_listed_free(*out, *n);
		*out = NULL;
		*n = 0;
		return drover_fail(err, r, "reading the guest list: %s", strerror(-r));
	}
	if (*n)
		qsort(*out, *n, sizeof(**out), by_vmid);
	return 0;
}

void guest_listed_free(struct guest_listed *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		guest_conf_free(v[i].conf);
	free(v);
}

static struct published_node *node_of(struct guest_published *p, struct ipc_client *cl,
				      const char *node)
{
	struct published_node *s;
	struct node_status ns;

	for (size_t i = 0; i < p->n; i++)
		if (streq(p->nodes[i].node, node))
			return &p->nodes[i];
	if (ARRAY_GROW(p->nodes, p->cap, p->n + 1) < 0)
		return NULL;
	s = &p->nodes[p->n++];
	memset(s, 0, sizeof(*s));
	snprintf(s->node, sizeof(s->node), "%s", node);
	s->have = node_status_read(cl, node, &ns, &s->g, &s->ng);
	s->time = s->have == 0 ? ns.time : 0;
	return s;
}

int guest_published_find(struct guest_published *p, struct ipc_client *cl, const char *node,
			 uint32_t vmid, enum guest_type type, struct guest_status *g, int64_t *time)
{
	const struct published_node *s = node_of(p, cl, node);

	if (!s || s->have < 0)
		return -ENOENT;
	*time = s->time;
	for (size_t i = 0; i < s->ng; i++)
		if (s->g[i].vmid == vmid && s->g[i].type == type) {
			*g = s->g[i];
			return 1;
		}
	return 0;
}

void guest_published_free(struct guest_published *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->nodes[i].g);
	free(p->nodes);
	p->nodes = NULL;
	p->n = 0;
}
