/* SPDX-License-Identifier: MIT */
/*
 * droverfs as a node agent uses it over IPC: the node status store (small
 * values each node publishes about itself, replicated to every member,
 * kept in RAM), files read without FUSE, and droverfs's own JSON answers
 * (status, members, vmlist). Each call is one request and one reply on a
 * connected ipc_client.
 */
#pragma once

#include <stddef.h>

#include "basic/buf.h"
#include "ipc_client.h"
#include "libdrover/error.h"

/*
 * Bound every read and write on c to ms milliseconds, so a caller with
 * other work (droverd) is never stuck behind a droverfs that stopped
 * answering. Returns 0 or -errno.
 */
int cfs_ipc_set_timeout(struct ipc_client *c, unsigned ms);

/*
 * Connect to droverfs at socket (NULL: the default) with every call bounded
 * by timeout_ms (cfs_ipc_set_timeout). Returns 0, or -errno with c closed.
 */
int cfs_ipc_connect(struct ipc_client *c, const char *socket, unsigned timeout_ms);
/* The same with the reason in err: "droverfs does not answer on SOCKET: ...". */
int cfs_ipc_open(struct ipc_client *c, const char *socket, unsigned timeout_ms,
		 struct drover_err *err);

/*
 * Publish key = data (len > 0) as this node's value, or delete it
 * (len == 0). Returns 0 or -errno (-EFBIG: over 32 KiB, -EPERM: not root,
 * a transport error).
 */
int cfs_kv_set(struct ipc_client *c, const char *key, const void *data, size_t len);

/* Read node's value of key ("" or NULL: this node) into out. -ENOENT when there is none. */
int cfs_kv_get(struct ipc_client *c, const char *node, const char *key, struct buf *out);

/*
 * One of droverfs's JSON documents (IPC_STATUS, IPC_GET_MEMBERS,
 * IPC_GET_VMLIST) into out, NUL-terminated. Returns 0 or -errno.
 */
int cfs_get_json(struct ipc_client *c, uint16_t type, struct buf *out);

/* A file of the tree (path relative to its root) into out, NUL-terminated. -ENOENT if missing. */
int cfs_read_file(struct ipc_client *c, const char *path, struct buf *out);

/* One file of a batch read: its status (0 or -errno) and, with 0, its content. */
struct cfs_file {
	int status;
	struct buf data; /* NUL-terminated when status is 0 */
};

/*
 * Read n files (paths relative to the tree's root) in as few round trips
 * as the protocol's frame size allows (one for guest configs): files[i]
 * gets paths[i]'s status and content (-ENOENT: missing). Free each with
 * buf_free(&files[i].data). Returns 0, or -errno when the exchange itself
 * failed.
 */
int cfs_read_files(struct ipc_client *c, const char *const *paths, size_t n,
		   struct cfs_file *files);
