/* SPDX-License-Identifier: MIT */
/*
 * The cluster's certificate authority and the node certificates (for the
 * HTTPS API of a later milestone). The CA key lives in priv/ (root only),
 * its certificate at the top of the tree; a node's key in priv/ssl/, its
 * certificate in nodes/NAME/. Made with the openssl command, EC P-256.
 */
#pragma once

#include <stdbool.h>

#include "cfs.h"
#include "conf.h"

#define CERTS_CA_KEY "priv/drover-root-ca.key"
#define CERTS_CA_CERT "drover-root-ca.pem"

/* Create the CA unless the tree has one. */
int certs_ensure_ca(const struct cfs_brief *b, const char *cluster_name, struct drover_err *err);

/*
 * Issue this node's certificate (names: node name, localhost, the given
 * addresses) signed by the CA, unless it has a valid one and !force.
 */
int certs_issue_node(const struct cfs_brief *b, const char *node, const char *const addrs[],
		     size_t naddrs, bool force, struct drover_err *err);
