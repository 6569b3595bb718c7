/* SPDX-License-Identifier: MIT */
#include "kv.h"

#include <errno.h>
#include <string.h>
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

int cfs_ipc_connect(struct ipc_client *c, const char *socket, unsigned timeout_ms)
{
	int r = ipc_client_connect(c, socket);

	if (r == 0)
		r = cfs_ipc_set_timeout(c, timeout_ms);
	if (r < 0)
		ipc_client_close(c);
	return r;
}

int cfs_ipc_open(struct ipc_client *c, const char *socket, unsigned timeout_ms,
		 struct drover_err *err)
{
	int r = cfs_ipc_connect(c, socket, timeout_ms);

	if (r < 0)
		return drover_fail(err, r, "droverfs does not answer on %s: %s",
				   socket ? socket : ipc_client_default_path(), strerror(-r));
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

/* The files from first on that fit one request: their replies into files; *done: how many. */
static int read_batch(struct ipc_client *c, const char *const *paths, size_t n,
		      struct cfs_file *files, size_t *done)
{
	struct buf req = BUF_INIT, out = BUF_INIT;
	struct wire_writer w;
	struct wire_reader rd;
	size_t count = n < IPC_READ_FILES_MAX ? n : IPC_READ_FILES_MAX;
	int r;

	/* the request, too, must fit a frame: a path is at most 64 KiB */
	for (size_t i = 0, bytes = 0; i < count; i++) {
		bytes += strlen(paths[i]) + 2;
		if (bytes > IPC_MAX_FRAME / 2) {
			count = i;
			break;
		}
	}
	wire_writer_init(&w, &req);
	wire_put_u32(&w, (uint32_t)count);
	for (size_t i = 0; i < count; i++)
		wire_put_str(&w, paths[i]);
	r = w.error ? w.error : call(c, IPC_READ_FILES, &req, &out);
	buf_free(&req);
	wire_reader_init(&rd, out.data, out.len);
	for (size_t i = 0; i < count && r == 0; i++) {
		int status = (int32_t)wire_get_u32(&rd);
		size_t len = 0;
		const void *data = wire_get_blob(&rd, &len);

		if (rd.error) {
			r = -EPROTO;
			break;
		}
		files[i].status = status;
		buf_clear(&files[i].data);
		if (status == 0 && (r = buf_append(&files[i].data, data, len)) == 0)
			r = buf_terminate(&files[i].data);
	}
	buf_free(&out);
	*done = count;
	/*
	 * The server answers -E2BIG from the first file that no longer fits the
	 * reply on: those go in the next batch; a first one that fits no batch
	 * (a file of megabytes) comes on its own.
	 */
	for (size_t i = 0; i < count && r == 0; i++) {
		if (files[i].status != -E2BIG)
			continue;
		if (i == 0) {
			files[0].status = cfs_read_file(c, paths[0], &files[0].data);
			i = 1;
		}
		*done = i;
		break;
	}
	return r;
}

int cfs_read_files(struct ipc_client *c, const char *const *paths, size_t n, struct cfs_file *files)
{
	size_t i = 0;
	int r = 0;

	for (size_t k = 0; k < n; k++)
		files[k] = (struct cfs_file){ -ENOENT, BUF_INIT };
	while (i < n && r == 0) {
		size_t done = 0;

		r = read_batch(c, paths + i, n - i, files + i, &done);
		i += done;
	}
	return r;
}
