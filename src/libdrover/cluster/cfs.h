/* SPDX-License-Identifier: MIT */
/*
 * droverfs as the cluster commands use it: its state (through the IPC
 * socket), files in its mount written atomically, and the cluster-wide
 * locks (a directory under priv/lock/ that exists on exactly one node).
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "basic/buf.h"

struct cfs_brief {
	char node[64];
	char mountpoint[PATH_MAX];
	bool cluster_mode;
	bool quorate;
	bool writable; /* cluster mode: quorate and in sync */
	char sync[32]; /* cluster mode: "synced", "syncing", ... */
	unsigned members;
	uint64_t version;
	unsigned guests;
	char database[PATH_MAX];
};

/* Ask droverfs (socket NULL: the default) for its state. Returns 0 or -errno. */
int cfs_brief_get(const char *socket, struct cfs_brief *b);

/*
 * Poll until droverfs answers, is in cluster mode (if want_cluster), quorate
 * and writable, or timeout_ms passes (-ETIMEDOUT). `b` holds the last state.
 */
int cfs_wait_writable(const char *socket, bool want_cluster, unsigned timeout_ms,
		      struct cfs_brief *b);

/* mount + "/" + rel. Returns 0 or -ENAMETOOLONG. */
int cfs_path(const struct cfs_brief *b, const char *rel, char *out, size_t len);

/*
 * Read or replace a file in the tree (atomically: temporary name and rename).
 * droverfs decides the mode from the path; mode documents the intent.
 */
int cfs_read(const struct cfs_brief *b, const char *rel, struct buf *out);
int cfs_write(const struct cfs_brief *b, const char *rel, const void *data, size_t len,
	      mode_t mode);

/*
 * Take the cluster lock priv/lock/NAME, retrying for up to timeout_ms.
 * Returns 0, -EBUSY (someone else holds it), -EACCES (no quorum) or -errno.
 */
int cfs_lock(const struct cfs_brief *b, const char *name, unsigned timeout_ms);
void cfs_unlock(const struct cfs_brief *b, const char *name);

/* The tree's corosync.conf, parsed (NULL with err set: missing or invalid). */
struct cc_node *cfs_read_corosync_conf(const struct cfs_brief *b, struct drover_err *err);

/*
 * Change the tree's corosync.conf: the one way to write it once a cluster
 * exists. Under the cluster-wide lock, read it (again: someone may have
 * changed it since the caller looked), let edit() change it (0, or -errno
 * with err filled; it runs under the lock, so it may also do what must
 * happen with the change, never after it), raise config_version and write
 * it back. The lock is priv/lock/file-corosync_conf, waited for up to 10 s. *version: the new config_version; written (if given) receives
 * the text written. On failure err says why and nothing is written.
 */
int cfs_edit_corosync_conf(const struct cfs_brief *b,
			   int (*edit)(struct cc_node *conf, void *ctx, struct drover_err *err),
			   void *ctx, uint64_t *version, struct buf *written,
			   struct drover_err *err);
