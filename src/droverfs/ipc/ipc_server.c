/* SPDX-License-Identifier: MIT */
#include "ipc_server.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "droverfs/core/access.h"
#include "droverfs/core/layout.h"
#include "libdrover/cfs/ipc_proto.h"
#include "basic/log.h"
#include "basic/util.h"
#include "basic/wire.h"
#include "droverfs/shell/status.h"
#include "droverfs/shell/status_json.h"
#include "droverfs/shell/virtual.h"

/* A watcher that falls this far behind is cut off rather than grow without bound. */
#define WATCH_BACKLOG_MAX (8u << 20)

struct ipc_conn {
	struct cfs_ipc_server *srv;
	struct ipc_conn *prev, *next;
	int fd;
	sd_event_source *source;
	bool readonly;
	pid_t pid;
	uid_t uid;
	struct buf in;
	struct buf out;
	char *watch; /* watched prefix, NULL when not watching */
	bool closing; /* close once `out` is written */
};

struct cfs_ipc_server {
	struct cfs_daemon *d;
	int fd;
	sd_event_source *source;
	char *path;
	struct ipc_conn *conns;
	unsigned watchers;
};

bool cfs_watch_matches(const char *prefix, const char *path)
{
	size_t n = strlen(prefix);

	if (n == 0)
		return true;
	return strncmp(prefix, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static void conn_free(struct ipc_conn *c)
{
	struct cfs_ipc_server *s = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->watch)
		s->watchers--;
	sd_event_source_disable_unref(c->source);
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c->watch);
	free(c);
}

