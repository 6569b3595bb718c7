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
 * NODE may be "K/TAG": a daemon the keeper keeps running, as systemd's
 * Restart=on-failure does. When it dies and its pid file (nodeK/pids/
 * TAG.pid) still names it, nobody stopped it on purpose (a stop removes
 * the pid file first): the keeper starts it again, after 1 s and longer
 * if it keeps dying at once, and writes the new pid there.
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
#define KEPT_MAX 64
#define RESTART_DELAY_MS 1000
#define RESTART_DELAY_MAX_MS 30000
#define QUICK_DEATH_NS (10ull * 1000 * 1000 * 1000)

/* A daemon the keeper restarts: what it was started with. */
struct kept {
	pid_t pid; /* 0: waiting for its restart */
	unsigned node;
	char tag[32];
	char *request; /* the request as received (argv and log point into it) */
	char *log;
	char *argv[ARGS_MAX];
	uint64_t started_ns;
	uint64_t restart_at_ns; /* when pid is 0 */
	unsigned delay_ms;
};

struct keeper {
	const struct sandbox *sb;
	struct kept kept[KEPT_MAX];
	size_t nkept;
};

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

/* Split a request into node, tag ("" unless kept), log path and argv; -EINVAL if malformed. */
static int parse_request(char *req, size_t len, unsigned *node, char *tag, size_t tag_len,
			 char **log, char **argv)
{
	char *p = req, *end = req + len, *slash, num[16];
	size_t n = 0;
	uint64_t k;

	if (len == 0 || req[len - 1] != '\0')
		return -EINVAL;
	slash = strchr(p, '/');
	tag[0] = '\0';
	if (slash) {
		if ((size_t)(slash - p) >= sizeof(num) || strlen(slash + 1) >= tag_len ||
		    !slash[1] ||
		    strspn(slash + 1, "abcdefghijklmnopqrstuvwxyz-") != strlen(slash + 1))
			return -EINVAL;
		strcpy(tag, slash + 1);
		memcpy(num, p, (size_t)(slash - p));
		num[slash - p] = '\0';
	} else {
		snprintf(num, sizeof(num), "%.15s", p);
	}
	if (parse_u64(num, SB_QNETD_HOST, &k) < 0 || k == 0)
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

static void kept_pid_file(const struct keeper *k, const struct kept *e, char *out, size_t len)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "pids/%s.pid", e->tag);
	sb_node_path(k->sb, e->node, out, len, rel);
}

/* Remember a kept daemon just started (a request of "K/TAG"); the same tag replaces an old one. */
static void keep(struct keeper *k, const char *req, size_t len, unsigned node, const char *tag,
		 pid_t pid)
{
	struct kept *e = NULL;
	char *copy = malloc(len), *p;
	size_t n = 0;

	if (!copy)
		return;
	for (size_t i = 0; i < k->nkept && !e; i++)
		if (k->kept[i].node == node && streq(k->kept[i].tag, tag))
			e = &k->kept[i];
	if (!e && k->nkept < KEPT_MAX)
		e = &k->kept[k->nkept++];
	if (!e) {
		free(copy);
		return;
	}
	free(e->request);
	memset(e, 0, sizeof(*e));
	memcpy(copy, req, len);
	e->request = copy;
	e->pid = pid;
	e->node = node;
	snprintf(e->tag, sizeof(e->tag), "%s", tag);
	e->started_ns = now_monotonic_ns();
	e->delay_ms = RESTART_DELAY_MS;
	/* the request is "NODE/TAG\0LOG\0ARGV...\0": point into the copy */
	p = copy + strlen(copy) + 1;
	e->log = p;
	p += strlen(p) + 1;
	while (p < copy + len && n < ARGS_MAX - 1) {
		e->argv[n++] = p;
		p += strlen(p) + 1;
	}
	e->argv[n] = NULL;
}

static void serve(struct keeper *k, int listen_fd)
{
	char req[REQUEST_MAX], *argv[ARGS_MAX], *log, tag[32];
	const struct sandbox *sb = k->sb;
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
	if (parse_request(req, (size_t)n, &node, tag, sizeof(tag), &log, argv) < 0 ||
	    !sb_host_valid(sb, node))
		reply = -EINVAL;
	else
		reply = sb_spawn(sb, node, argv, log);
	if (reply > 0 && tag[0])
		keep(k, req, (size_t)n, node, tag, reply);
	if (send(fd, &reply, sizeof(reply), MSG_NOSIGNAL) < 0)
		fprintf(stderr, "drover keeper: reply: %s\n", strerror(errno));
	close(fd);
}

