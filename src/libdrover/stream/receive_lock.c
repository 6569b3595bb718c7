/* SPDX-License-Identifier: MIT */
#include "receive_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "basic/fdio.h"
#include "basic/util.h"

const char *receive_lock_dir(const char *dir)
{
	const char *env;

	if (dir)
		return dir;
	env = getenv("DROVER_RECEIVE_LOCK_DIR");
	return env && *env ? env : RECEIVE_LOCK_DIR;
}

/* dir/VOLID.lock, with '%', '/' and ':' as %XX so that every volume has its own file. */
static int lock_path(const char *dir, const char *volid, char *out, size_t len)
{
	size_t k = (size_t)snprintf(out, len, "%s/", dir);

	for (const char *p = volid; *p && k + 4 < len; p++) {
		if (*p == '%' || *p == '/' || *p == ':')
			k += (size_t)snprintf(out + k, len - k, "%%%02X", (unsigned char)*p);
		else
			out[k++] = *p;
	}
	if (k + sizeof(".lock") > len)
		return -ENAMETOOLONG;
	memcpy(out + k, ".lock", sizeof(".lock"));
	return 0;
}

static pid_t read_holder(int fd)
{
	char text[32] = "";
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	uint64_t pid;

	if (n <= 0)
		return 0;
	text[n] = '\0';
	text[strcspn(text, "\n")] = '\0';
	return parse_u64(text, INT_MAX, &pid) == 0 ? (pid_t)pid : 0;
}

int receive_lock_take(const char *dir, const char *volid, int *fd, pid_t *holder,
		      struct drover_err *err)
{
	char path[PATH_MAX], pid[32];
	int r, len;

	*fd = -1;
	*holder = 0;
	dir = receive_lock_dir(dir);
	if (lock_path(dir, volid, path, sizeof(path)) < 0)
		return drover_fail(err, -ENAMETOOLONG, "receive lock of %s: path too long", volid);
	r = mkdir_p(dir, 0755);
	if (r < 0)
		return drover_fail(err, r, "%s: %s", dir, strerror(-r));
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (*fd < 0)
		return drover_fail(err, -errno, "%s: %s", path, strerror(errno));
	while (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		if (r == -EINTR)
			continue;
		if (r == -EWOULDBLOCK)
			*holder = read_holder(*fd);
		close(*fd);
		*fd = -1;
		return r == -EWOULDBLOCK ? -EBUSY
					 : drover_fail(err, r, "%s: %s", path, strerror(-r));
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(*fd, 0) < 0 || pwrite(*fd, pid, (size_t)len, 0) != len) {
		r = -errno;
		receive_lock_release(*fd);
		*fd = -1;
		return drover_fail(err, r, "%s: %s", path, strerror(-r));
	}
	return 0;
}

void receive_lock_release(int fd)
{
	if (fd < 0)
		return;
	/* no stale pid for the next one to read; the file itself stays (no unlink race) */
	(void)ftruncate(fd, 0);
	close(fd);
}

int receive_lock_all(const char *dir, const char *const *volids, size_t n, int *fds,
		     struct drover_err *err)
{
	for (size_t i = 0; i < n; i++)
		fds[i] = -1;
	for (size_t i = 0; i < n; i++) {
		pid_t holder;
		int r = receive_lock_take(dir, volids[i], &fds[i], &holder, err);

		if (r == -EBUSY) {
			if (holder > 0)
				drover_fail(err, r,
					    "a replication receive for %s is still running "
					    "(pid %ld)",
					    volids[i], (long)holder);
			else
				drover_fail(err, r, "a replication receive for %s is still running",
					    volids[i]);
		}
		if (r < 0) {
			receive_lock_release_all(fds, i);
			return r;
		}
	}
	return 0;
}

void receive_lock_release_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		receive_lock_release(fds[i]);
		fds[i] = -1;
	}
}