/* Write what is queued; wait for EPOLLOUT if the socket is full. */
static void conn_flush(struct ipc_conn *c)
{
	while (c->out.len > 0) {
		ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			conn_free(c);
			return;
		}
		buf_consume(&c->out, (size_t)n);
	}
	if (c->out.len == 0 && c->closing) {
		conn_free(c);
		return;
	}
	sd_event_source_set_io_events(c->source, c->out.len ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

static void reply(struct ipc_conn *c, const struct ipc_header *req, int status, const void *data,
		  size_t len)
{
	int err = 0;
	size_t start = ipc_frame_begin(&c->out, req->type, req->seq, status, &err);

	if (!err)
		err = buf_append(&c->out, data, len);
	if (err) {
		c->closing = true;
		return;
	}
	ipc_frame_end(&c->out, start);
}

static void reply_string(struct ipc_conn *c, const struct ipc_header *req, char *s)
{
	if (!s)
		reply(c, req, -ENOMEM, NULL, 0);
	else
		reply(c, req, 0, s, strlen(s));
	free(s);
}

/*
 * Look up one file for a reader: 0 and its bytes (*data, *len; *owned is
 * set when they were made for this call and must be freed) or -errno.
 */
static int lookup_file(struct ipc_conn *c, const char *path, const void **data, size_t *len,
		       char **owned)
{
	struct cfs_daemon *d = c->srv->d;
	struct cfs_entry *e;
	int id;

	*owned = NULL;
	while (*path == '/')
		path++;
	id = strchr(path, '/') ? -1 : cfs_virtual_lookup(path);
	if (id >= 0 && !cfs_virtual_is_symlink(id)) {
		*owned = cfs_virtual_content(d, id);
		if (!*owned)
			return -ENOMEM;
		*data = *owned;
		*len = strlen(*owned);
		return 0;
	}
	e = cfs_tree_resolve(&cfs_daemon_state(d)->tree, path);
	if (!e)
		return -ENOENT;
	if (e->type != CFS_FILE)
		return -EISDIR;
	if (c->readonly && layout_is_private(e))
		return -EACCES;
	*data = e->data ? e->data->data : NULL;
	*len = cfs_blob_size(e->data);
	return 0;
}

static void handle_read_file(struct ipc_conn *c, const struct ipc_header *h, struct wire_reader *r)
{
	char *path = wire_get_str(r), *owned = NULL;
	const void *data = NULL;
	size_t len = 0;
	int status = path ? lookup_file(c, path, &data, &len, &owned) : r->error;

	reply(c, h, status, status == 0 ? data : NULL, status == 0 ? len : 0);
	free(owned);
	free(path);
}

/*
 * Many files in one round trip (`drover vm list` reads every guest config
 * of the cluster): u32 count, then count paths; the reply holds for each,
 * in order, its i32 status and its content as a blob (empty unless the
 * status is 0). Files that would take the reply past the frame limit get
 * -E2BIG, for the client to read on their own; so do all after the first
 * such, unread: the room for every entry's 8 header bytes is kept first, so
 * no count of statuses can push the reply past the limit, and a request of
 * many large (virtual) files costs no more than one full reply.
 */
static void handle_read_files(struct ipc_conn *c, const struct ipc_header *h, struct wire_reader *r)
{
	const size_t entry_header = 2 * sizeof(uint32_t); /* status, blob length */
	const size_t room = IPC_MAX_FRAME - IPC_HEADER_SIZE;
	uint32_t n = wire_get_u32(r);
	struct buf out = BUF_INIT;
	struct wire_writer w;
	bool full = false;

	if (r->error || n > IPC_READ_FILES_MAX) {
		reply(c, h, r->error ? r->error : -E2BIG, NULL, 0);
		return;
	}
	wire_writer_init(&w, &out);
	for (uint32_t i = 0; i < n && !w.error; i++) {
		char *path = wire_get_str(r), *owned = NULL;
		size_t after = (size_t)(n - i) * entry_header; /* this entry and the rest */
		const void *data = NULL;
		size_t len = 0;
		int status;

		if (!path) {
			w.error = r->error ? r->error : -EBADMSG;
			break;
		}
		status = full ? -E2BIG : lookup_file(c, path, &data, &len, &owned);
		free(path);
		if (status == 0 && out.len + after + len > room) {
			status = -E2BIG;
			full = true;
		}
		wire_put_u32(&w, (uint32_t)status);
		wire_put_blob(&w, status == 0 ? data : NULL, status == 0 ? len : 0);
		free(owned);
	}
	reply(c, h, w.error, w.error ? NULL : out.data, w.error ? 0 : out.len);
	buf_free(&out);
}

static void handle_kv(struct ipc_conn *c, const struct ipc_header *h, struct wire_reader *r)
{
	struct cfs_daemon *d = c->srv->d;
	char *node = NULL, *key = NULL;
	const void *value = NULL;
	size_t len = 0;
	int status;

	if (h->type == IPC_KV_GET)
		node = wire_get_str(r);
	key = wire_get_str(r);
	if (h->type == IPC_KV_SET)
		value = wire_get_blob(r, &len);
	if (r->error || !key || (h->type == IPC_KV_GET && !node)) {
		status = r->error ? r->error : -EBADMSG;
	} else if (h->type == IPC_KV_SET) {
		status = c->readonly ? -EPERM
				     : cfs_kvstore_set(&d->kv, d->opt.nodename, key, value, len);
		if (status == 0)
			cfs_daemon_share_kv(d, key, value, len);
	} else {
		const struct cfs_kv_value *v =
			cfs_kvstore_get(&d->kv, *node ? node : d->opt.nodename, key);

		if (v) {
			reply(c, h, 0, v->data, v->size);
			goto out;
		}
		status = -ENOENT;
	}
	reply(c, h, status, NULL, 0);
out:
	free(node);
	free(key);
}

static void handle_log_append(struct ipc_conn *c, const struct ipc_header *h, struct wire_reader *r)
{
	struct cfs_daemon *d = c->srv->d;
	uint8_t pri = wire_get_u8(r);
	char *ident = wire_get_str(r);
	char *tag = ident ? wire_get_str(r) : NULL;
	char *msg = tag ? wire_get_str(r) : NULL;
	int status;

	if (!msg)
		status = r->error ? r->error : -EBADMSG;
	else if (c->readonly)
		status = -EPERM;
	else
		status = cfs_clusterlog_append(&d->clog, d->opt.nodename, ident, tag,
					       (uint32_t)c->pid, pri, now_wall_s(), msg);
	if (status == 0)
		cfs_daemon_share_log(d, cfs_clusterlog_newest(&d->clog, 0));
	reply(c, h, status, NULL, 0);
	free(ident);
	free(tag);
	free(msg);
}

static void handle_watch(struct ipc_conn *c, const struct ipc_header *h, struct wire_reader *r)
{
	char *prefix = wire_get_str(r);
	char *p;
	size_t len;

	if (!prefix) {
		reply(c, h, r->error, NULL, 0);
		return;
	}
	p = prefix;
	while (*p == '/')
		p++;
	len = strlen(p);
	while (len > 0 && p[len - 1] == '/')
		p[--len] = '\0';
	memmove(prefix, p, len + 1);
	if (!c->watch)
		c->srv->watchers++;
	free(c->watch);
	c->watch = prefix;
	reply(c, h, 0, NULL, 0);
}

static void handle_request(struct ipc_conn *c, const struct ipc_header *h, const void *payload,
			   size_t len)
{
	struct cfs_daemon *d = c->srv->d;
	struct wire_reader r;

	wire_reader_init(&r, payload, len);
	switch (h->type) {
	case IPC_STATUS:
		reply_string(c, h, cfs_json_status(d));
		break;
	case IPC_GET_VERSION:
		reply_string(c, h, cfs_json_version(d));
		break;
	case IPC_GET_MEMBERS:
		reply_string(c, h, cfs_json_members(d));
		break;
	case IPC_GET_VMLIST:
		reply_string(c, h, cfs_json_vmlist(d));
		break;
	case IPC_READ_FILE:
		handle_read_file(c, h, &r);
		break;
	case IPC_READ_FILES:
		handle_read_files(c, h, &r);
		break;
	case IPC_KV_SET:
	case IPC_KV_GET:
		handle_kv(c, h, &r);
		break;
	case IPC_LOG_APPEND:
		handle_log_append(c, h, &r);
		break;
	case IPC_LOG_READ: {
		uint32_t max = wire_get_u32(&r);
		char *ident = wire_get_str(&r);

		if (!ident)
			reply(c, h, r.error, NULL, 0);
		else
			reply_string(c, h, cfs_json_clusterlog(d, max, ident));
		free(ident);
		break;
	}
	case IPC_WATCH:
		handle_watch(c, h, &r);
		break;
	case IPC_FLUSH:
		reply(c, h, c->readonly ? -EPERM : cfs_persist_flush_all(d->persist), NULL, 0);
		break;
	default:
		reply(c, h, -EOPNOTSUPP, NULL, 0);
	}
}

/* Returns false when the connection was closed. */
static bool conn_read(struct ipc_conn *c)
{
	for (;;) {
		ssize_t n;
		int r = buf_reserve(&c->in, 65536);

		if (r < 0)
			return false;
		n = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return false;
		c->in.len += (size_t)n;
		for (;;) {
			struct ipc_header h;

			r = ipc_frame_peek(c->in.data, c->in.len, &h);
			if (r < 0) {
				log_debug("ipc: malformed frame from pid %d, closing", (int)c->pid);
				return false;
			}
			if (r == 0)
				break;
			handle_request(c, &h, c->in.data + IPC_HEADER_SIZE,
				       h.length - IPC_HEADER_SIZE);
			buf_consume(&c->in, h.length);
		}
	}
}

static int on_conn_event(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct ipc_conn *c = userdata;

	if ((revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->closing && !conn_read(c)) {
		conn_free(c);
		return 0;
	}
	conn_flush(c);
	return 0;
}

static bool in_group(int fd, gid_t gid)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gid)
			return true;
	return false;
}

