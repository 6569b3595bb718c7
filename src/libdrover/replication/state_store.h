/* SPDX-License-Identifier: MIT */
/*
 * The node's replication state file, changed by several processes (the
 * scheduler's runs, `drover replication run`, the target's set-state):
 * every change is read-modify-write under an flock of PATH.lck (10 s, as
 * pvesr), the file replaced atomically (state_file.h), so readers never lock.
 */
#pragma once

#include "libdrover/error.h"
#include "state.h"

#define REPL_STATE_PATH_DEFAULT "/var/lib/drover/replication-state.json"
#define REPL_LOG_DIR_DEFAULT "/var/log/drover/replicate"

/* path NULL: the default (or $DROVER_REPL_STATE, for tests on one host). */
const char *repl_state_path(const char *path);

/* Read without a lock. */
int repl_state_read(const char *path, struct repl_state *s, struct drover_err *err);

/* Lock, read, edit(s, ctx), write if edit returned 0, unlock. */
int repl_state_update(const char *path, int (*edit)(struct repl_state *s, void *ctx), void *ctx,
		      struct drover_err *err);
