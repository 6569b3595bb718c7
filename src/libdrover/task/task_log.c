/* SPDX-License-Identifier: MIT */
#include "task_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/buf.h"
#include "basic/util.h"
#include "upid.h"

/* How often a follower looks whether the worker died (its death writes nothing). */
#define ALIVE_CHECK_MS 1000
#define TAIL_MAX 4096

int task_end_line(const char *line, char *status, size_t len)
{
	if (streq(line, TASK_END_OK)) {
		snprintf(status, len, "%s", TASK_STATUS_OK);
		return 1;
	}
	if (str_has_prefix(line, TASK_END_ERROR)) {
		snprintf(status, len, "%s", line + strlen(TASK_END_ERROR));
		return 1;
	}
	return 0;
}

int task_log_end_status(const char *dir, const char *upid, char *status, size_t len)
{
	char path[PATH_MAX], tail[TAIL_MAX + 1], *last;
	struct stat st;
	ssize_t n;
	off_t off;
	int fd, r;

	r = upid_log_path(dir, upid, path, sizeof(path));
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	off = st.st_size > TAIL_MAX ? st.st_size - TAIL_MAX : 0;
	n = pread(fd, tail, TAIL_MAX, off);
	close(fd);
	if (n < 0)
		return -errno;
	tail[n] = '\0';
	/* the last complete line: an end line always ends with its newline */
	if (n == 0 || tail[n - 1] != '\n')
		return 0;
	tail[n - 1] = '\0';
	last = strrchr(tail, '\n');
	return task_end_line(last ? last + 1 : tail, status, len);
}

struct reader {
	int fd;
	struct buf pending; /* a line not complete yet */
	task_line_fn fn;
	void *ctx;
	char *status;
	size_t len;
	bool ended;
};

/* Hand over every complete line read so far. Returns 0 or fn's error. */
static int deliver(struct reader *rd)
{
	while (!rd->ended) {
		unsigned char *nl =
			rd->pending.len ? memchr(rd->pending.data, '\n', rd->pending.len) : NULL;
		size_t n;
		int r;

		if (!nl)
			return 0;
		*nl = '\0';
		n = (size_t)(nl - rd->pending.data) + 1;
		rd->ended = task_end_line((char *)rd->pending.data, rd->status, rd->len) == 1;
		r = rd->fn(rd->ctx, (char *)rd->pending.data);
		buf_consume(&rd->pending, n);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Read what the file has now. Returns 0 or -errno. */
static int drain(struct reader *rd)
{
	for (;;) {
		ssize_t n;
		int r = buf_reserve(&rd->pending, 65536);

		if (r < 0)
			return r;
		n = read(rd->fd, rd->pending.data + rd->pending.len,
			 rd->pending.cap - rd->pending.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		rd->pending.len += (size_t)n;
		r = deliver(rd);
		if (r < 0 || rd->ended)
			return r;
	}
}

static bool upid_alive(void *ctx)
{
	return task_worker_alive(ctx);
}

/* Wait for the file to grow, or ALIVE_CHECK_MS. */
static void wait_more(int ino)
{
	struct pollfd p = { .fd = ino, .events = POLLIN };
	char events[4096];

	if (poll(&p, 1, ALIVE_CHECK_MS) > 0)
		while (read(ino, events, sizeof(events)) > 0)
			;
}

static int follow_file(struct reader *rd, const char *path, const struct task_log_follow *f,
		       const struct upid *u)
{
	bool (*alive)(void *) = f->alive ? f->alive : upid_alive;
	void *actx = f->alive ? f->ctx : (void *)u;
	int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK), r = 0;

	if (ino < 0)
		return -errno;
	if (inotify_add_watch(ino, path, IN_MODIFY | IN_CLOSE_WRITE) < 0) {
		r = -errno;
		close(ino);
		return r;
	}
	while (r == 0 && !rd->ended) {
		/* look first, read after: a line written just before the death is not lost */
		bool was_alive = alive(actx);

		r = drain(rd);
		if (r < 0 || rd->ended || !was_alive)
			break;
		wait_more(ino);
	}
	close(ino);
	return r;
}

int task_log_read(const char *dir, const char *upid, const struct task_log_follow *follow,
		  task_line_fn fn, void *ctx, char *status, size_t len)
{
	struct reader rd = { .fn = fn, .ctx = ctx, .status = status, .len = len };
	char path[PATH_MAX];
	struct upid u;
	int r;

	if (upid_parse(upid, &u) < 0)
		return -EINVAL;
	r = upid_log_path(dir, upid, path, sizeof(path));
	if (r < 0)
		return r;
	rd.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (rd.fd < 0)
		return -errno;
	r = follow ? follow_file(&rd, path, follow, &u) : drain(&rd);
	/* a last line without its newline (a worker that died mid-write) is still shown */
	if (r == 0 && !rd.ended && rd.pending.len > 0 && buf_append(&rd.pending, "\n", 1) == 0)
		r = deliver(&rd);
	close(rd.fd);
	buf_free(&rd.pending);
	return r < 0 ? r : rd.ended ? 1 : 0;
}