static void accept_one(struct cfs_ipc_server *s, int cfd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct ipc_conn *c;
	enum cfs_caller caller;
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		close(cfd);
		return;
	}
	caller = cfs_caller_classify(cred.uid, cred.gid, NULL, 0, s->d->gid);
	if (caller == CFS_CALLER_OTHER && in_group(cfd, s->d->gid))
		caller = CFS_CALLER_READER;
	if (caller == CFS_CALLER_OTHER) {
		log_info("ipc: refused pid %d (uid %u, gid %u)", (int)cred.pid, cred.uid, cred.gid);
		close(cfd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(cfd);
		return;
	}
	c->srv = s;
	c->fd = cfd;
	c->pid = cred.pid;
	c->uid = cred.uid;
	c->readonly = caller != CFS_CALLER_ROOT;
	if (sd_event_add_io(s->d->event, &c->source, cfd, EPOLLIN, on_conn_event, c) < 0) {
		close(cfd);
		free(c);
		return;
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	int cfd;

	/* Take every waiting connection: a burst must not overflow the backlog. */
	while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		accept_one(userdata, cfd);
	return 0;
}

/* A socket file left by a killed instance is removed; a live one is not. */
static int clear_stale_socket(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, r = 0;

	if (access(path, F_OK) < 0)
		return 0;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
		r = -EADDRINUSE;
	else if (unlink(path) < 0 && errno != ENOENT)
		r = -errno;
	close(fd);
	return r;
}

static int make_parent_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];

	snprintf(dir, sizeof(dir), "%s", path);
	if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int listen_on(struct cfs_ipc_server *s)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int r;

	if (strlen(s->path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, s->path);
	r = make_parent_dir(s->path);
	if (r == 0)
		r = clear_stale_socket(s->path);
	if (r < 0)
		return r;
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	if (bind(s->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return -errno;
	if (chmod(s->path, 0660) < 0 || chown(s->path, 0, s->d->gid) < 0)
		return -errno;
	if (listen(s->fd, 128) < 0)
		return -errno;
	return sd_event_add_io(s->d->event, &s->source, s->fd, EPOLLIN, on_accept, s);
}

static void ipc_changed(void *part, const struct cfs_change *ch);
static void ipc_status(void *part, struct cfs_status *st);

static const struct cfs_part_ops part_ops = { .changed = ipc_changed, .status = ipc_status };

int cfs_ipc_server_start(struct cfs_daemon *d, const char *path, struct cfs_ipc_server **out)
{
	struct cfs_ipc_server *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->d = d;
	s->fd = -1;
	s->path = strdup(path);
	if (!s->path) {
		free(s);
		return -ENOMEM;
	}
	r = listen_on(s);
	if (r == 0)
		r = cfs_daemon_add_part(d, &part_ops, s);
	if (r < 0) {
		log_err("ipc: cannot listen on %s: %s", path,
			r == -EADDRINUSE ? "another droverfs serves it" : strerror(-r));
		cfs_ipc_server_stop(s);
		return r;
	}
	*out = s;
	return 0;
}

void cfs_ipc_server_stop(struct cfs_ipc_server *s)
{
	if (!s)
		return;
	cfs_daemon_remove_part(s->d, s);
	while (s->conns)
		conn_free(s->conns);
	sd_event_source_disable_unref(s->source);
	if (s->fd >= 0) {
		close(s->fd);
		unlink(s->path);
	}
	free(s->path);
	free(s);
}

static void ipc_status(void *part, struct cfs_status *st)
{
	struct cfs_ipc_server *s = part;

	st->watchers = s->watchers;
}

static void send_event(struct ipc_conn *c, const struct cfs_change *ch)
{
	struct wire_writer w;
	int err = 0;
	size_t start;

	if (c->out.len > WATCH_BACKLOG_MAX) {
		start = ipc_frame_begin(&c->out, IPC_EVENT_OVERFLOW, 0, -ENOBUFS, &err);
		ipc_frame_end(&c->out, start);
		c->closing = true;
		log_warn("ipc: watcher pid %d fell behind; disconnected", (int)c->pid);
		return;
	}
	start = ipc_frame_begin(&c->out, IPC_EVENT, 0, 0, &err);
	wire_writer_init(&w, &c->out);
	wire_put_u64(&w, ch->version);
	wire_put_u8(&w, ch->kind);
	wire_put_u8(&w, ch->type);
	wire_put_str(&w, ch->path);
	wire_put_str(&w, ch->old_path);
	if (err || w.error)
		c->closing = true;
	ipc_frame_end(&c->out, start);
}

/* A committed change: tell the watchers it concerns. */
static void ipc_changed(void *part, const struct cfs_change *ch)
{
	struct cfs_ipc_server *s = part;
	struct ipc_conn *c = s->conns;

	while (c) {
		struct ipc_conn *next = c->next;
		bool match =
			cfs_watch_matches(c->watch ? c->watch : "", ch->path) ||
			(ch->old_path && cfs_watch_matches(c->watch ? c->watch : "", ch->old_path));

		if (c->watch && !c->closing && match &&
		    !(c->readonly && (layout_path_is_private(ch->path) ||
				      (ch->old_path && layout_path_is_private(ch->old_path))))) {
			send_event(c, ch);
			conn_flush(c); /* may free c */
		}
		c = next;
	}
}
