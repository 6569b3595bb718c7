/* SPDX-License-Identifier: MIT */
#include "requests.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "basic/wire.h"

static int connect_cfs(struct ipc_client *c, const char *socket, struct drover_err *err)
{
	int r = ipc_client_connect(c, socket);

	return r < 0 ? ipc_client_unreachable(err, socket, r) : 0;
}

int cfs_request(const char *socket, uint16_t type, const struct buf *req, struct buf *reply,
		struct drover_err *err)
{
	struct ipc_client c;
	int32_t status = 0;
	int r = connect_cfs(&c, socket, err);

	if (r < 0)
		return r;
	r = ipc_client_call(&c, type, req ? req->data : NULL, req ? req->len : 0, &status, reply);
	ipc_client_close(&c);
	if (r < 0)
		return drover_fail(
			err, r, "droverfs did not answer: %s%s", strerror(-r),
			r == -ECONNRESET ? " (only root and the read-only group may connect)" : "");
	if (status < 0)
		return drover_fail(err, status, "%s: %s", ipc_type_name(type), strerror(-status));
	if (buf_append(reply, "", 1) < 0)
		return drover_fail(err, -ENOMEM, "out of memory");
	reply->len--; /* terminated, not longer */
	return 0;
}

int cfs_log_read(const char *socket, uint32_t max, const char *user, struct buf *reply,
		 struct drover_err *err)
{
	struct buf req = BUF_INIT;
	struct wire_writer w;
	int r;

	wire_writer_init(&w, &req);
	wire_put_u32(&w, max);
	wire_put_str(&w, user ? user : "");
	r = cfs_request(socket, IPC_LOG_READ, &req, reply, err);
	buf_free(&req);
	return r;
}

void cfs_event_free(struct cfs_event *ev)
{
	free(ev->path);
	free(ev->old);
	ev->path = ev->old = NULL;
}

const char *cfs_event_kind_name(uint8_t kind)
{
	static const char *const names[] = { "?",      "create", "mkdir",  "write", "truncate",
					     "unlink", "rmdir",	 "rename", "mtime", "unlock" };

	return kind < ARRAY_SIZE(names) ? names[kind] : "?";
}

int cfs_watch_open(struct cfs_watch *w, const char *socket, const char *path,
		   struct drover_err *err)
{
	struct buf req = BUF_INIT;
	struct wire_writer wr;
	int32_t status = 0;
	int r;

	w->payload = (struct buf)BUF_INIT;
	r = connect_cfs(&w->c, socket, err);
	if (r < 0)
		return r;
	wire_writer_init(&wr, &req);
	wire_put_str(&wr, path ? path : "");
	r = ipc_client_call(&w->c, IPC_WATCH, req.data, req.len, &status, &w->payload);
	buf_free(&req);
	if (r == 0 && status != 0)
		r = drover_fail(err, status, "watch: %s", strerror(-status));
	else if (r == -ECONNRESET)
		drover_fail(err, r, "droverfs went away");
	if (r < 0)
		cfs_watch_close(w);
	return r;
}

static int decode_event(const struct buf *payload, struct cfs_event *ev)
{
	struct wire_reader r;

	wire_reader_init(&r, payload->data, payload->len);
	ev->version = wire_get_u64(&r);
	ev->kind = wire_get_u8(&r);
	ev->type = wire_get_u8(&r);
	ev->path = wire_get_str(&r);
	ev->old = ev->path ? wire_get_str(&r) : NULL;
	if (!ev->old) {
		cfs_event_free(ev);
		return -EBADMSG;
	}
	return 0;
}

int cfs_watch_next(struct cfs_watch *w, struct cfs_event *ev, struct drover_err *err)
{
	struct ipc_header h;
	int r;

	memset(ev, 0, sizeof(*ev));
	for (;;) {
		r = ipc_client_next(&w->c, &h, &w->payload);
		if (r == -ECONNRESET)
			return drover_fail(err, r, "droverfs went away");
		if (r < 0)
			return r;
		if (h.type == IPC_EVENT_OVERFLOW)
			return drover_fail(err, -ENOBUFS,
					   "fell behind the changes; some were not shown");
		if (h.type != IPC_EVENT)
			continue;
		if (decode_event(&w->payload, ev) < 0)
			return drover_fail(err, -EBADMSG, "malformed event from droverfs");
		return 0;
	}
}

void cfs_watch_close(struct cfs_watch *w)
{
	buf_free(&w->payload);
	ipc_client_close(&w->c);
}
