/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/log.h"
#include "droverd.h"

/* Detach: the parent exits once the child runs (droverd has nothing to wait for first). */
static int daemonize(void)
{
	pid_t pid = fork();
	int null;

	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	setsid();
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	return chdir("/") < 0 ? -errno : 0;
}

int droverd_main(int argc, char **argv, droverd_setup_fn setup)
{
	struct droverd d;
	int r;

	memset(&d, 0, sizeof(d));
	r = droverd_options_parse(argc, argv, &d.opt);
	if (r != 0)
		return r > 0 ? 0 : 2;
	if (geteuid() != 0) {
		fprintf(stderr, "droverd: must run as root\n");
		return 1;
	}
	umask(022);
	if (!d.opt.foreground) {
		r = daemonize();
		if (r < 0) {
			fprintf(stderr, "droverd: cannot detach: %s\n", strerror(-r));
			return 1;
		}
	}
	log_setup("droverd", d.opt.foreground ? LOG_TARGET_STDERR : LOG_TARGET_SYSLOG);
	log_set_debug(d.opt.debug);
	guest_ops_defaults(&d.ops, &d.paths);
	if (setup)
		setup(&d.ops);
	r = droverd_run(&d);
	return r < 0 ? 1 : 0;
}
