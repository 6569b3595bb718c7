/* SPDX-License-Identifier: MIT */
#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "basic/process.h"
#include "basic/spawnio.h"

int storage_run_fail(struct drover_err *err, int r, char *const argv[], int status, int errfd)
{
	char how[128], text[DROVER_ERR_MAX];

	spawn_status_text(status, how, sizeof(how));
	text[0] = '\0';
	if (errfd >= 0)
		spawn_errfd_text(errfd, text, sizeof(text) - 200);
	return drover_fail(err, r, "%s%s%s %s%s%s", argv[0], argv[1] ? " " : "",
			   argv[1] ? argv[1] : "", how, text[0] ? ": " : "", text);
}

static int read_memfd(int fd, struct buf *out)
{
	off_t size = lseek(fd, 0, SEEK_END);
	int r;

	if (size < 0)
		return -errno;
	r = buf_reserve(out, (size_t)size + 1);
	if (r < 0)
		return r;
	if (size > 0 && pread(fd, out->data + out->len, (size_t)size, 0) != size)
		return -EIO;
	out->len += (size_t)size;
	return buf_terminate(out);
}

int storage_run(char *const argv[], int in, struct buf *out, struct drover_err *err)
{
	int errfd = spawn_errfd(), outfd = -1, status, r = 0;
	pid_t pid;

	if (errfd < 0)
		return drover_fail(err, errfd, "memfd: %s", strerror(-errfd));
	if (out && (outfd = memfd_create("stdout", MFD_CLOEXEC)) < 0) {
		r = drover_fail(err, -errno, "memfd: %s", strerror(errno));
		close(errfd);
		return r;
	}
	pid = spawn_fds(argv, in, outfd, errfd);
	status = pid < 0 ? (int)pid : process_wait(pid);
	if (status != 0)
		r = storage_run_fail(err, status < 0 ? status : -EIO, argv, status, errfd);
	else if (out && (r = read_memfd(outfd, out)) < 0)
		drover_fail(err, r, "reading what %s printed: %s", argv[0], strerror(-r));
	if (outfd >= 0)
		close(outfd);
	close(errfd);
	return r;
}

int storage_run_to(char *const argv[], int fd, struct drover_err *err)
{
	int errfd = spawn_errfd(), status, r;
	pid_t pid;

	if (errfd < 0)
		return drover_fail(err, errfd, "memfd: %s", strerror(-errfd));
	pid = spawn_fds(argv, -1, fd, errfd);
	status = pid < 0 ? (int)pid : process_wait(pid);
	r = status ? storage_run_fail(err, status < 0 ? status : -EIO, argv, status, errfd) : 0;
	close(errfd);
	return r;
}