/* A kept daemon died: restart it later, unless it was stopped on purpose. */
static void kept_died(struct keeper *k, struct kept *e, int status)
{
	char path[PATH_MAX];
	uint64_t now = now_monotonic_ns();

	kept_pid_file(k, e, path, sizeof(path));
	if (pid_from_file(path) != e->pid) {
		/* stopped on purpose (its pid file went first): forget it */
		struct kept *last = &k->kept[--k->nkept];

		free(e->request);
		if (e != last)
			*e = *last;
		memset(last, 0, sizeof(*last));
		return;
	}
	/* dying again at once: wait longer each time, as a restart loop must not spin */
	if (now - e->started_ns < QUICK_DEATH_NS)
		e->delay_ms = MIN(e->delay_ms * 2, RESTART_DELAY_MAX_MS);
	else
		e->delay_ms = RESTART_DELAY_MS;
	fprintf(stderr,
		"drover keeper: node%u %s (pid %d) died (status 0x%x): restarting in %u ms\n",
		e->node, e->tag, (int)e->pid, status, e->delay_ms);
	e->pid = 0;
	e->restart_at_ns = now + e->delay_ms * 1000000ull;
}

static void reap(struct keeper *k)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (size_t i = 0; i < k->nkept; i++)
			if (k->kept[i].pid == pid) {
				kept_died(k, &k->kept[i], status);
				break;
			}
}

/* Start the kept daemons that are due; returns the ms until the next one is (-1: none). */
static int restart_due(struct keeper *k)
{
	uint64_t now = now_monotonic_ns();
	int next = -1;

	for (size_t i = 0; i < k->nkept; i++) {
		struct kept *e = &k->kept[i];
		char path[PATH_MAX], text[32];
		pid_t pid;

		if (e->pid)
			continue;
		if (e->restart_at_ns > now) {
			int ms = (int)((e->restart_at_ns - now) / 1000000) + 1;

			next = next < 0 ? ms : MIN(next, ms);
			continue;
		}
		kept_pid_file(k, e, path, sizeof(path));
		pid = sb_spawn(k->sb, e->node, e->argv, e->log);
		if (pid < 0) {
			e->restart_at_ns = now + RESTART_DELAY_MAX_MS * 1000000ull;
			continue;
		}
		e->pid = pid;
		e->started_ns = now;
		snprintf(text, sizeof(text), "%d\n", (int)pid);
		write_file_atomic(path, text, strlen(text), 0644);
		fprintf(stderr, "drover keeper: node%u %s restarted: pid %d\n", e->node, e->tag,
			(int)pid);
	}
	return next;
}

int sb_keeper_main(const char *name)
{
	struct sandbox sb;
	struct keeper k = { &sb };
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
		int due = restart_due(&k);

		/* Wake now and then: a sandbox removed behind our back ends the keeper too. */
		r = poll(pfd, 2, due >= 0 && due < 5000 ? due : 5000);
		if (r < 0 && errno != EINTR)
			break;
		if (r == 0 && !sb_exists(&sb))
			break;
		if (pfd[0].revents & POLLIN) {
			if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGCHLD)
				break;
			reap(&k);
		}
		if (pfd[1].revents & POLLIN)
			serve(&k, lfd);
	}
	reap(&k);
	for (size_t i = 0; i < k.nkept; i++)
		free(k.kept[i].request);
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

static pid_t keeper_request(const struct sandbox *sb, unsigned node, const char *tag,
			    char *const argv[], const char *log_path)
{
	char req[REQUEST_MAX];
	struct sockaddr_un sa;
	size_t n;
	int32_t reply;
	int fd, r;

	n = (size_t)(tag ? snprintf(req, sizeof(req), "%u/%s", node, tag)
			 : snprintf(req, sizeof(req), "%u", node)) +
	    1;
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

pid_t sb_keeper_spawn(const struct sandbox *sb, unsigned node, char *const argv[],
		      const char *log_path)
{
	return keeper_request(sb, node, NULL, argv, log_path);
}

pid_t sb_keeper_spawn_kept(const struct sandbox *sb, unsigned node, const char *tag,
			   char *const argv[], const char *log_path)
{
	return keeper_request(sb, node, tag, argv, log_path);
}
