/* SPDX-License-Identifier: MIT */
/*
 * A small QMP client (QEMU's JSON monitor): connect, negotiate
 * capabilities, execute commands, collect events. Every call takes a
 * timeout in milliseconds and never blocks past it. Commands carry an id;
 * a reply that comes after its command timed out is recognised by its id
 * and dropped, so the connection stays usable. Events that arrive while a
 * command waits are queued (at most QMP_EVENT_QUEUE; the oldest are
 * dropped beyond that) for qmp_wait_event().
 *
 * JSON values are json-c objects: arguments are borrowed, results are the
 * caller's to json_object_put().
 */
#pragma once

#include <stddef.h>

#include <json-c/json.h>

#include "libdrover/error.h"

#define QMP_EVENT_QUEUE 1024

struct qmp;

/*
 * Connect to the QMP socket at path, read the greeting and leave
 * capability negotiation mode. -ENOENT / -ECONNREFUSED when QEMU does not
 * listen (yet), -ETIMEDOUT, -EPROTO for a peer that does not speak QMP.
 */
int qmp_connect(const char *path, int timeout_ms, struct qmp **out, struct drover_err *err);
void qmp_close(struct qmp *q);

/* QEMU's version from the greeting: "7.2.22". */
const char *qmp_version(const struct qmp *q);

/* The socket, for an event loop that wants to know when events arrive. */
int qmp_fd(const struct qmp *q);

/*
 * Execute cmd with args (NULL: none). ret (may be NULL) gets the "return"
 * value. An error reply is -EREMOTEIO with "CLASS: description" in err;
 * -ETIMEDOUT when no reply came in time; -ECONNRESET when QEMU went away.
 */
int qmp_execute(struct qmp *q, const char *cmd, struct json_object *args, int timeout_ms,
		struct json_object **ret, struct drover_err *err);

/*
 * Wait for an event called name (NULL: any), queued ones first; earlier
 * events of other names stay queued. *ev gets the whole event (event,
 * data, timestamp). -ETIMEDOUT.
 */
int qmp_wait_event(struct qmp *q, const char *name, int timeout_ms, struct json_object **ev,
		   struct drover_err *err);

/* How many events were dropped because the queue was full. */
size_t qmp_events_dropped(const struct qmp *q);

/* query-status: the run state ("running", "paused", "shutdown", "postmigrate" ...). */
int qmp_query_status(struct qmp *q, int timeout_ms, char *status, size_t len,
		     struct drover_err *err);
