/* SPDX-License-Identifier: MIT */
/* The `drover cluster` commands, one file per command or small family. */
#pragma once

#include <stdbool.h>

#include "cli.h"
#include "libdrover/cluster/cfs.h"
#include "libdrover/cluster/conf.h"

extern const struct cli_command cluster_create_cmd;
extern const struct cli_command cluster_add_cmd;
extern const struct cli_command cluster_addnode_cmd;
extern const struct cli_command cluster_joininfo_cmd;
extern const struct cli_command cluster_delnode_cmd;
extern const struct cli_command cluster_status_cmd;
extern const struct cli_command cluster_nodes_cmd;
extern const struct cli_command cluster_expected_cmd;
extern const struct cli_command cluster_nextid_cmd;
extern const struct cli_command cluster_updatecerts_cmd;
extern const struct cli_command cluster_separate_cmd;
extern const struct cli_command cluster_qdevice_group;
extern const struct cli_command cluster_qdevice_node_cmd;

/* One progress line of a long command ("step: what"), flushed at once. */
void cluster_step(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The commands that change a node must run as root. */
int cluster_require_root(const char *command);

/* service_control() with its error printed for the user. */
int cluster_service(int unit, int action, char *const extra[]);

/* droverfs's state, or an error printed for the user. */
int cluster_cfs(struct cli_context *ctx, struct cfs_brief *b);

/* getopt codes of the options create and add share (--link0..7, --nodeid, --votes). */
#define CLUSTER_OPT_LINK 0x100 /* + link number */
#define CLUSTER_OPT_NODEID 0x110
#define CLUSTER_OPT_VOTES 0x111
#define CLUSTER_NODE_OPTIONS                                                \
	{ "link0", required_argument, NULL, CLUSTER_OPT_LINK + 0 },         \
		{ "link1", required_argument, NULL, CLUSTER_OPT_LINK + 1 }, \
		{ "link2", required_argument, NULL, CLUSTER_OPT_LINK + 2 }, \
		{ "link3", required_argument, NULL, CLUSTER_OPT_LINK + 3 }, \
		{ "link4", required_argument, NULL, CLUSTER_OPT_LINK + 4 }, \
		{ "link5", required_argument, NULL, CLUSTER_OPT_LINK + 5 }, \
		{ "link6", required_argument, NULL, CLUSTER_OPT_LINK + 6 }, \
		{ "link7", required_argument, NULL, CLUSTER_OPT_LINK + 7 }, \
		{ "nodeid", required_argument, NULL, CLUSTER_OPT_NODEID },  \
	{                                                                   \
		"votes", required_argument, NULL, CLUSTER_OPT_VOTES         \
	}

/*
 * Handle one of those options into spec. Returns 1 if it was one, 0 if
 * not, -EINVAL (printed) if its value is bad.
 */
int cluster_node_option(int c, const char *arg, struct cluster_node_spec *spec);

/*
 * Every link address must be configured here; without any link, link0 is
 * the address the host name resolves to. Prints what is wrong.
 */
int cluster_local_links(struct cluster_node_spec *spec);

/* A node as qdevice setup and remove reach it: this one, or another over SSH. */
struct qdevice_target {
	char name[64];
	char addr[CLUSTER_ADDR_MAX];
	unsigned nodeid;
	bool local;
	bool online;
};

/*
 * One step of qdevice setup/remove on a node (cluster_qdevice_node.c: check
 * ADDR, import, start VERSION, stop, clean). in: import's bundle. Errors
 * are printed, naming the node.
 */
int qdevice_node_step(const struct qdevice_target *t, const char *step, const char *arg,
		      const struct buf *in);
