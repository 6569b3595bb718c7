/* SPDX-License-Identifier: MIT */
/*
 * The keeper: one small process per sandbox that starts the nodes'
 * daemons on request and reaps them. It exists because the processes a
 * short-lived drover command starts outlive it and are handed to PID 1,
 * and a PID 1 that is not an init (a container's, a CI runner's) never
 * reaps them: every daemon a test killed would stay a zombie, still named
 * corosync for pgrep. As a child subreaper the keeper inherits and reaps
 * even what its children leave behind. The sandbox works without it (a
 * command then starts the process itself), so a dead keeper breaks
 * nothing but the reaping.
 *
 * Protocol on STATE/keeper.sock (SOCK_SEQPACKET, root only): one request
 * "NODE\0LOG\0ARGV0\0ARGV1\0..." and one reply, an int32 pid or -errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/process.h"
#include "basic/util.h"
#include "sandbox.h"

#define REQUEST_MAX 65536
#define ARGS_MAX 64

static int sock_addr(const struct sandbox *sb, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	return sb_path(sb, sa->sun_path, sizeof(sa->sun_path), "keeper.sock");
}

pid_t sb_keeper_pid(const struct sandbox *sb)
{
	char path[PATH_MAX];
	pid_t pid;

	sb_path(sb, path, sizeof(path), "keeper.pid");
	pid = pid_from_file(path);
	return pid > 0 && process_alive(pid) ? pid : 0;
}

/* Split a request into node, log path and argv; -EINVAL if it is malformed. */
static int parse_request(char *req, size_t len, unsigned *node, char **log, char **argv)
{
	char *p = req, *end = req + len;
	size_t n = 0;
	uint64_t k;

	if (len == 0 || req[len - 1] != '\0')
		return -EINVAL;
	if (parse_u64(p, SB_QNETD_HOST, &k) < 0 || k == 0)
		return -EINVAL;
	*node = (unsigned)k;
	p += strlen(p) + 1;
	if (p >= end)
		return -EINVAL;
	*log = p;
	p += strlen(p) + 1;
	while (p < end && n < ARGS_MAX - 1) {
		argv[n++] = p;
		p += strlen(p) + 1;
	}
	argv[n] = NULL;
	return n > 0 && p == end ? 0 : -EINVAL;
}

static void serve(const struct sandbox *sb, int listen_fd)
{
	char req[REQUEST_MAX], *argv[ARGS_MAX], *log;
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	unsigned node;
	int32_t reply;
	ssize_t n;

	if (fd < 0)
		return;
	n = recv(fd, req, sizeof(req), 0);
	if (n <= 0) {
		/* sb_keeper_start's probe: connected and went */
		close(fd);
		return;
	}
	if (parse_request(req, (size_t)n, &node, &log, argv) < 0 || !sb_host_valid(sb, node))
		reply = -EINVAL;
	else
		reply = sb_spawn(sb, node, argv, log);
	if (send(fd, &reply, sizeof(reply), MSG_NOSIGNAL) < 0)
		fprintf(stderr, "drover keeper: reply: %s\n", strerror(errno));
	close(fd);
}

static void reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		;
}

int sb_keeper_main(const char *name)
{
	struct sandbox sb;
	struct sockaddr_un sa;
	struct pollfd pfd[2];
	sigset_t mask;
	int lfd, sfd, r;

	r = sb_init(&sb, name);
	if (r == 0)
		r = sb_load(&sb);
	if (r < 0) {
		fprintf(stderr, "drover keeper: sandbox %s: %s\n", name, strerror(-r));
		return r;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return -errno;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sfd < 0 || lfd < 0 || sock_addr(&sb, &sa) < 0)
		return -errno;
	unlink(sa.sun_path);
	umask(077);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 16) < 0) {
		fprintf(stderr, "drover keeper: %s: %s\n", sa.sun_path, strerror(errno));
		return -errno;
	}
	umask(022);
	pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = lfd, .events = POLLIN };
	for (;;) {
		struct signalfd_siginfo si;

		/* Wake now and then: a sandbox removed behind our back ends the keeper too. */
		r = poll(pfd, 2, 5000);
		if (r < 0 && errno != EINTR)
			break;
		if (r == 0 && !sb_exists(&sb))
			break;
		if (pfd[0].revents & POLLIN) {
			if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGCHLD)
				break;
			reap();
		}
		if (pfd[1].revents & POLLIN)
			serve(&sb, lfd);
	}
	reap();
	return 0;
}

/* Start the keeper (a re-executed drover) and wait until it listens. */
int sb_keeper_start(const struct sandbox *sb)
{
	char self[PATH_MAX], log[PATH_MAX], pidfile[PATH_MAX], text[32];
	char *argv[] = { self, "sandbox", "_keeper", "--name", (char *)sb->name, NULL };
	struct sockaddr_un sa;
	pid_t pid;
	int r;

	r = self_exe_path(self, sizeof(self));
	if (r < 0)
		return r;
	sb_path(sb, log, sizeof(log), "keeper.log");
	sb_path(sb, pidfile, sizeof(pidfile), "keeper.pid");
	sock_addr(sb, &sa);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int nul = open("/dev/null", O_RDONLY);

		setsid();
		if (fd < 0 || nul < 0 || chdir("/") < 0)
			_exit(127);
		dup2(nul, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
		execv(self, argv);
		_exit(127);
	}
	snprintf(text, sizeof(text), "%d\n", (int)pid);
	r = write_file_atomic(pidfile, text, strlen(text), 0644);
	if (r < 0)
		return r;
	for (int i = 0; i < 250; i++) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -errno;
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		if (r == 0)
			return 0;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -ECHILD;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

pid_t sb_keeper_spawn(const struct sandbox *sb, unsigned node, char *const argv[],
		      const char *log_path)
{
	char req[REQUEST_MAX];
	struct sockaddr_un sa;
	size_t n;
	int32_t reply;
	int fd, r;

	n = (size_t)snprintf(req, sizeof(req), "%u", node) + 1;
	for (const char *s = log_path; s; s = NULL) {
		size_t l = strlen(s) + 1;

		if (n + l > sizeof(req))
			return -E2BIG;
		memcpy(req + n, s, l);
		n += l;
	}
	for (char *const *a = argv; *a; a++) {
		size_t l = strlen(*a) + 1;

		if (n + l > sizeof(req))
			return -E2BIG;
		memcpy(req + n, *a, l);
		n += l;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sock_addr(sb, &sa);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, req, n, MSG_NOSIGNAL) < 0) {
		r = -errno;
		close(fd);
		return r == -ENOENT || r == -ECONNREFUSED ? -ENOTCONN : r;
	}
	r = recv(fd, &reply, sizeof(reply), 0) == sizeof(reply) ? reply : -EIO;
	close(fd);
	return r;
}
