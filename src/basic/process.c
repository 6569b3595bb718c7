/* SPDX-License-Identifier: MIT */
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void child_exec(char *const argv[], int out_fd, int (*before_exec)(void *), void *arg)
{
	int devnull = open("/dev/null", O_RDWR);

	if (devnull >= 0)
		dup2(devnull, STDIN_FILENO);
	if (out_fd < 0)
		out_fd = devnull;
	if (out_fd >= 0) {
		dup2(out_fd, STDOUT_FILENO);
		dup2(out_fd, STDERR_FILENO);
	}
	if (before_exec && before_exec(arg) < 0)
		_exit(126);
	execvp(argv[0], argv);
	fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int process_run(char *const argv[], char *output, size_t len, int (*before_exec)(void *), void *arg)
{
	int fds[2] = { -1, -1 };
	size_t got = 0;
	pid_t pid;

	if (output && pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = errno;

		if (output) {
			close(fds[0]);
			close(fds[1]);
		}
		return -e;
	}
	if (pid == 0)
		child_exec(argv, output ? fds[1] : -1, before_exec, arg);
	if (output) {
		char sink[4096];
		ssize_t n;

		close(fds[1]);
		/* Read all of it (so the child never blocks), keep what fits. */
		while ((n = read(fds[0], sink, sizeof(sink))) > 0 || (n < 0 && errno == EINTR)) {
			size_t take = n > 0 ? (size_t)n : 0;

			if (len > 0 && got < len - 1) {
				take = take < len - 1 - got ? take : len - 1 - got;
				memcpy(output + got, sink, take);
				got += take;
			}
		}
		close(fds[0]);
		if (len > 0)
			output[got] = '\0';
	}
	return process_wait(pid);
}

int process_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

pid_t process_spawn(char *const argv[], int (*before_exec)(void *), void *arg)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		setsid();
		child_exec(argv, -1, before_exec, arg);
	}
	return pid;
}

int process_alive(pid_t pid)
{
	char path[64], line[256];
	FILE *f;
	int alive = 0;

	if (pid <= 0 || kill(pid, 0) < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "State:", 6) == 0) {
			alive = strchr(line, 'Z') == NULL;
			break;
		}
	fclose(f);
	return alive;
}

int process_stop(pid_t pid, int timeout_ms)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	if (!process_alive(pid))
		return -ESRCH;
	kill(pid, SIGTERM);
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		waitpid(pid, NULL, WNOHANG); /* reap it if it is our child */
		if (!process_alive(pid))
			return 0;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	for (int i = 0; i < 100 && process_alive(pid); i++) {
		waitpid(pid, NULL, WNOHANG);
		nanosleep(&ts, NULL);
	}
	return process_alive(pid) ? -ETIMEDOUT : 0;
}

pid_t pid_from_file(const char *path)
{
	FILE *f = fopen(path, "re");
	long pid = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1 || pid <= 0)
		pid = 0;
	fclose(f);
	return (pid_t)pid;
}

/* Feed stdin and drain stdout/stderr together, so neither side can block the other. */
static int pump(int in_fd, const unsigned char *in, size_t in_len, int out_fd, struct buf *out,
		int err_fd, struct buf *err)
{
	size_t sent = 0;
	int r = 0;

	if (in_fd >= 0 && in_len == 0) {
		close(in_fd);
		in_fd = -1;
	}
	while (in_fd >= 0 || out_fd >= 0 || err_fd >= 0) {
		struct pollfd p[3] = { { in_fd, POLLOUT, 0 },
				       { out_fd, POLLIN, 0 },
				       { err_fd, POLLIN, 0 } };
		unsigned char chunk[4096];

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (in_fd >= 0 && p[0].revents) {
			ssize_t n = write(in_fd, in + sent, in_len - sent);

			if (n > 0)
				sent += (size_t)n;
			if ((n < 0 && errno != EINTR && errno != EAGAIN) || sent == in_len) {
				close(in_fd); /* EPIPE: it did not want the rest */
				in_fd = -1;
			}
		}
		for (int i = 1; i < 3; i++) {
			int *fd = i == 1 ? &out_fd : &err_fd;
			struct buf *b = i == 1 ? out : err;
			ssize_t n;

			if (*fd < 0 || !p[i].revents)
				continue;
			n = read(*fd, chunk, sizeof(chunk));
			if (n > 0) {
				if (r == 0)
					r = buf_append(b, chunk, (size_t)n);
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				close(*fd);
				*fd = -1;
			}
		}
	}
	if (in_fd >= 0)
		close(in_fd);
	return r;
}

int process_run_io(char *const argv[], const void *in, size_t in_len, struct buf *out,
		   struct buf *err)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	pid_t pid;
	int r, st;

	if (pipe2(pin, O_CLOEXEC) < 0 || (out && pipe2(pout, O_CLOEXEC) < 0) ||
	    (err && pipe2(perr, O_CLOEXEC) < 0)) {
		r = -errno;
		goto close_all;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto close_all;
	}
	if (pid == 0) {
		dup2(pin[0], STDIN_FILENO);
		if (out)
			dup2(pout[1], STDOUT_FILENO);
		if (err)
			dup2(perr[1], STDERR_FILENO);
		execvp(argv[0], argv);
		fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pin[0]);
	if (out)
		close(pout[1]);
	if (err)
		close(perr[1]);
	/* A child that exits before reading its input must not kill us with SIGPIPE. */
	sigaction(SIGPIPE, &ign, &old);
	r = pump(pin[1], in, in ? in_len : 0, out ? pout[0] : -1, out, err ? perr[0] : -1, err);
	sigaction(SIGPIPE, &old, NULL);
	st = process_wait(pid);
	return r < 0 ? r : st;
close_all:
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
		if (perr[i] >= 0)
			close(perr[i]);
	}
	return r;
}
