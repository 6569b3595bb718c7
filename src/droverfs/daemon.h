/* SPDX-License-Identifier: MIT */
/*
 * droverfs, the daemon: opens the state, starts the parts (the corosync
 * adapter in cluster mode, FUSE, IPC) on one event loop, runs it until
 * SIGTERM, and stops them again. The context they share is context.h.
 */
#pragma once

#include "droverfs/shell/context.h"

int cfs_daemon_run(struct cfs_daemon *d);
