/* SPDX-License-Identifier: MIT */
/*
 * The steps QDevice setup and remove take on each node: on this node
 * directly, on the others as `drover cluster qdevice _node STEP` over SSH
 * (the way `cluster add` reaches a member), so every node does its part
 * with its own tools and its own service manager.
 *
 *   check ADDR     corosync-qdevice installed, corosync-qnetd reachable
 *   import         the bundle (QNetd CA, pk12): a new database
 *   start VERSION  once corosync has loaded that config_version: start
 *                  corosync-qdevice (and enable it at boot)
 *   stop           stop corosync-qdevice (and disable it)
 *   clean          remove the certificate database
 */
#pragma once

#include <stdbool.h>

#include "conf.h"
#include "basic/buf.h"

#define QDEVICE_BUNDLE_MAX (1u << 20)

/* A node as setup and remove reach it: this one, or another over SSH. */
struct qdevice_target {
	char name[64];
	char addr[CLUSTER_ADDR_MAX];
	unsigned nodeid;
	bool local;
	bool online;
};

/*
 * One step on node t. arg: check's address, start's version; in: import's
 * bundle. On failure err says why, starting with the node's name. A
 * remote step's own reason reaches our stderr from ssh.
 */
int qdevice_node_step(const struct qdevice_target *t, const char *step, const char *arg,
		      const struct buf *in, struct drover_err *err);
