/* SPDX-License-Identifier: MIT */
/*
 * droverd's connection to droverfs, made again after droverfs restarts:
 * every part (status, jobs, replication, cold start) asks for it here, and
 * drops it here when a call fails.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "basic/log.h"
#include "basic/util.h"
#include "droverd.h"
#include "libdrover/cfs/kv.h"

/* Every call to droverfs is bounded: a hung droverfs must not stop the loop for long. */
#define CFS_TIMEOUT_MS 5000

/* droverfs's name for this node: tasks and status are filed under it. */
static void learn_node_name(struct droverd *d)
{
	struct buf b = BUF_INIT;
	struct json_object *o = NULL, *node;

	if (cfs_get_json(&d->cfs, IPC_STATUS, &b) == 0)
		o = json_tokener_parse((char *)b.data);
	if (o && json_object_object_get_ex(o, "node", &node) &&
	    node_name_valid(json_object_get_string(node))) {
		if (!streq(d->node, json_object_get_string(node)))
			log_info("node name from droverfs: %s", json_object_get_string(node));
		snprintf(d->node, sizeof(d->node), "%s", json_object_get_string(node));
		d->node_known = true;
	}
	json_object_put(o);
	buf_free(&b);
}

struct ipc_client *droverd_cfs(struct droverd *d)
{
	struct task_store store;
	int r;

	if (d->cfs_up)
		return &d->cfs;
	r = cfs_ipc_connect(&d->cfs, d->opt.socket[0] ? d->opt.socket : NULL, CFS_TIMEOUT_MS);
	if (r < 0)
		return NULL;
	d->cfs_up = true;
	log_info("connected to droverfs");
	learn_node_name(d);
	/* droverfs keeps the status store in RAM: after its restart it has none of ours */
	d->guest_chunks = 0;
	d->vmlist_known = false; /* a new droverfs counts its versions afresh */
	task_env_store(&d->tasks, &store);
	task_store_publish(&store);
	return &d->cfs;
}

void droverd_cfs_lost(struct droverd *d, int r)
{
	if (!d->cfs_up)
		return;
	log_warn("droverfs: %s; connecting again at the next tick", strerror(-r));
	ipc_client_close(&d->cfs);
	d->cfs_up = false;
}
