/* SPDX-License-Identifier: MIT */
/*
 * A client of the QEMU guest agent (qemu-ga inside the guest), through the
 * socket QEMU serves for the VM's org.qemu.guest_agent.0 port. The agent
 * has no greeting and may hold half a message from an earlier client, so
 * every session starts with a resynchronisation (0xFF, then
 * guest-sync-delimited with a random number, discarding everything up to
 * its echo); after a command timed out the next one resyncs again.
 *
 * The socket accepts a connection even when no agent runs in the guest:
 * then calls time out (-ETIMEDOUT), they never hang.
 */
#pragma once

#include <stddef.h>

#include <json-c/json.h>

#include "libdrover/error.h"

struct qga;

/* Connect and resynchronise; *out NULL on failure. -ENOENT/-ECONNREFUSED (no VM), -ETIMEDOUT (no agent). */
int qga_connect(const char *path, int timeout_ms, struct qga **out, struct drover_err *err);
void qga_close(struct qga *g);

/*
 * Execute cmd with args (NULL: none); ret (may be NULL) gets the "return"
 * value. An error reply is -EREMOTEIO ("CLASS: description").
 */
int qga_execute(struct qga *g, const char *cmd, struct json_object *args, int timeout_ms,
		struct json_object **ret, struct drover_err *err);

int qga_ping(struct qga *g, int timeout_ms, struct drover_err *err);

/* Freeze or thaw the guest's file systems; *count: how many (may be NULL). */
int qga_fsfreeze_freeze(struct qga *g, int timeout_ms, int *count, struct drover_err *err);
int qga_fsfreeze_thaw(struct qga *g, int timeout_ms, int *count, struct drover_err *err);

/* "thawed" or "frozen". */
int qga_fsfreeze_status(struct qga *g, int timeout_ms, char *status, size_t len,
			struct drover_err *err);

/* guest-get-osinfo: id, name, version, kernel-release, machine... (*info is the caller's). */
int qga_get_osinfo(struct qga *g, int timeout_ms, struct json_object **info,
		   struct drover_err *err);
