/* SPDX-License-Identifier: MIT */
#include "member.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "node_setup.h"
#include "ssh.h"

/* corosync.conf and this node's section in it (NULL with err set). conf is the caller's. */
static struct cc_node *self_in_conf(const struct cfs_brief *b, struct cc_node **conf,
				    struct drover_err *err)
{
	struct cc_node *self;

	*conf = cfs_read_corosync_conf(b, err);
	if (!*conf)
		return NULL;
	self = cluster_conf_node(*conf, b->node);
	if (!self)
		drover_fail(err, -ENOENT, "node %s is not in corosync.conf", b->node);
	return self;
}

int cluster_join_info(const struct cfs_brief *b, struct join_info *info, struct drover_err *err)
{
	struct cc_node *conf, *self = self_in_conf(b, &conf, err);
	char key[1100];
	int r = self ? ssh_host_key(key, sizeof(key), err) : -ENOENT;

	memset(info, 0, sizeof(*info));
	if (r == 0)
		r = ssh_fingerprint(key, info->fingerprint, sizeof(info->fingerprint), err);
	if (r == 0) {
		snprintf(info->cluster, sizeof(info->cluster), "%s",
			 cc_get(conf, "totem", "cluster_name") ?: "");
		snprintf(info->node, sizeof(info->node), "%s", b->node);
		for (unsigned l = 0; l < CLUSTER_LINKS_MAX; l++) {
			const char *addr = cluster_conf_node_addr(self, l);

			if (addr) {
				info->link_mask |= 1u << l;
				snprintf(info->addrs[l], sizeof(info->addrs[l]), "%s", addr);
			}
		}
	}
	cc_free(conf);
	return r;
}

int cluster_updatecerts(const struct cfs_brief *b, bool force, struct drover_err *err)
{
	const char *addrs[CLUSTER_LINKS_MAX];
	struct cc_node *conf, *self = self_in_conf(b, &conf, err);
	size_t n = 0;
	int r = -ENOENT;

	for (unsigned l = 0; self && l < CLUSTER_LINKS_MAX; l++)
		if (cluster_conf_node_addr(self, l))
			addrs[n++] = cluster_conf_node_addr(self, l);
	if (self)
		r = node_setup_tree(b, cc_get(conf, "totem", "cluster_name") ?: "", addrs, n, false,
				    force, err);
	cc_free(conf);
	return r;
}
