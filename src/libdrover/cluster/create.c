/* SPDX-License-Identifier: MIT */
#include "create.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/util.h"
#include "corosync_info.h"
#include "libdrover/sys/service.h"
#include "node_setup.h"

#define QUORUM_TIMEOUT_MS 60000

/* A node that is in a cluster, or runs corosync, must not be made the first of another. */
static int check_free(const struct cfs_brief *b, struct drover_err *err)
{
	char path[4096];

	cfs_path(b, "corosync.conf", path, sizeof(path));
	if (b->cluster_mode || access(path, F_OK) == 0)
		return drover_fail(
			err, -EEXIST,
			"this node is in a cluster already (%s exists); 'drover cluster separate' leaves it",
			path);
	if (cs_running())
		return drover_fail(err, -EBUSY, "corosync is running on this node: stop it first");
	return 0;
}

static int write_config(const struct cluster_create_req *req, const struct cfs_brief *b,
			const struct drover_reporter *rep, struct drover_err *err)
{
	unsigned char key[COROSYNC_AUTHKEY_SIZE];
	struct cc_node *conf = cluster_conf_new(req->name, &req->node);
	struct buf text = BUF_INIT;
	int r = conf ? cc_write(conf, &text) : -ENOMEM;

	if (r == 0)
		r = node_make_authkey(key, sizeof(key));
	if (r < 0)
		drover_fail(err, r, "%s", strerror(-r));
	if (r == 0) {
		drover_report_log(
			rep, "writing the corosync authkey and corosync.conf (config_version 1)");
		r = node_install_corosync(text.data, text.len, key, sizeof(key), err);
	}
	if (r == 0) {
		r = cfs_write(b, "corosync.conf", text.data, text.len, 0640);
		if (r < 0)
			drover_fail(err, r, "writing corosync.conf into %.200s: %s", b->mountpoint,
				    strerror(-r));
	}
	cc_free(conf);
	buf_free(&text);
	return r;
}

static int setup_tree(const struct cluster_create_req *req, const struct cfs_brief *b,
		      const struct drover_reporter *rep, struct drover_err *err)
{
	const char *addrs[CLUSTER_LINKS_MAX];
	size_t n = cluster_node_spec_addrs(&req->node, addrs);

	drover_report_log(
		rep,
		"setting up SSH keys, known hosts, the cluster CA and this node's certificate");
	return node_setup_tree(b, req->name, addrs, n, true, false, err);
}

/* corosync first, then droverfs anew: it finds corosync.conf and starts in cluster mode. */
static int start_cluster(const char *socket, struct cfs_brief *b, const struct drover_reporter *rep,
			 struct drover_err *err)
{
	int r;

	drover_report_log(rep, "starting corosync");
	r = service_do(SERVICE_COROSYNC, SERVICE_RESTART, NULL, err);
	if (r == 0) {
		drover_report_log(rep, "restarting droverfs in cluster mode");
		r = service_do(SERVICE_DROVERFS, SERVICE_RESTART, NULL, err);
	}
	if (r < 0)
		return r;
	drover_report_log(rep, "waiting for quorum");
	r = cfs_wait_writable(socket, true, QUORUM_TIMEOUT_MS, b);
	if (r < 0)
		drover_fail(
			err, r,
			"no quorum after %d s (droverfs: %s, %s): see 'drover cluster status' and the corosync log",
			QUORUM_TIMEOUT_MS / 1000, b->cluster_mode ? "cluster mode" : "local mode",
			b->quorate ? "quorate" : "not quorate");
	if (r == 0) {
		drover_report_log(rep, "starting droverd");
		r = service_do(SERVICE_DROVERD, SERVICE_ENABLE, NULL, err);
	}
	return r;
}

int cluster_create(const char *socket, struct cfs_brief *b, struct cluster_create_req *req,
		   const struct drover_reporter *rep, struct drover_err *err)
{
	int r = check_free(b, err);

	if (r < 0)
		return r;
	snprintf(req->node.name, sizeof(req->node.name), "%s", b->node);
	if (req->node.nodeid == 0)
		req->node.nodeid = 1;
	r = node_local_links(&req->node, err);
	if (r < 0)
		return r;
	drover_report_log(rep, "creating cluster %s: node %s, node id %u, link0 %s", req->name,
			  req->node.name, req->node.nodeid,
			  req->node.links[0].addr[0] ? req->node.links[0].addr : "-");
	r = setup_tree(req, b, rep, err);
	if (r == 0)
		r = write_config(req, b, rep, err);
	if (r == 0)
		r = start_cluster(socket, b, rep, err);
	return r;
}
