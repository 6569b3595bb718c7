/* SPDX-License-Identifier: MIT */
/*
 * An external vote for the cluster from corosync-qnetd on another host.
 * setup checks everything it can before it changes anything, then makes
 * the TLS certificates (QNetd CA on the host, a database on every node,
 * the cluster's certificate signed by the CA and shared), adds the device
 * to corosync.conf under the cluster-wide lock and starts corosync-qdevice
 * on every node. remove undoes it. Both hold the cluster lock
 * priv/lock/qdevice from their checks to their end, so two never mix
 * their certificates.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cfs.h"
#include "libdrover/report.h"

struct qdevice_setup_result {
	const char *algorithm; /* "ffsplit" or "lms" once planned */
	uint64_t version; /* the config_version with the device; 0: corosync.conf unchanged */
};

/*
 * Set up the QDevice on QNetd host addr. Needs DROVER_NEED_ROOT |
 * DROVER_NEED_CLUSTER | DROVER_NEED_QUORATE (b). An odd node count is
 * refused (its drawbacks reported as a note) unless force (as a warning).
 * Every node must be online. Each step is reported, every node's failure
 * as an error of its own. A failure after res->version was written leaves
 * the device in corosync.conf.
 */
int cluster_qdevice_setup(const struct cfs_brief *b, const char *addr, bool force,
			  struct qdevice_setup_result *res, const struct drover_reporter *rep,
			  struct drover_err *err);

/*
 * Remove the QDevice: corosync.conf first (while the device still votes),
 * then corosync-qdevice and the certificate database on every node online
 * (offline nodes are warned about). Same needs as setup. Returns -ENOENT
 * when there is none, -EIO when the device left corosync.conf but a step
 * failed on some node.
 */
int cluster_qdevice_remove(const struct cfs_brief *b, const struct drover_reporter *rep,
			   struct drover_err *err);
