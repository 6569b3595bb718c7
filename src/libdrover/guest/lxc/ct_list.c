/* SPDX-License-Identifier: MIT */
/*
 * pct list for the whole cluster: the containers of droverfs's guest list,
 * each with its node, host name and lock from its config, and its state:
 * this node's read from LXC's cgroup, another node's from the status its
 * droverd publishes ("unknown" when it publishes none).
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/array.h"
#include "basic/util.h"
#include "ct_internal.h"
#include "libdrover/cfs/ipc_client.h"
#include "libdrover/node/status.h"

static void fill_from_conf(const struct storage_env *env, struct ct_entry *e)
{
	struct buf text = BUF_INIT;
	struct guest_conf *c = NULL;
	char rel[256];
	const char *v;

	guest_conf_relpath(e->node, GUEST_LXC, e->vmid, rel, sizeof(rel));
	if (cfs_read(&env->cfs, rel, &text) == 0 &&
	    guest_conf_parse(GUEST_LXC, rel, (const char *)text.data, text.len, &c, NULL) == 0) {
		struct guest_section *cur = guest_conf_current(c);

		if ((v = guest_get(cur, "hostname")))
			snprintf(e->hostname, sizeof(e->hostname), "%s", v);
		if ((v = guest_get(cur, "lock")))
			snprintf(e->lock, sizeof(e->lock), "%s", v);
	}
	guest_conf_free(c);
	buf_free(&text);
}

/* Another node's view of its container, from its published status. */
static void remote_status(struct ipc_client *ipc, struct ct_entry *e)
{
	struct node_status st;
	struct guest_status *g = NULL;
	size_t n = 0;

	snprintf(e->status, sizeof(e->status), "unknown");
	if (!ipc || node_status_read(ipc, e->node, &st, &g, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (g[i].vmid == e->vmid && g[i].type == GUEST_LXC)
			snprintf(e->status, sizeof(e->status), "%s",
				 g[i].running ? "running" : "stopped");
	free(g);
}

static int by_vmid(const void *a, const void *b)
{
	const struct ct_entry *x = a, *y = b;

	return x->vmid < y->vmid ? -1 : x->vmid > y->vmid;
}

static int collect(const struct storage_env *env, struct json_object *ids, struct ct_entry **v,
		   size_t *n, struct drover_err *err)
{
	struct ipc_client ipc;
	bool have_ipc = ipc_client_connect(&ipc, NULL) == 0;
	size_t cap = *n; /* what *v holds at least */

	json_object_object_foreach(ids, id, info)
	{
		struct json_object *jn, *jt;
		struct ct_entry e = { 0 };

		if (vmid_parse_n(id, strlen(id), &e.vmid) < 0 ||
		    !json_object_object_get_ex(info, "node", &jn) ||
		    !json_object_object_get_ex(info, "type", &jt) ||
		    !streq(json_object_get_string(jt), "lxc"))
			continue;
		snprintf(e.node, sizeof(e.node), "%s", json_object_get_string(jn));
		fill_from_conf(env, &e);
		if (streq(e.node, env->cfs.node))
			snprintf(e.status, sizeof(e.status), "%s",
				 ct_running(e.vmid) ? "running" : "stopped");
		else
			remote_status(have_ipc ? &ipc : NULL, &e);
		if (ARRAY_GROW(*v, cap, *n + 1) < 0) {
			if (have_ipc)
				ipc_client_close(&ipc);
			return drover_fail(err, -ENOMEM, "out of memory");
		}
		(*v)[(*n)++] = e;
	}
	if (have_ipc)
		ipc_client_close(&ipc);
	return 0;
}

int ct_list(const struct storage_env *env, struct ct_entry **v, size_t *n, struct drover_err *err)
{
	struct json_object *o, *ids;
	struct buf text = BUF_INIT;
	int r = cfs_read(&env->cfs, ".vmlist", &text);

	*v = NULL;
	*n = 0;
	if (r == 0 && buf_terminate(&text) < 0)
		r = -ENOMEM;
	if (r < 0) {
		buf_free(&text);
		return drover_fail(err, r, "reading the guest list: %s", strerror(-r));
	}
	o = json_tokener_parse((const char *)text.data);
	buf_free(&text);
	if (!o || !json_object_object_get_ex(o, "ids", &ids))
		r = drover_fail(err, -EINVAL, "droverfs sent a guest list that is not one");
	else
		r = collect(env, ids, v, n, err);
	json_object_put(o);
	if (r == 0 && *n)
		qsort(*v, *n, sizeof(**v), by_vmid);
	return r;
}
