/* SPDX-License-Identifier: MIT */
/*
 * The droverfs requests of `drover cfs` (and later the API): the status
 * JSON, the cluster log, a flush, and a watch on a path's changes, over
 * the IPC socket (NULL: the default). Errors come back in err, in the
 * words `drover cfs` prints.
 */
#pragma once

#include <stdint.h>

#include "basic/buf.h"
#include "libdrover/error.h"
#include "ipc_client.h"

/*
 * One request of type with payload req (NULL: none): reply gets the
 * answer, NUL-terminated. Returns 0, or -errno with err saying why
 * (unreachable, no answer, or the server's refusal).
 */
int cfs_request(const char *socket, uint16_t type, const struct buf *req, struct buf *reply,
		struct drover_err *err);

/* The cluster log's newest max entries (user "": anyone's) as JSON into reply. */
int cfs_log_read(const char *socket, uint32_t max, const char *user, struct buf *reply,
		 struct drover_err *err);

/* One change droverfs reports to a watch. */
struct cfs_event {
	uint64_t version;
	uint8_t kind; /* CFS_EVENT_CREATE ... (ipc_proto.h's op kinds) */
	uint8_t type; /* 1: a directory, else a file */
	char *path, *old; /* old: a rename's old path, else "" */
};

void cfs_event_free(struct cfs_event *ev);

/* The name of an event's kind ("create", "write", ...), "?" for an unknown one. */
const char *cfs_event_kind_name(uint8_t kind);

struct cfs_watch {
	struct ipc_client c;
	struct buf payload;
};

/*
 * Watch the changes below path ("" or NULL: everything). Returns 0, or
 * -errno with err saying why (err is left empty when the connection broke
 * during the request).
 */
int cfs_watch_open(struct cfs_watch *w, const char *socket, const char *path,
		   struct drover_err *err);

/*
 * The next change, waited for (free it with cfs_event_free). -ENOBUFS: the
 * watch fell behind and droverfs closed it; -ECONNRESET: droverfs went
 * away; -EBADMSG: a malformed event; others with err empty.
 */
int cfs_watch_next(struct cfs_watch *w, struct cfs_event *ev, struct drover_err *err);
void cfs_watch_close(struct cfs_watch *w);
