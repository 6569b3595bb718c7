/* SPDX-License-Identifier: MIT */
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "basic/cidr.h"
#include "basic/process.h"
#include "basic/spawnio.h"
#include "basic/util.h"
#include "libdrover/cluster/ssh.h"
#include "libdrover/storage/cmdline.h"

int transport_ssh_options(const struct cfs_brief *b, const char *node, struct cmdline *c,
			  struct drover_err *err)
{
	struct ssh_node_opts o;
	int r = ssh_node_options(b, node, &o, err);

	if (r < 0)
		return r;
	for (char **p = o.argv; *p; p++)
		cmdline_add(c, "%s", *p);
	return 0;
}

int transport_ssh_start(const struct cfs_brief *b, const char *node, const char *addr,
			const char *control, char *const args[], bool with_stdin,
			struct transport_ssh *t, struct drover_err *err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	char drover[4096];
	struct cmdline c;
	pid_t pid;
	int r;

	memset(t, 0, sizeof(*t));
	t->in = t->out = t->errfd = -1;
	ssh_remote_drover(drover, sizeof(drover));
	cmdline_init(&c);
	cmdline_add(&c, "ssh");
	cmdline_add(&c, "-e");
	cmdline_add(&c, "none");
	cmdline_add(&c, "-T");
	r = transport_ssh_options(b, node, &c, err);
	if (r < 0)
		return r;
	if (control) {
		/* the run's master connection (sshmux.h); without it, a connection of our own */
		cmdline_add(&c, "-o");
		cmdline_add(&c, "ControlMaster=no");
		cmdline_add(&c, "-o");
		cmdline_add(&c, "ControlPath=%s", control);
	}
	cmdline_add(&c, "root@%s", addr);
	cmdline_add(&c, "--");
	cmdline_add(&c, "%s", drover);
	for (; *args; args++)
		cmdline_add(&c, "%s", *args);
	if (c.error)
		return drover_fail(err, c.error, "ssh: command line too long");
	if ((with_stdin && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
	    (t->errfd = spawn_errfd()) < 0) {
		int e = errno;

		for (int i = 0; i < 2; i++) {
			if (in[i] >= 0)
				close(in[i]);
			if (out[i] >= 0)
				close(out[i]);
		}
		return drover_fail(err, -e, "pipe: %s", strerror(e));
	}
	if (with_stdin)
		fcntl(in[1], F_SETPIPE_SZ, 1 << 20);
	pid = spawn_fds(c.argv, in[0], out[1], t->errfd);
	if (in[0] >= 0)
		close(in[0]);
	close(out[1]);
	if (pid < 0) {
		if (in[1] >= 0)
			close(in[1]);
		close(out[0]);
		close(t->errfd);
		t->errfd = -1;
		return drover_fail(err, (int)pid, "ssh: %s", strerror((int)-pid));
	}
	t->pid = pid;
	t->in = in[1];
	t->out = out[0];
	return 0;
}

int transport_ssh_line(struct transport_ssh *t, char *line, size_t len, unsigned timeout_ms,
		       struct drover_err *err)
{
	uint64_t deadline = now_monotonic_ns() + (uint64_t)timeout_ms * 1000000ull;
	size_t n = 0;

	for (;;) {
		struct pollfd p = { .fd = t->out, .events = POLLIN };
		uint64_t now = now_monotonic_ns();
		int left = now >= deadline ? 0 : (int)((deadline - now) / 1000000ull);
		ssize_t k;
		char c;

		if (poll(&p, 1, left) == 0)
			return drover_fail(err, -ETIMEDOUT, "no answer within %u s",
					   timeout_ms / 1000);
		k = read(t->out, &c, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return drover_fail(err, k < 0 ? -errno : -EPIPE, "%s",
					   k < 0 ? strerror(errno) : "it ended before answering");
		if (c == '\n')
			break;
		if (n + 1 < len)
			line[n++] = c;
	}
	line[n] = '\0';
	return 0;
}

void transport_ssh_finish(struct transport_ssh *t, struct buf *out, int *status, char *errtext,
			  size_t len)
{
	char chunk[4096];
	ssize_t n;

	if (t->in >= 0) {
		close(t->in);
		t->in = -1;
	}
	while ((n = read(t->out, chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && out && buf_append(out, chunk, (size_t)n) < 0)
			break;
	if (out && buf_terminate(out) < 0)
		out->len = 0;
	close(t->out);
	t->out = -1;
	*status = process_wait(t->pid);
	t->pid = 0;
	spawn_errfd_text(t->errfd, errtext, len);
	close(t->errfd);
	t->errfd = -1;
}

void transport_ssh_kill(struct transport_ssh *t)
{
	int status;
	char ignore[8];

	if (t->pid > 0)
		kill(t->pid, SIGTERM);
	transport_ssh_finish(t, NULL, &status, ignore, sizeof(ignore));
}

static socklen_t sockaddr_for(const char *addr, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		return sizeof(*in);
	}
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		return sizeof(*in6);
	}
	return 0;
}

int transport_listen(const char *cidr, char *addr, size_t len, int *port, int *fd,
		     struct drover_err *err)
{
	struct sockaddr_storage ss;
	struct cidr net;
	int r = cidr_parse(cidr, &net);

	if (r < 0)
		return drover_fail(err, r, "'%s' is not a network (ADDRESS/PREFIX)", cidr);
	r = cidr_local_address(&net, addr, len);
	if (r == -ENOENT)
		return drover_fail(err, r, "this node has no address in %s", cidr);
	if (r == -ENOTUNIQ)
		return drover_fail(err, r, "this node has more than one address in %s", cidr);
	if (r < 0)
		return drover_fail(err, r, "addresses of this node: %s", strerror(-r));
	for (int p = TRANSPORT_PORT_FIRST; p <= TRANSPORT_PORT_LAST; p++) {
		socklen_t sl = sockaddr_for(addr, p, &ss);
		int s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (s < 0)
			return drover_fail(err, -errno, "socket: %s", strerror(errno));
		if (bind(s, (struct sockaddr *)&ss, sl) == 0 && listen(s, 1) == 0) {
			*fd = s;
			*port = p;
			return 0;
		}
		r = -errno;
		close(s);
		if (r != -EADDRINUSE)
			return drover_fail(err, r, "binding %s:%d: %s", addr, p, strerror(-r));
	}
	return drover_fail(err, -EADDRINUSE, "every port from %d to %d on %s is in use",
			   TRANSPORT_PORT_FIRST, TRANSPORT_PORT_LAST, addr);
}

static void tune(int fd)
{
	int one = 1, size = 4 << 20;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

int transport_accept(int lfd, unsigned timeout_ms, struct drover_err *err)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int r, fd;

	do
		r = poll(&p, 1, (int)timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		close(lfd);
		return drover_fail(err, r == 0 ? -ETIMEDOUT : -errno,
				   "no connection from the sender within %u s", timeout_ms / 1000);
	}
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	r = fd < 0 ? drover_fail(err, -errno, "accept: %s", strerror(errno)) : fd;
	close(lfd);
	if (fd >= 0)
		tune(fd);
	return r;
}

int transport_connect(const char *addr, int port, unsigned timeout_ms, struct drover_err *err)
{
	struct sockaddr_storage ss;
	socklen_t sl = sockaddr_for(addr, port, &ss);
	struct pollfd p;
	int fd, r, soerr = 0;
	socklen_t elen = sizeof(soerr);

	if (!sl || port < TRANSPORT_PORT_FIRST || port > TRANSPORT_PORT_LAST)
		return drover_fail(err, -EINVAL, "the receiver offered '%s' port %d", addr, port);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return drover_fail(err, -errno, "socket: %s", strerror(errno));
	r = connect(fd, (struct sockaddr *)&ss, sl);
	if (r < 0 && errno == EINPROGRESS) {
		p = (struct pollfd){ .fd = fd, .events = POLLOUT };
		r = poll(&p, 1, (int)timeout_ms);
		if (r == 0)
			errno = ETIMEDOUT;
		r = r > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &elen) == 0 && !soerr
			    ? 0
			    : -1;
		if (soerr)
			errno = soerr;
	}
	if (r < 0) {
		r = -errno;
		close(fd);
		return drover_fail(err, r, "connecting to %s port %d: %s", addr, port,
				   strerror(-r));
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	tune(fd);
	return fd;
}
