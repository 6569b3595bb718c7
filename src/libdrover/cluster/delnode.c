/* SPDX-License-Identifier: MIT */
#include "delnode.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "basic/util.h"
#include "corosync_info.h"

/* Replication jobs that still name the node as target would stay behind for ever. */
static void warn_replication(const struct cfs_brief *b, const char *node,
			     const struct drover_reporter *rep)
{
	struct buf cfg = BUF_INIT;
	char needle[128];

	if (cfs_read(b, "replication.cfg", &cfg) < 0 || buf_terminate(&cfg) < 0) {
		buf_free(&cfg);
		return;
	}
	snprintf(needle, sizeof(needle), "target %s\n", node);
	if (strstr((char *)cfg.data, needle))
		drover_report_warn(
			rep,
			"replication jobs in replication.cfg still target %s: remove them (they cannot run, and cannot be removed once the node is gone)",
			node);
	buf_free(&cfg);
}

struct del_edit {
	const struct cfs_brief *b;
	const char *who;
	struct cluster_delnode_result *res;
	const struct drover_reporter *rep;
};

/* Under the corosync.conf lock: the node leaves the nodelist, its corosync is asked to stop. */
static int del_edit(struct cc_node *conf, void *ctx, struct drover_err *err)
{
	struct del_edit *e = ctx;
	struct cluster_delnode_result *res = e->res;
	char change[128], why[256];
	int r = cluster_conf_remove_node(conf, e->who, res->name, sizeof(res->name), &res->nodeid);

	if (r == -ENOENT)
		return drover_fail(err, r,
				   "no node '%s' in corosync.conf (give its name or an address)",
				   e->who);
	if (streq(res->name, e->b->node))
		return drover_fail(err, -EINVAL, "%s is this node: run delnode on another member",
				   res->name);
	if (cluster_conf_node_count(conf) == 0)
		return drover_fail(err, -EINVAL, "that would leave no node in the cluster");
	snprintf(change, sizeof(change), "cannot delete node %s", res->name);
	r = cluster_conf_check_no_qdevice(conf, change, err);
	if (r < 0)
		return r;
	drover_report_log(e->rep, "deleting node %s (node id %u) from the cluster", res->name,
			  res->nodeid);
	/* it may be off already: then there is nobody to ask */
	if (cs_kill_node(res->nodeid, "removed from the cluster by drover cluster delnode", why,
			 sizeof(why)) == 0)
		drover_report_log(e->rep, "asked the corosync of %s to stop", res->name);
	return 0;
}

int cluster_delnode(const struct cfs_brief *b, const char *who, struct cluster_delnode_result *res,
		    const struct drover_reporter *rep, struct drover_err *err)
{
	struct del_edit e = { b, who, res, rep };
	int r;

	memset(res, 0, sizeof(*res));
	if (streq(who, b->node))
		return drover_fail(err, -EINVAL, "%s is this node: run delnode on another member",
				   who);
	r = cfs_edit_corosync_conf(b, del_edit, &e, &res->version, NULL, err);
	if (r < 0)
		return r;
	drover_report_log(rep, "corosync.conf config_version %llu written",
			  (unsigned long long)res->version);
	warn_replication(b, res->name, rep);
	return 0;
}
