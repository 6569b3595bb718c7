/* SPDX-License-Identifier: MIT */
/* drover cluster join-info | nextid: small questions answered from the tree. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libdrover/cluster/join.h"
#include "libdrover/cluster/nextid.h"
#include "libdrover/cluster/node_setup.h"
#include "libdrover/cluster/ssh.h"
#include "cluster_cli.h"
#include "libdrover/cfs/ipc_client.h"
#include "libdrover/cfs/ipc_proto.h"
#include "basic/util.h"

static int cmd_joininfo(struct cli_context *ctx, int argc, char **argv)
{
	struct join_info info = { 0 };
	struct drover_err err = { "" };
	struct buf out = BUF_INIT;
	struct cfs_brief b;
	struct cc_node *conf, *self;
	char key[1100];
	int r;

	if (argc != 1) {
		cli_error("cluster join-info takes no arguments");
		return CLI_EXIT_USAGE;
	}
	if (cluster_cfs(ctx, &b) < 0)
		return CLI_EXIT_FAIL;
	conf = cfs_read_corosync_conf(&b, &err);
	self = conf ? cluster_conf_node(conf, b.node) : NULL;
	if (conf && !self)
		snprintf(err.text, sizeof(err.text), "node %s is not in corosync.conf", b.node);
	r = self ? ssh_host_key(key, sizeof(key), &err) : -ENOENT;
	if (r == 0)
		r = ssh_fingerprint(key, info.fingerprint, sizeof(info.fingerprint), &err);
	if (r == 0) {
		snprintf(info.cluster, sizeof(info.cluster), "%s", cc_get(conf, "totem", "cluster_name") ?: "");
		snprintf(info.node, sizeof(info.node), "%s", b.node);
		for (unsigned l = 0; l < CLUSTER_LINKS_MAX; l++) {
			const char *addr = cluster_conf_node_addr(self, l);

			if (addr) {
				info.link_mask |= 1u << l;
				snprintf(info.addrs[l], sizeof(info.addrs[l]), "%s", addr);
			}
		}
		r = join_info_encode(&info, &out);
	}
	cc_free(conf);
	if (r < 0 || buf_terminate(&out) < 0) {
		cli_error("%s", err.text[0] ? err.text : strerror(-r));
		buf_free(&out);
		return CLI_EXIT_FAIL;
	}
	printf("%s\n", (char *)out.data);
	buf_free(&out);
	return CLI_EXIT_OK;
}

/* Every VMID in the cluster, from droverfs's .vmlist. */
static int used_vmids(struct cli_context *ctx, uint32_t **ids, size_t *n)
{
	struct ipc_client c;
	struct buf reply = BUF_INIT;
	struct json_object *o = NULL, *list;
	int32_t status = 0;
	int r = ipc_client_connect(&c, ctx->socket_path);

	*ids = NULL;
	*n = 0;
	if (r == 0) {
		r = ipc_client_call(&c, IPC_GET_VMLIST, NULL, 0, &status, &reply);
		ipc_client_close(&c);
	}
	if (r == 0)
		r = status;
	if (r == 0 && buf_terminate(&reply) == 0)
		o = json_tokener_parse((const char *)reply.data);
	buf_free(&reply);
	if (r < 0 || !o)
		return r < 0 ? r : -EPROTO;
	if (json_object_object_get_ex(o, "ids", &list)) {
		*ids = calloc((size_t)json_object_object_length(list) + 1, sizeof(**ids));
		if (!*ids)
			r = -ENOMEM;
		json_object_object_foreach(list, key, val)
		{
			(void)val;
			if (*ids)
				(*ids)[(*n)++] = (uint32_t)strtoul(key, NULL, 10);
		}
	}
	json_object_put(o);
	return r;
}

