/* SPDX-License-Identifier: MIT */
/*
 * The steps create and add share: corosync's own files on this node, and a
 * node's place in the tree (SSH keys and known hosts, its certificate).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cfs.h"
#include "conf.h"

#define COROSYNC_DIR "/etc/corosync"
#define COROSYNC_AUTHKEY COROSYNC_DIR "/authkey"
#define COROSYNC_CONF COROSYNC_DIR "/corosync.conf"
#define COROSYNC_AUTHKEY_SIZE 256

/* A new random authkey (COROSYNC_AUTHKEY_SIZE bytes). */
int node_make_authkey(unsigned char *key, size_t len);

/* Write authkey (0400) and corosync.conf (0644) into COROSYNC_DIR, each atomically. */
int node_install_corosync(const void *conf, size_t conf_len, const void *authkey, size_t key_len,
			  struct drover_err *err);

/*
 * This node in the tree: root's key in priv/authorized_keys (the local
 * file becomes a link), its host key in priv/known_hosts, its certificate
 * (and the CA first, if make_ca).
 */
int node_setup_tree(const struct cfs_brief *b, const char *cluster_name, const char *const addrs[],
		    size_t naddrs, bool make_ca, bool force_cert, struct drover_err *err);

/*
 * This node's links for create and add: every link address must be
 * configured here; without any link, link0 is the address the host name
 * resolves to. Returns 0 or -EADDRNOTAVAIL (err says which).
 */
int node_local_links(struct cluster_node_spec *spec, struct drover_err *err);
