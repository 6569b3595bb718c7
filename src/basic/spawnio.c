/* SPDX-License-Identifier: MIT */
#include "spawnio.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern char **environ;

static int add_fd(posix_spawn_file_actions_t *fa, int fd, int target)
{
	if (fd < 0)
		return posix_spawn_file_actions_addopen(fa, target, "/dev/null",
							target == 0 ? O_RDONLY : O_WRONLY, 0);
	/* glibc clears O_CLOEXEC when fd == target, as POSIX asks */
	return posix_spawn_file_actions_adddup2(fa, fd, target);
}

pid_t spawn_fds(char *const argv[], int in, int out, int err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, deflt;
	pid_t pid;
	int r;

	r = posix_spawn_file_actions_init(&fa);
	if (r)
		return -r;
	r = posix_spawnattr_init(&attr);
	if (r) {
		posix_spawn_file_actions_destroy(&fa);
		return -r;
	}
	sigemptyset(&none);
	sigemptyset(&deflt);
	sigaddset(&deflt, SIGPIPE);
	sigaddset(&deflt, SIGINT);
	sigaddset(&deflt, SIGTERM);
	r = posix_spawnattr_setsigmask(&attr, &none);
	if (!r)
		r = posix_spawnattr_setsigdefault(&attr, &deflt);
	if (!r)
		r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (!r)
		r = add_fd(&fa, in, 0);
	if (!r)
		r = add_fd(&fa, out, 1);
	if (!r)
		r = add_fd(&fa, err, 2);
	if (!r)
		r = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return r ? -r : pid;
}

void spawn_status_text(int status, char *buf, size_t len)
{
	if (status < 0)
		snprintf(buf, len, "could not run: %s", strerror(-status));
	else if (status > 128)
		snprintf(buf, len, "was killed by signal %d (%s)", status - 128,
			 strsignal(status - 128));
	else
		snprintf(buf, len, "exited with %d", status);
}

int spawn_errfd(void)
{
	int fd = memfd_create("stderr", MFD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

void spawn_errfd_text(int errfd, char *buf, size_t len)
{
	char text[8192], joined[8192 + 1024];
	off_t size = lseek(errfd, 0, SEEK_END);
	off_t from = size > (off_t)sizeof(text) - 1 ? size - (off_t)sizeof(text) + 1 : 0;
	ssize_t n = size > 0 ? pread(errfd, text, (size_t)(size - from), from) : 0;
	size_t used = 0, k;
	char *save = NULL, *tail;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (n <= 0)
		return;
	text[n] = '\0';
	for (char *l = strtok_r(text, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
		k = strlen(l);
		while (k && (l[k - 1] == ' ' || l[k - 1] == '\t'))
			l[--k] = '\0';
		if (k && used + k + 3 < sizeof(joined))
			used += (size_t)snprintf(joined + used, sizeof(joined) - used, "%s%s",
						 used ? "; " : "", l);
	}
	/* the last lines carry the error: keep the end of the text when it is long */
	tail = joined;
	if (used >= len) {
		tail = joined + used - (len - 1);
		if (strstr(tail, "; "))
			tail = strstr(tail, "; ") + 2;
	}
	snprintf(buf, len, "%s", used ? tail : "");
}
