/* SPDX-License-Identifier: MIT */
/*
 * drover cluster _addnode: the member's side of a join, run by the joining
 * node over SSH. Reads the request (cluster/join.h) on stdin, adds the node
 * to corosync.conf under the cluster-wide lock and answers with the new
 * corosync.conf and the authkey on stdout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libdrover/cluster/join.h"
#include "libdrover/cluster/node_setup.h"
#include "libdrover/cluster/ssh.h"
#include "cluster_cli.h"
#include "basic/util.h"

#define REQUEST_MAX (64u * 1024)

static int read_request(struct buf *in)
{
	unsigned char chunk[4096];
	ssize_t n;

	while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR)) {
		if (n < 0)
			continue;
		if (in->len + (size_t)n > REQUEST_MAX || buf_append(in, chunk, (size_t)n) < 0)
			return -EFBIG;
	}
	return n < 0 ? -errno : 0;
}

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

/* Under the lock: the new nodelist, written back with config_version + 1. */
static int add_locked(const struct cfs_brief *b, struct join_request *req,
		      struct join_response *resp, struct drover_err *err)
{
	struct cc_node *conf = cfs_read_corosync_conf(b, err);
	uint64_t version;
	int r;

	if (!conf)
		return -EINVAL;
	r = cluster_conf_verify(conf, err);
	if (r == 0) {
		/* refused whatever --force says: that is about the joining node's own data */
		char change[128];

		snprintf(change, sizeof(change), "cannot add node %s", req->node.name);
		r = cluster_conf_check_no_qdevice(conf, change, err);
	}
	if (r == 0)
		r = cluster_conf_add_node(conf, &req->node, req->force, err);
	if (r == 0 && !(version = cluster_conf_bump_version(conf)))
		r = -ENOMEM;
	if (r == 0) {
		make_node_dirs(b, req->node.name);
		r = share_keys(b, req, err);
	}
	if (r == 0 && cc_write(conf, &resp->corosync_conf) < 0)
		r = -ENOMEM;
	if (r == 0) {
		r = cfs_write(b, "corosync.conf", resp->corosync_conf.data, resp->corosync_conf.len,
			      0640);
		if (r < 0)
			snprintf(err->text, sizeof(err->text), "writing corosync.conf: %s",
				 strerror(-r));
	}
	resp->nodeid = req->node.nodeid;
	cc_free(conf);
	return r;
}

static int add_node(struct cli_context *ctx, struct join_request *req, struct join_response *resp,
		    struct drover_err *err)
{
	struct cfs_brief b;
	char *key = NULL;
	size_t key_len;
	int r = cfs_brief_get(ctx->socket_path, &b);

	if (r < 0) {
		snprintf(err->text, sizeof(err->text), "droverfs does not answer: %s",
			 strerror(-r));
		return r;
	}
	if (!b.cluster_mode || !b.writable) {
		snprintf(
			err->text, sizeof(err->text), "%s",
			!b.cluster_mode
				? "this node is in no cluster"
				: "this node has no quorum: a node can only be added to a quorate cluster");
		return -EACCES;
	}
	r = cfs_lock_corosync_conf(&b, err);
	if (r < 0)
		return r;
	r = add_locked(&b, req, resp, err);
	cfs_unlock_corosync_conf(&b);
	if (r == 0) {
		r = read_file_max(COROSYNC_AUTHKEY, 64 * 1024, &key, &key_len);
		if (r == 0 && buf_append(&resp->authkey, key, key_len) < 0)
			r = -ENOMEM;
		if (r < 0)
			snprintf(err->text, sizeof(err->text), "reading %s: %s", COROSYNC_AUTHKEY,
				 strerror(-r));
		free(key);
	}
	return r;
}

static int cmd_addnode(struct cli_context *ctx, int argc, char **argv)
{
	struct buf in = BUF_INIT, out = BUF_INIT;
	struct join_request req;
	struct join_response resp;
	struct drover_err err = { "" };
	int r;

	if (argc != 1) {
		cli_error("cluster _addnode takes no arguments: it reads its request on stdin");
		return CLI_EXIT_USAGE;
	}
	join_response_init(&resp);
	r = read_request(&in);
	if (r < 0)
		snprintf(err.text, sizeof(err.text), "reading the request: %s", strerror(-r));
	if (r == 0)
		r = join_request_parse((const char *)in.data, in.len, &req, &err);
	if (r == 0)
		r = cluster_require_root("_addnode") < 0 ? -EPERM : 0;
	if (r == 0)
		r = add_node(ctx, &req, &resp, &err);
	if (r < 0)
		snprintf(resp.error, sizeof(resp.error), "%s",
			 err.text[0] ? err.text : strerror(-r));
	if (join_response_write(&resp, &out) == 0)
		fwrite(out.data, 1, out.len, stdout);
	buf_free(&in);
	buf_free(&out);
	join_response_free(&resp);
	return r < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

const struct cli_command cluster_addnode_cmd = {
	.name = "_addnode",
	.summary = "(internal) the member's side of 'drover cluster add'",
	.usage = "Usage: drover cluster _addnode < REQUEST\n"
		 "\n"
		 "Run by 'drover cluster add' on a member over SSH; not for direct use.\n",
	.run = cmd_addnode,
};
