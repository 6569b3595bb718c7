/* SPDX-License-Identifier: MIT */
#include "process.h"

#include <errno.h>
#include <fcntl.h>
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

int process_run(char *const argv[], char *output, size_t len, int (*before_exec)(void *),
		void *arg)
{
	int fds[2] = { -1, -1 };
	size_t got = 0;
	int status;
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
