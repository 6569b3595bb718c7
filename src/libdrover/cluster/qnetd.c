/* SPDX-License-Identifier: MIT */
#include "qnetd.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ssh.h"
#include "basic/util.h"

#define QNETD_DB "/etc/corosync/qnetd/nssdb"
#define EXIT_NOT_INSTALLED 10 /* our scripts' own code: no corosync-qnetd there */

/* The last line ssh or the remote command wrote to stderr: its reason. */
static const char *last_line(struct buf *text)
{
	char *s, *end;

	if (buf_terminate(text) < 0 || text->len == 0)
		return "no message";
	s = (char *)text->data;
	end = s + strlen(s);
	while (end > s && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	while (end > s && end[-1] != '\n')
		end--;
	return end[0] ? end : "no message";
}

/* Did ssh get through to the host but was not let in (no key there, unknown host key)? */
static bool refused(const char *why)
{
	return strstr(why, "Permission denied") || strstr(why, "Host key verification failed") ||
	       strstr(why, "host key") || strstr(why, "Too many authentication failures");
}

static int try_login(const char *host, struct buf *why)
{
	buf_clear(why);
	return ssh_run_command(host, "true", NULL, 0, NULL, why);
}

int qnetd_login(const char *host, const struct drover_reporter *rep, struct drover_err *err)
{
	struct buf why = BUF_INIT;
	int r = try_login(host, &why);
	const char *reason;

	if (r == 255 && refused(last_line(&why)) && isatty(STDIN_FILENO)) {
		drover_report_log(
			rep,
			"root@%s does not let this node in with its key: installing it there "
			"(ssh-copy-id asks for root's password)",
			host);
		r = ssh_copy_id(host, err);
		if (r < 0) {
			buf_free(&why);
			return r;
		}
		r = try_login(host, &why);
	}
	reason = last_line(&why);
	if (r == 255 && refused(reason))
		r = drover_fail(
			err, -EACCES,
			"root@%s refuses this node (%s): install root's key there with 'ssh-copy-id root@%s', or run this command on a terminal to give root's password once",
			host, reason, host);
	else if (r == 255)
		r = drover_fail(err, -EHOSTUNREACH, "cannot reach root@%s over SSH: %s", host,
				reason);
	else if (r != 0)
		r = drover_fail(err, r < 0 ? r : -EIO, "ssh root@%s: %s", host,
				r < 0 ? strerror(-r) : reason);
	buf_free(&why);
	return r;
}

static const char ca_script[] = "command -v corosync-qnetd >/dev/null 2>&1 && "
				"command -v corosync-qnetd-certutil >/dev/null 2>&1 || exit 10\n"
				"db=" QNETD_DB "\n"
				"if [ -e \"$db/cert9.db\" ] || [ -e \"$db/cert8.db\" ]; then\n"
				"  echo present\n"
				"else\n"
				"  corosync-qnetd-certutil -i >&2 || exit 1\n"
				"  echo created\n"
				"fi\n"
				"cat \"$db/qnetd-cacert.crt\"\n";

int qnetd_ca(const char *host, bool *created, struct buf *ca, struct drover_err *err)
{
	struct buf out = BUF_INIT, why = BUF_INIT;
	const char *nl;
	int r = ssh_run_command(host, ca_script, NULL, 0, &out, &why);

	if (r == EXIT_NOT_INSTALLED) {
		r = drover_fail(
			err, -ENOPKG,
			"corosync-qnetd is not installed on %s: install it there first ('apt install corosync-qnetd')",
			host);
	} else if (r != 0) {
		r = drover_fail(err, r < 0 ? r : -EIO, "preparing the QNetd CA on %s: %s", host,
				r < 0 ? strerror(-r) : last_line(&why));
	} else if (buf_terminate(&out) < 0 || !(nl = strchr((char *)out.data, '\n')) ||
		   !strstr(nl, "-----BEGIN CERTIFICATE-----")) {
		r = drover_fail(err, -EPROTO, "%s sent no QNetd CA certificate (%s)", host,
				QNETD_DB "/qnetd-cacert.crt");
	} else {
		*created = str_has_prefix((char *)out.data, "created");
		r = buf_append(ca, nl + 1, out.len - (size_t)(nl + 1 - (char *)out.data));
	}
	buf_free(&out);
	buf_free(&why);
	return r;
}

int qnetd_sign(const char *host, const char *cluster, const struct buf *crq, struct buf *crt,
	       struct drover_err *err)
{
	struct buf why = BUF_INIT, script = BUF_INIT;
	int r;

	/* the name goes into a shell command: only what a cluster name may hold */
	if (!cluster_name_valid(cluster))
		return drover_fail(err, -EINVAL, "'%s' is not a valid cluster name", cluster);
	r = buf_printf(&script,
		       "set -e\n"
		       "d=$(mktemp -d)\n"
		       "trap 'rm -rf \"$d\"' EXIT\n"
		       "cat > \"$d/qdevice-net-node.crq\"\n"
		       "corosync-qnetd-certutil -s -c \"$d/qdevice-net-node.crq\" -n %s >&2\n"
		       "cat " QNETD_DB "/cluster-%s.crt\n",
		       cluster, cluster);
	if (r == 0 && buf_terminate(&script) == 0)
		r = ssh_run_command(host, (const char *)script.data, crq->data, crq->len, crt,
				    &why);
	if (r != 0)
		r = drover_fail(err, r < 0 ? r : -EIO, "signing the cluster certificate on %s: %s",
				host, r < 0 ? strerror(-r) : last_line(&why));
	buf_free(&why);
	buf_free(&script);
	return r;
}

/* One non-blocking connect, given up after timeout_ms. Returns 0 or -errno. */
static int connect_within(const struct addrinfo *ai, unsigned timeout_ms)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int r = 0, e = 0;
	socklen_t len = sizeof(e);

	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		r = errno == EINPROGRESS ? 0 : -errno;
		if (r == 0) {
			r = poll(&p, 1, (int)timeout_ms);
			r = r < 0 ? -errno : r == 0 ? -ETIMEDOUT : 0;
		}
		if (r == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e)
			r = -e;
	}
	close(fd);
	return r;
}

int qnetd_reachable(const char *host, unsigned timeout_ms, struct drover_err *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	char port[8];
	int r;

	snprintf(port, sizeof(port), "%d", QNETD_PORT);
	r = getaddrinfo(host, port, &hints, &res);
	if (r != 0)
		return drover_fail(err, -EHOSTUNREACH, "%s: %s", host, gai_strerror(r));
	r = -EHOSTUNREACH;
	for (const struct addrinfo *ai = res; ai && r < 0; ai = ai->ai_next)
		r = connect_within(ai, timeout_ms);
	freeaddrinfo(res);
	if (r < 0)
		drover_fail(
			err, r,
			"corosync-qnetd on %s does not answer on TCP port %d (%s): is it running there ('systemctl start corosync-qnetd'), and may this node reach it?",
			host, QNETD_PORT, strerror(-r));
	return r;
}
