/* SPDX-License-Identifier: MIT */
/* droverfs: the drover cluster configuration file system. See droverfs(8). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "basic/log.h"
#include "options.h"

/*
 * Detach: the parent waits until the child has mounted and serves (or
 * failed), so `droverfs && ls /etc/drover` works.
 */
static int daemonize(int *ready_fd)
{
	int fds[2];
	pid_t pid;
	char c = 0;
	int devnull;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &c, 1) != 1 || c != '1') {
			fprintf(stderr, "droverfs: failed to start (see the system log)\n");
			_exit(1);
		}
		_exit(0);
	}
	close(fds[0]);
	setsid();
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO);
		if (devnull > STDERR_FILENO)
			close(devnull);
	}
	*ready_fd = fds[1];
	return 0;
}

int main(int argc, char **argv)
{
	struct cfs_daemon d;
	int r;

	memset(&d, 0, sizeof(d));
	d.ready_fd = -1;
	r = cfs_options_parse(argc, argv, &d.opt);
	if (r != 0)
		return r > 0 ? 0 : 2;
	if (geteuid() != 0) {
		fprintf(stderr, "droverfs: must run as root\n");
		return 1;
	}
	/* The database, journal and lock file hold private data: 0600. */
	umask(077);
	if (!d.opt.foreground) {
		r = daemonize(&d.ready_fd);
		if (r < 0) {
			fprintf(stderr, "droverfs: cannot detach: %s\n", strerror(-r));
			return 1;
		}
	}
	log_setup("droverfs", d.opt.foreground ? LOG_TARGET_STDERR : LOG_TARGET_SYSLOG);
	log_set_debug(d.opt.debug);
	r = cfs_daemon_run(&d);
	return r < 0 ? 1 : 0;
}
