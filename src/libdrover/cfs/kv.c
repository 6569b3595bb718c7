/* SPDX-License-Identifier: MIT */
#include "kv.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "basic/wire.h"

int cfs_ipc_set_timeout(struct ipc_client *c, unsigned ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (long)(ms % 1000) * 1000 };

	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

/* One request whose payload w wrote; the reply's payload into out (may be NULL). */
static int call(struct ipc_client *c, uint16_t type, const struct buf *req, struct buf *out)
{
	struct buf reply = BUF_INIT;
	int32_t status = 0;
	int r = ipc_client_call(c, type, req ? req->data : NULL, req ? req->len : 0, &status,
				&reply);

	/* a timed-out read leaves the stream in the middle of a frame: the caller reconnects */
	if (r == -EAGAIN)
		r = -ETIMEDOUT;
	if (r == 0)
		r = status;
	if (r == 0 && out) {
		buf_clear(out);
		r = buf_append(out, reply.data, reply.len);
		if (r == 0)
			r = buf_terminate(out);
	}
	buf_free(&reply);
	return r;
}

int cfs_kv_set(struct ipc_client *c, const char *key, const void *data, size_t len)
{
	struct buf req = BUF_INIT;
	struct wire_writer w;
	int r;

	wire_writer_init(&w, &req);
	wire_put_str(&w, key);
	wire_put_blob(&w, data, len);
	r = w.error ? w.error : call(c, IPC_KV_SET, &req, NULL);
	buf_free(&req);
	return r;
}

int cfs_kv_get(struct ipc_client *c, const char *node, const char *key, struct buf *out)
{
	struct buf req = BUF_INIT;
	struct wire_writer w;
	int r;

	wire_writer_init(&w, &req);
	wire_put_str(&w, node ? node : "");
	wire_put_str(&w, key);
	r = w.error ? w.error : call(c, IPC_KV_GET, &req, out);
	buf_free(&req);
	return r;
}

int cfs_get_json(struct ipc_client *c, uint16_t type, struct buf *out)
{
	return call(c, type, NULL, out);
}

int cfs_read_file(struct ipc_client *c, const char *path, struct buf *out)
{
	struct buf req = BUF_INIT;
	struct wire_writer w;
	int r;

	wire_writer_init(&w, &req);
	wire_put_str(&w, path);
	r = w.error ? w.error : call(c, IPC_READ_FILE, &req, out);
	buf_free(&req);
	return r;
}
