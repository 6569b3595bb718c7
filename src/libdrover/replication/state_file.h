/* SPDX-License-Identifier: MIT */
/*
 * The replication state file of a node (pvesr:
 * /var/lib/pve-manager/pve-replication-state.json). Readers take no lock:
 * the file is replaced whole (a temporary file, fsync, rename), so a reader
 * sees the old state or the new one. Writers must be serialized by the
 * caller (droverd keeps the state and writes it from one place).
 */
#pragma once

#include "libdrover/error.h"
#include "libdrover/replication/state.h"

#define REPL_STATE_FILE_MAX (1024 * 1024) /* pvesr reads at most 1 MiB too */

/*
 * Read path into s (empty on entry). A missing file is an empty state.
 * Returns 0, -EFBIG, -EINVAL (with the place) or -errno; s stays empty on
 * error.
 */
int repl_state_load(const char *path, struct repl_state *s, struct drover_err *err);

/* Replace path with s. Returns 0 or -errno (-EFBIG if it would not be read back). */
int repl_state_save(const char *path, const struct repl_state *s, struct drover_err *err);
