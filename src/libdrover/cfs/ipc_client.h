/* SPDX-License-Identifier: MIT */
/* A blocking client of the droverfs IPC socket, for the CLI and tools. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "basic/buf.h"
#include "libdrover/error.h"
#include "ipc_proto.h"

struct ipc_client {
	int fd;
	uint32_t seq;
	struct buf in;
};

/* Connect to path (NULL: $DROVER_CFS_SOCKET or the default). Returns 0 or -errno. */
int ipc_client_connect(struct ipc_client *c, const char *path);
void ipc_client_close(struct ipc_client *c);

/* The socket path that ipc_client_connect(c, NULL) would use. */
const char *ipc_client_default_path(void);

/*
 * Why droverfs at socket (NULL: the default) cannot be reached, r being
 * what connecting returned: "cannot reach droverfs at PATH: why (hint)".
 * Returns r.
 */
int ipc_client_unreachable(struct drover_err *err, const char *socket, int r);

/*
 * Send a request and wait for its reply. *status gets the server's status
 * (0 or -errno); reply gets the payload. Returns 0 or -errno for transport
 * failures.
 */
int ipc_client_call(struct ipc_client *c, uint16_t type, const void *payload, size_t len,
		    int32_t *status, struct buf *reply);

/* Wait for the next frame (watch events). Returns 0 or -errno (-ECONNRESET at EOF). */
int ipc_client_next(struct ipc_client *c, struct ipc_header *h, struct buf *payload);
