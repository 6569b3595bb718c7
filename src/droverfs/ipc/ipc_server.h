/* SPDX-License-Identifier: MIT */
/*
 * The IPC socket of droverfs (protocol: lib/ipc_proto.h). Who may connect
 * is decided by the peer's credentials at accept time: root reads and
 * writes, the read-only group reads (nothing private), anyone else is
 * turned away. The socket file itself is 0660 root:<group>.
 */
#pragma once

#include "droverfs/shell/context.h"
#include "droverfs/core/state.h"

int cfs_ipc_server_start(struct cfs_daemon *d, const char *path, struct cfs_ipc_server **out);
void cfs_ipc_server_stop(struct cfs_ipc_server *s);

/* Does `path` lie at or below watch prefix `prefix` ("" watches everything)? */
bool cfs_watch_matches(const char *prefix, const char *path);
