/* SPDX-License-Identifier: MIT */
/* Starting a long-running process inside a node, detached, with its output in a log file. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/process.h"
#include "sandbox.h"

static void child(const struct sandbox *sb, unsigned node, char *const argv[], const char *log_path,
		  int err_fd)
{
	sigset_t none;
	int32_t e;
	char **env;
	int fd;

	setsid();
	/* The keeper blocks signals it reads through a signalfd: a daemon must not inherit that. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0 && fd != STDIN_FILENO) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	/* No descriptor of ours may stay open in a daemon. */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	if (sb_node_enter(sb, node) < 0 || chdir("/") < 0)
		goto fail;
	env = sb_node_environ(sb, node, false);
	if (!env) {
		errno = ENOMEM;
		goto fail;
	}
	execvpe(argv[0], argv, env);
fail:
	e = errno;
	if (write(err_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

pid_t sb_spawn(const struct sandbox *sb, unsigned node, char *const argv[], const char *log_path)
{
	int32_t e = 0;
	int fds[2];
	pid_t pid;
	ssize_t n;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		e = -errno;
		close(fds[0]);
		close(fds[1]);
		return e;
	}
	if (pid == 0) {
		close(fds[0]);
		child(sb, node, argv, log_path, fds[1]);
	}
	close(fds[1]);
	/* The pipe closes at exec (it is close-on-exec); an errno arrives if exec failed. */
	while ((n = read(fds[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(fds[0]);
	if (n == sizeof(e)) {
		process_wait(pid);
		return e > 0 ? -e : -EIO;
	}
	return pid;
}