static int cmd_nextid(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	struct buf dc = BUF_INIT;
	struct cfs_brief b;
	uint32_t lower, upper, id, *ids;
	size_t n;
	int r;

	if (argc != 1) {
		cli_error("cluster nextid takes no arguments");
		return CLI_EXIT_USAGE;
	}
	if (cluster_cfs(ctx, &b) < 0)
		return CLI_EXIT_FAIL;
	r = cfs_read(&b, "datacenter.cfg", &dc);
	if (r < 0 && r != -ENOENT) {
		cli_error("datacenter.cfg: %s", strerror(-r));
		return CLI_EXIT_FAIL;
	}
	r = nextid_range(dc.len ? (const char *)dc.data : NULL, dc.len, &lower, &upper, &err);
	buf_free(&dc);
	if (r < 0) {
		cli_error("%s", err.text);
		return CLI_EXIT_FAIL;
	}
	r = used_vmids(ctx, &ids, &n);
	if (r < 0) {
		cli_error("cannot read the cluster's guests from droverfs: %s", strerror(-r));
		return CLI_EXIT_FAIL;
	}
	r = nextid_pick(lower, upper, ids, n, &id);
	free(ids);
	if (r < 0) {
		cli_error("no free VMID in the next-id range %u to %u (datacenter.cfg)", lower,
			  upper - 1);
		return CLI_EXIT_FAIL;
	}
	printf("%u\n", id);
	return CLI_EXIT_OK;
}

const struct cli_command cluster_joininfo_cmd = {
	.name = "join-info",
	.summary = "print the string 'cluster add --join-info' takes",
	.usage = "Usage: drover cluster join-info\n"
		 "\n"
		 "Prints one line to copy to a new node: the cluster's name, this member's\n"
		 "addresses (one per link) and the fingerprint of its SSH host key.\n"
		 "'drover cluster add --join-info STRING' on the new node joins through this\n"
		 "member and refuses any host that shows another key.\n",
	.run = cmd_joininfo,
};

const struct cli_command cluster_nextid_cmd = {
	.name = "nextid",
	.summary = "the next free VMID in the cluster",
	.usage = "Usage: drover cluster nextid\n"
		 "\n"
		 "Prints the lowest VMID that no guest anywhere in the cluster uses, within\n"
		 "the range of 'next-id: lower=N,upper=M' in datacenter.cfg (upper is\n"
		 "exclusive; default 100 to 999999).\n",
	.run = cmd_nextid,
};

static int cmd_updatecerts(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	const char *addrs[CLUSTER_LINKS_MAX];
	struct cc_node *conf, *self;
	struct cfs_brief b;
	bool force = argc == 2 && streq(argv[1], "--force");
	size_t n = 0;
	int r;

	if (argc > 2 || (argc == 2 && !force)) {
		cli_error("cluster updatecerts takes only --force");
		return CLI_EXIT_USAGE;
	}
	if (cluster_require_root("updatecerts") < 0 || cluster_cfs(ctx, &b) < 0)
		return CLI_EXIT_FAIL;
	if (!b.writable) {
		cli_error("no quorum: the tree is read-only (see 'drover cluster status')");
		return CLI_EXIT_FAIL;
	}
	conf = cfs_read_corosync_conf(&b, &err);
	self = conf ? cluster_conf_node(conf, b.node) : NULL;
	for (unsigned l = 0; self && l < CLUSTER_LINKS_MAX; l++)
		if (cluster_conf_node_addr(self, l))
			addrs[n++] = cluster_conf_node_addr(self, l);
	if (conf && !self)
		snprintf(err.text, sizeof(err.text), "node %s is not in corosync.conf", b.node);
	r = self ? node_setup_tree(&b, cc_get(conf, "totem", "cluster_name") ?: "", addrs, n, false,
				   force, &err)
		 : -ENOENT;
	cc_free(conf);
	if (r < 0) {
		cli_error("%s", err.text);
		return CLI_EXIT_FAIL;
	}
	printf("SSH keys and known hosts merged; certificate of %s %s\n", b.node,
	       force ? "renewed" : "checked (renewed if missing or expiring within 30 days)");
	return CLI_EXIT_OK;
}

const struct cli_command cluster_updatecerts_cmd = {
	.name = "updatecerts",
	.summary = "renew this node's certificate, merge SSH keys and known hosts",
	.usage = "Usage: drover cluster updatecerts [--force]\n"
		 "\n"
		 "Puts root's SSH key into the cluster's authorized_keys, this host's SSH key\n"
		 "into the cluster's known_hosts (replacing the node's old key: the fix for\n"
		 "'Host key verification failed' after a node was reinstalled and re-added),\n"
		 "and issues this node's certificate if it is missing or expires within 30\n"
		 "days. Needs quorum.\n"
		 "\n"
		 "Options:\n"
		 "  --force   issue a new certificate even if the current one is valid\n",
	.run = cmd_updatecerts,
};
