/* SPDX-License-Identifier: MIT */
/*
 * pct list for the whole cluster: the containers of droverfs's guest list,
 * each with its node, host name and lock from its config, and its state:
 * this node's read from LXC's cgroup, another node's from the status its
 * droverd publishes ("unknown" when it publishes none); and pct status of
 * one container of this node.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "ct_internal.h"
#include "../guest_list.h"
#include "libdrover/guest/conf_edit.h"
#include "libdrover/cfs/ipc_client.h"
#include "libdrover/node/status.h"

static void from_conf(struct guest_conf *c, struct ct_entry *e)
{
	struct guest_section *cur = guest_conf_current(c);
	const char *v;

	if ((v = guest_get(cur, "hostname")))
		snprintf(e->hostname, sizeof(e->hostname), "%s", v);
	if ((v = guest_get(cur, "lock")))
		snprintf(e->lock, sizeof(e->lock), "%s", v);
}

/* Another node's view of its container, from its published status. */
static void remote_status(struct guest_published *pub, struct ipc_client *cl, struct ct_entry *e)
{
	struct guest_status g;
	int64_t time;
	int r = guest_published_find(pub, cl, e->node, e->vmid, GUEST_LXC, &g, &time);

	snprintf(e->status, sizeof(e->status), "%s",
		 r < 0		       ? "unknown"
		 : r == 1 && g.running ? "running"
				       : "stopped");
}

int ct_list(const struct storage_env *env, const char *socket, struct ct_entry **v, size_t *n,
	    struct drover_err *err)
{
	struct guest_published pub = { 0 };
	struct guest_listed *g = NULL;
	struct ipc_client cl;
	size_t ng = 0;
	int r = ipc_client_connect(&cl, socket);

	*v = NULL;
	*n = 0;
	if (r < 0)
		return ipc_client_unreachable(err, socket, r);
	r = guest_list_read(&cl, GUEST_LXC, &g, &ng, err);
	if (r == 0 && ng && !(*v = calloc(ng, sizeof(**v))))
		r = drover_fail(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < ng && r == 0; i++) {
		struct ct_entry *e = &(*v)[i];

		e->vmid = g[i].vmid;
		snprintf(e->node, sizeof(e->node), "%s", g[i].node);
		if (g[i].conf)
			from_conf(g[i].conf, e);
		if (streq(e->node, env->cfs.node))
			snprintf(e->status, sizeof(e->status), "%s",
				 ct_running(e->vmid) ? "running" : "stopped");
		else
			remote_status(&pub, &cl, e);
	}
	if (r == 0)
		*n = ng;
	guest_published_free(&pub);
	guest_listed_free(g, ng);
	ipc_client_close(&cl);
	return r;
}

int ct_status(uint32_t ctid, struct guest_runtime *rt, struct drover_err *err)
{
	struct guest_conf *c = NULL;
	int r = guest_conf_read(GUEST_LXC, ctid, &c, err);

	guest_conf_free(c);
	if (r < 0)
		return r;
	r = lxc_runtime_read(NULL, ctid, rt);
	return r < 0 ? drover_fail(err, r, "CT %" PRIu32 ": reading its cgroup: %s", ctid,
				   strerror(-r))
		     : 0;
}
