/* SPDX-License-Identifier: MIT */
/*
 * The replication state as JSON, in pvesr's layout:
 *
 *   {"100":{"local/node2":{"last_iteration":1717410600,"last_try":1717410600,
 *     "last_sync":1717410600,"fail_count":0,"duration":4.127,
 *     "last_node":"node1","storeid_list":["local-btrfs"]}}}
 *
 * plus "error" after a failure, "pid"/"ptime" while running, and drover's
 * "bytes". Reading trusts nothing: wrong types, bad IDs and names, numbers
 * out of range are errors that say where; unknown keys are ignored.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "libdrover/error.h"
#include "libdrover/replication/state.h"

/*
 * Parse the whole state file's text into s (empty on entry; left empty on
 * error). Returns 0 or -EINVAL with err naming the place.
 */
int repl_state_from_json(const char *text, size_t len, struct repl_state *s,
			 struct drover_err *err);

/* Compact JSON of all of s, NUL-terminated, into *out (free() it). 0 or -ENOMEM. */
int repl_state_to_json(const struct repl_state *s, char **out);

/*
 * One guest's states as pvesr's set-state passes them between nodes:
 * {"local/TARGET":{...},...}. Parse adds them to s (replacing that guest's
 * states only when the whole text parses).
 */
int repl_state_guest_from_json(const char *text, size_t len, uint32_t guest, struct repl_state *s,
			       struct drover_err *err);
int repl_state_guest_to_json(const struct repl_state *s, uint32_t guest, char **out);
