/* SPDX-License-Identifier: MIT */
#include "addnode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/util.h"
#include "cfs.h"
#include "node_setup.h"
#include "ssh.h"

#define AUTHKEY_MAX (64 * 1024)

static void make_node_dirs(const struct cfs_brief *b, const char *node)
{
	static const char *const subdirs[] = { "", "/qemu-server", "/lxc", "/priv" };
	char rel[256], path[4096];

	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
		snprintf(rel, sizeof(rel), "nodes/%s%s", node, subdirs[i]);
		if (cfs_path(b, rel, path, sizeof(path)) == 0)
			mkdir(path, 0755); /* EEXIST on a re-add is fine */
	}
}

static int share_keys(const struct cfs_brief *b, const struct join_request *req,
		      struct drover_err *err)
{
	const char *addrs[CLUSTER_LINKS_MAX];
	size_t n = cluster_node_spec_addrs(&req->node, addrs);
	int r = 0;

	if (req->ssh_key[0])
		r = ssh_share_authorized_keys(b, req->ssh_key, err);
	if (r == 0 && req->host_key[0])
		r = ssh_share_known_host(b, req->node.name, addrs, n, req->host_key, err);
	return r;
}

struct add_edit {
	const struct cfs_brief *b;
	struct join_request *req;
};

/* Under the corosync.conf lock: the new nodelist, the node's directories and keys. */
static int add_edit(struct cc_node *conf, void *ctx, struct drover_err *err)
{
	struct add_edit *e = ctx;
	char change[128];
	int r = cluster_conf_verify(conf, err);

	/* refused whatever --force says: that is about the joining node's own data */
	snprintf(change, sizeof(change), "cannot add node %s", e->req->node.name);
	if (r == 0)
		r = cluster_conf_check_no_qdevice(conf, change, err);
	if (r == 0)
		r = cluster_conf_add_node(conf, &e->req->node, e->req->force, err);
	if (r == 0) {
		make_node_dirs(e->b, e->req->node.name);
		r = share_keys(e->b, e->req, err);
	}
	return r;
}

static int read_authkey(struct join_response *resp, struct drover_err *err)
{
	char *key = NULL;
	size_t len;
	int r = read_file_max(COROSYNC_AUTHKEY, AUTHKEY_MAX, &key, &len);

	if (r == 0 && buf_append(&resp->authkey, key, len) < 0)
		r = -ENOMEM;
	free(key);
	if (r < 0)
		return drover_fail(err, r, "reading %s: %s", COROSYNC_AUTHKEY, strerror(-r));
	return 0;
}

int cluster_addnode(const char *socket, struct join_request *req, struct join_response *resp,
		    struct drover_err *err)
{
	struct add_edit e = { .req = req };
	struct cfs_brief b;
	uint64_t version;
	int r = cfs_brief_get(socket, &b);

	if (r < 0)
		return drover_fail(err, r, "droverfs does not answer: %s", strerror(-r));
	if (!b.cluster_mode)
		return drover_fail(err, -EACCES, "this node is in no cluster");
	if (!b.writable)
		return drover_fail(
			err, -EACCES,
			"this node has no quorum: a node can only be added to a quorate cluster");
	e.b = &b;
	r = cfs_edit_corosync_conf(&b, add_edit, &e, &version, &resp->corosync_conf, err);
	resp->nodeid = req->node.nodeid;
	return r < 0 ? r : read_authkey(resp, err);
}
