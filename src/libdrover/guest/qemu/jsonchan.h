/* SPDX-License-Identifier: MIT */
/*
 * A JSON message channel over a UNIX stream socket, as QEMU's monitor
 * (QMP) and guest agent speak: one JSON object per line. Every call has a
 * deadline (CLOCK_MONOTONIC, ns); nothing blocks past it. Bytes 0xFF (the
 * agent's resynchronisation marker) between messages are skipped.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "basic/buf.h"
#include "libdrover/error.h"

#define JCHAN_MAX_MESSAGE (16u << 20) /* a line longer than this is refused */

struct jchan {
	int fd;
	struct buf in; /* received, not yet parsed */
	char path[108];
};

/* now + ms, as a deadline. */
uint64_t jchan_deadline(int timeout_ms);

/*
 * Connect to the socket at path. -ENOENT / -ECONNREFUSED when nothing
 * listens (yet), -ETIMEDOUT when the listener's queue stays full.
 */
int jchan_connect(struct jchan *c, const char *path, uint64_t deadline, struct drover_err *err);
void jchan_close(struct jchan *c);

/* Send bytes as they are. */
int jchan_send(struct jchan *c, const void *data, size_t len, uint64_t deadline,
	       struct drover_err *err);

/* Send one object as a line. */
int jchan_send_json(struct jchan *c, struct json_object *o, uint64_t deadline,
		    struct drover_err *err);

/*
 * The next message (*out is the caller's). -ETIMEDOUT, -ECONNRESET (the
 * peer closed), -EBADMSG (a line that is not a JSON object) or
 * -EMSGSIZE.
 */
int jchan_recv(struct jchan *c, uint64_t deadline, struct json_object **out,
	       struct drover_err *err);
