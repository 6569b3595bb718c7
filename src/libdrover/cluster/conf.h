/* SPDX-License-Identifier: MIT */
/*
 * The cluster's corosync.conf as drover writes and edits it: creating the
 * first node's file, adding and removing nodes, the link set, and the
 * checks `drover cluster add` runs before it changes anything. Works on the
 * cc_node tree of lib/corosync_conf, so hand edits that corosync accepts
 * survive (comments do not: the writer prints the canonical layout).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libdrover/error.h"
#include "libdrover/format/corosync_conf.h"

#define CLUSTER_LINKS_MAX 8 /* knet: link0 ... link7 */
#define CLUSTER_NAME_MAX 15 /* corosync's cluster_name limit */
#define CLUSTER_ADDR_MAX 64

struct cluster_link {
	char addr[CLUSTER_ADDR_MAX];
	unsigned priority; /* knet_link_priority; 0: not set */
};

/* One node as a command names it: links indexed by link number. */
struct cluster_node_spec {
	char name[64];
	unsigned nodeid; /* 0: the lowest free one */
	unsigned votes;
	unsigned link_mask; /* bit N: links[N] is given */
	struct cluster_link links[CLUSTER_LINKS_MAX];
};


/* A cluster name: a node-name-like label of at most 15 characters. */
bool cluster_name_valid(const char *name);

/*
 * Parse "--linkN" values: "ADDR[,priority=P]" into spec->links[number].
 * The address must be an IPv4 or IPv6 literal. Returns 0 or -EINVAL.
 */
int cluster_link_parse(const char *text, unsigned number, struct cluster_node_spec *spec,
		       struct drover_err *err);

/* The spec's link addresses in link order; returns how many. */
size_t cluster_node_spec_addrs(const struct cluster_node_spec *spec,
			       const char *addrs[CLUSTER_LINKS_MAX]);

/* A new corosync.conf for a cluster of one node (config_version 1). NULL on -ENOMEM. */
struct cc_node *cluster_conf_new(const char *cluster_name, const struct cluster_node_spec *node);

/* The link numbers a cluster uses (interface sections, else ringN_addr keys): a bit mask. */
unsigned cluster_conf_links(const struct cc_node *root);

/* Checks a parsed file must pass before drover edits it (nodes, totem, link consistency). */
int cluster_conf_verify(const struct cc_node *root, struct drover_err *err);

/*
 * Add node to the nodelist: refuses a bad name, a name or node id that is
 * taken (unless force and the same id and votes: a re-add), an address
 * another node has, a link set unlike the cluster's. Picks the lowest free
 * node id when spec->nodeid is 0 and stores it back. Returns 0, -EEXIST,
 * -EINVAL or -ENOMEM.
 */
int cluster_conf_add_node(struct cc_node *root, struct cluster_node_spec *spec, bool force,
			  struct drover_err *err);

/*
 * Remove the node named `who` (or whose ringN_addr is `who`). Its name and
 * id are stored in name/nodeid. Returns 0 or -ENOENT.
 */
int cluster_conf_remove_node(struct cc_node *root, const char *who, char *name, size_t name_len,
			     unsigned *nodeid);

/* config_version + 1. Returns the new version, or 0 on -ENOMEM. */
uint64_t cluster_conf_bump_version(struct cc_node *root);

/* The node section whose name is `name`, or NULL. */
struct cc_node *cluster_conf_node(const struct cc_node *root, const char *name);

/* Number of nodes in the nodelist. */
unsigned cluster_conf_node_count(const struct cc_node *root);

/* ringN_addr (or linkN_addr) of a node section, or NULL. */
const char *cluster_conf_node_addr(const struct cc_node *node, unsigned link);

/* ---- the QDevice: quorum { device { ... } } ---------------------------------- */

#define CLUSTER_QDEVICE_HOST_MAX 256

/*
 * The QDevice algorithm for a cluster of `nodes` nodes: ffsplit (one vote
 * to the larger half) for an even count. An odd count only with force, and
 * then lms (last man standing), whose drawbacks the user must have been
 * told. Returns 0 or -EINVAL (err says why).
 */
int cluster_qdevice_algorithm(unsigned nodes, bool force, const char **algorithm,
			      struct drover_err *err);

/* A QNetd host as the user names it: an IPv4/IPv6 literal or a DNS name. */
bool cluster_qnetd_host_valid(const char *host);

/* The QNetd host of the configured QDevice ("" for a device without one), or NULL: none. */
const char *cluster_conf_qdevice_host(const struct cc_node *root);

/*
 * Add quorum.device for QNetd host `host` (model net, TLS on, the algorithm
 * cluster_qdevice_algorithm picks; votes 1 for ffsplit, lms keeps
 * corosync's default of nodes - 1). Refuses a configured device (-EEXIST),
 * a bad host, a node with other than one vote for ffsplit, and quorum
 * options that corosync would not combine with a device (two_node,
 * last_man_standing, auto_tie_breaker) (-EINVAL). config_version is the
 * caller's to bump. Returns 0, -EEXIST, -EINVAL or -ENOMEM.
 */
int cluster_conf_add_qdevice(struct cc_node *root, const char *host, bool force,
			     const char **algorithm, struct drover_err *err);

/*
 * Nodes are added and deleted only while no QDevice is configured (as the
 * seed's pvecm chapter says: remove the QDevice first, change the nodes, set
 * it up again for an even count): its algorithm and votes were chosen for
 * the present node count, and a new node has no certificate for it.
 * `change` names the refused change for the message ("cannot delete node
 * node3"). Returns 0, or -EBUSY with err saying what to run.
 */
int cluster_conf_check_no_qdevice(const struct cc_node *root, const char *change,
				  struct drover_err *err);

/* Remove quorum.device; its host goes to host (if given). Returns 0 or -ENOENT (none). */
int cluster_conf_remove_qdevice(struct cc_node *root, char *host, size_t len);
