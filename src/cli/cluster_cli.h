/* SPDX-License-Identifier: MIT */
/*
 * The `drover cluster` commands, one file per command or small family:
 * each parses its arguments, calls its operation in libdrover/cluster/
 * and prints.
 */
#pragma once

#include <getopt.h>
#include <stdbool.h>

#include "basic/buf.h"
#include "cli.h"
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
 * Read all of stdin, at most max bytes (a request or bundle another node
 * sends over SSH). Returns 0, -EFBIG or -errno.
 */
int cluster_read_stdin(struct buf *in, size_t max);
