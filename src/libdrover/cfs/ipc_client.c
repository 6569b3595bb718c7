/* SPDX-License-Identifier: MIT */
#include "ipc_client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "basic/unix_socket.h"
#include "basic/util.h"

const char *ipc_client_default_path(void)
{
	const char *env = getenv("DROVER_CFS_SOCKET");

	return env && *env ? env : CFS_SOCKET_DEFAULT;
}

int ipc_client_connect(struct ipc_client *c, const char *path)
{
	int fd;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	fd = unix_connect(path ? path : ipc_client_default_path());
	if (fd < 0)
		return fd;
	c->fd = fd;
	return 0;
}

void ipc_client_close(struct ipc_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	buf_free(&c->in);
}

int ipc_client_next(struct ipc_client *c, struct ipc_header *h, struct buf *payload)
{
	for (;;) {
		int r = ipc_frame_peek(c->in.data, c->in.len, h);
		ssize_t n;

		if (r < 0)
			return r;
		if (r == 1) {
			buf_clear(payload);
			r = buf_append(payload, c->in.data + IPC_HEADER_SIZE,
				       h->length - IPC_HEADER_SIZE);
			buf_consume(&c->in, h->length);
			return r;
		}
		r = buf_reserve(&c->in, 65536);
		if (r < 0)
			return r;
		n = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		c->in.len += (size_t)n;
	}
}

int ipc_client_call(struct ipc_client *c, uint16_t type, const void *payload, size_t len,
		    int32_t *status, struct buf *reply)
{
	struct buf out = BUF_INIT;
	struct ipc_header h;
	uint32_t seq = ++c->seq;
	int err = 0;
	size_t start = ipc_frame_begin(&out, type, seq, 0, &err);
	int r;

	if (!err)
		err = buf_append(&out, payload, len);
	if (err) {
		buf_free(&out);
		return err;
	}
	ipc_frame_end(&out, start);
	r = write_all(c->fd, out.data, out.len);
	buf_free(&out);
	if (r < 0)
		return r;
	do {
		r = ipc_client_next(c, &h, reply);
	} while (r == 0 && (h.type == IPC_EVENT || h.seq != seq));
	if (r == 0)
		*status = h.status;
	return r;
}

int ipc_client_unreachable(struct drover_err *err, const char *socket, int r)
{
	return drover_fail(err, r, "cannot reach droverfs at %s: %s%s",
			   socket ? socket : ipc_client_default_path(), strerror(-r),
			   r == -ENOENT || r == -ECONNREFUSED ? " (is droverfs running?)"
			   : r == -ECONNRESET || r == -EPIPE
				   ? " (only root and the read-only group may connect)"
				   : "");
}
