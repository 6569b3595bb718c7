/* SPDX-License-Identifier: MIT */
#include "jsonchan.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "basic/util.h"

uint64_t jchan_deadline(int timeout_ms)
{
	return now_monotonic_ns() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000ull;
}

/* Milliseconds left until deadline (0 when past it), for poll(). */
static int ms_left(uint64_t deadline)
{
	uint64_t now = now_monotonic_ns();

	if (now >= deadline)
		return 0;
	return (int)MIN((deadline - now + 999999) / 1000000, (uint64_t)INT32_MAX);
}

/* Wait until fd is ready for events; -ETIMEDOUT at the deadline. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, ms_left(deadline));

		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

int jchan_connect(struct jchan *c, const char *path, uint64_t deadline, struct drover_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return drover_fail(err, -ENAMETOOLONG, "%s: path too long for a socket", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return drover_fail(err, -errno, "socket: %m");
	/* A full listen queue gives EAGAIN on a non-blocking UNIX socket: retry until the deadline. */
	while ((r = connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) < 0 && errno == EAGAIN &&
	       now_monotonic_ns() < deadline)
		usleep(10000);
	if (r < 0) {
		r = errno == EAGAIN ? -ETIMEDOUT : -errno;
		jchan_close(c);
		return drover_fail(err, r, "connect %s: %s", path, strerror(-r));
	}
	return 0;
}

void jchan_close(struct jchan *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	buf_free(&c->in);
}

int jchan_send(struct jchan *c, const void *data, size_t len, uint64_t deadline,
	       struct drover_err *err)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		int r;

		if (n >= 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return drover_fail(err, errno == EPIPE ? -ECONNRESET : -errno,
					   "send to %s: %m", c->path);
		r = wait_fd(c->fd, POLLOUT, deadline);
		if (r < 0)
			return drover_fail(err, r, "send to %s: %s", c->path, strerror(-r));
	}
	return 0;
}

int jchan_send_json(struct jchan *c, struct json_object *o, uint64_t deadline,
		    struct drover_err *err)
{
	size_t len;
	const char *text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	int r;

	if (!text)
		return drover_fail(err, -ENOMEM, "out of memory");
	r = jchan_send(c, text, len, deadline, err);
	return r < 0 ? r : jchan_send(c, "\n", 1, deadline, err);
}

/* Parse one line (0xFF bytes and blanks around it dropped); NULL for an empty one. */
static int parse_line(struct jchan *c, char *line, size_t len, struct json_object **out,
		      struct drover_err *err)
{
	enum json_tokener_error jerr = json_tokener_success;
	struct json_object *o;

	while (len > 0 && ((unsigned char)*line == 0xff || *line == ' ' || *line == '\r')) {
		line++;
		len--;
	}
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	*out = NULL;
	if (len == 0)
		return 0;
	line[len] = '\0';
	o = json_tokener_parse_verbose(line, &jerr);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return drover_fail(err, -EBADMSG, "%s: not a JSON object: %.80s", c->path, line);
	}
	*out = o;
	return 0;
}

/* Take the first complete line out of c->in; 1 when there was one. */
static int take_line(struct jchan *c, struct json_object **out, struct drover_err *err)
{
	unsigned char *nl = c->in.len ? memchr(c->in.data, '\n', c->in.len) : NULL;
	size_t n;
	int r;

	if (!nl)
		return 0;
	n = (size_t)(nl - c->in.data);
	r = parse_line(c, (char *)c->in.data, n, out, err);
	buf_consume(&c->in, n + 1);
	return r < 0 ? r : 1;
}

static int read_more(struct jchan *c, uint64_t deadline, struct drover_err *err)
{
	for (;;) {
		ssize_t n;
		int r;

		if (buf_reserve(&c->in, 65536) < 0)
			return drover_fail(err, -ENOMEM, "out of memory");
		n = recv(c->fd, c->in.data + c->in.len, 65536, 0);
		if (n > 0) {
			c->in.len += (size_t)n;
			return 0;
		}
		if (n == 0)
			return drover_fail(err, -ECONNRESET, "%s: QEMU closed the connection",
					   c->path);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return drover_fail(err, -errno, "recv from %s: %m", c->path);
		r = wait_fd(c->fd, POLLIN, deadline);
		if (r == -ETIMEDOUT)
			return drover_fail(err, r, "%s: no answer in time", c->path);
		if (r < 0)
			return drover_fail(err, r, "poll %s: %s", c->path, strerror(-r));
	}
}

int jchan_recv(struct jchan *c, uint64_t deadline, struct json_object **out, struct drover_err *err)
{
	for (;;) {
		int r = take_line(c, out, err);

		if (r < 0)
			return r;
		if (r > 0 && *out)
			return 0;
		if (r > 0)
			continue; /* an empty line */
		if (c->in.len > JCHAN_MAX_MESSAGE)
			return drover_fail(err, -EMSGSIZE, "%s: message longer than %u bytes",
					   c->path, JCHAN_MAX_MESSAGE);
		r = read_more(c, deadline, err);
		if (r < 0)
			return r;
	}
}
