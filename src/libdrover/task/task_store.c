/* SPDX-License-Identifier: MIT */
#include "task_store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/array.h"
#include "basic/buf.h"
#include "basic/util.h"
#include "task_log.h"

/* Let the index grow this far past TASK_INDEX_MAX before it is cut back (one rewrite per 200). */
#define INDEX_SLACK 200

void task_list_free(struct task_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
	l->cap = 0;
}

static int cmp_newest(const void *pa, const void *pb)
{
	const struct task_info *a = pa, *b = pb;

	if (a->u.starttime != b->u.starttime)
		return a->u.starttime > b->u.starttime ? -1 : 1;
	return -strcmp(a->upid, b->upid);
}

void task_list_sort_newest(struct task_list *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_newest);
}

int task_list_push(struct task_list *l, const struct task_info *t)
{
	if (ARRAY_GROW(l->v, l->cap, l->n + 1) < 0)
		return -ENOMEM;
	l->v[l->n++] = *t;
	return 0;
}

int task_line_parse(const char *line, struct task_info *t)
{
	const char *sp = strchr(line, ' ');
	size_t n = sp ? (size_t)(sp - line) : strlen(line);
	char hex[16];

	memset(t, 0, sizeof(*t));
	if (n >= sizeof(t->upid))
		return -EINVAL;
	memcpy(t->upid, line, n);
	t->upid[n] = '\0';
	if (upid_parse(t->upid, &t->u) < 0)
		return -EINVAL;
	if (!sp) {
		t->running = true;
		return 0;
	}
	/* " ENDTIME STATUS": 8 hex digits, one blank, a status that is not empty */
	if (strlen(sp + 1) < 10 || sp[9] != ' ' || !sp[10])
		return -EINVAL;
	memcpy(hex, sp + 1, 8);
	hex[8] = '\0';
	if (strspn(hex, "0123456789abcdefABCDEF") != 8)
		return -EINVAL;
	t->endtime = (int64_t)strtoll(hex, NULL, 16);
	snprintf(t->status, sizeof(t->status), "%s", sp + 10);
	return 0;
}

int task_line_format(const struct task_info *t, char *out, size_t len)
{
	int n;

	if (t->running)
		n = snprintf(out, len, "%s\n", t->upid);
	else
		n = snprintf(out, len, "%s %08" PRIX32 " %s\n", t->upid, (uint32_t)t->endtime,
			     t->status);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

static const char *store_dir(const struct task_store *s)
{
	return s->dir ? s->dir : TASK_DIR_DEFAULT;
}

int task_store_prepare(const struct task_store *s)
{
	return mkdir_p(store_dir(s), 0755);
}

/*
 * The store's lock: an flock'ed descriptor, or -errno. create: make the
 * directory if missing (else -ENOENT: a node that never ran a task).
 */
static int store_lock(const struct task_store *s, bool create)
{
	char path[PATH_MAX];
	int fd, r;

	r = create ? mkdir_p(store_dir(s), 0755) : 0;
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/.lock", store_dir(s));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			r = -errno;
			close(fd);
			return r;
		}
	}
	return fd;
}

static void store_unlock(int fd)
{
	close(fd);
}

/* Files of the store are at most this large (an index of 1200 lines is ~150 KiB). */
#define STORE_FILE_MAX (16u << 20)

/*
 * Read DIR/name whole, NUL-terminated, into a buffer of its size (read_file_max
 * would take STORE_FILE_MAX for every small file). -ENOENT when missing.
 */
static int read_store_file(const struct task_store *s, const char *name, char **out, size_t *len)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, r = 0;
	size_t n = 0;
	char *buf;

	snprintf(path, sizeof(path), "%s/%s", store_dir(s), name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size > STORE_FILE_MAX) {
		r = st.st_size > STORE_FILE_MAX ? -EFBIG : -errno;
		close(fd);
		return r;
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf && n < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = k < 0 ? -errno : 0;
			break;
		}
		n += (size_t)k;
	}
	close(fd);
	if (!buf)
		return -ENOMEM;
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* Read DIR/name (missing: empty) as a list; lines that are not a task are skipped. */
static int read_list(const struct task_store *s, const char *name, struct task_list *out)
{
	char *text = NULL, *line, *save = NULL;
	size_t len;
	int r;

	r = read_store_file(s, name, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	for (line = strtok_r(text, "\n", &save); line && r == 0;
	     line = strtok_r(NULL, "\n", &save)) {
		struct task_info t;

		if (task_line_parse(line, &t) == 0)
			r = task_list_push(out, &t);
	}
	free(text);
	return r;
}

static int write_list(const struct task_store *s, const char *name, const struct task_list *l)
{
	struct buf b = BUF_INIT;
	char path[PATH_MAX], line[UPID_MAX + TASK_STATUS_MAX + 16];
	int r = 0;

	for (size_t i = 0; i < l->n && r == 0; i++) {
		r = task_line_format(&l->v[i], line, sizeof(line));
		if (r == 0)
			r = buf_append(&b, line, strlen(line));
	}
	snprintf(path, sizeof(path), "%s/%s", store_dir(s), name);
	if (r == 0)
		r = write_file_atomic(path, b.data ? (const void *)b.data : "", b.len, 0644);
	buf_free(&b);
	return r;
}

static int append_lines(const struct task_store *s, const char *name, const struct task_info *t,
			size_t n)
{
	char path[PATH_MAX], line[UPID_MAX + TASK_STATUS_MAX + 16];
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/%s", store_dir(s), name);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < n && r == 0; i++) {
		r = task_line_format(&t[i], line, sizeof(line));
		if (r == 0)
			r = write_all(fd, line, strlen(line));
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/* Lines in DIR/name (0 when missing): counted, not parsed, as it is asked at every archiving. */
static size_t count_lines(const struct task_store *s, const char *name)
{
	char *text = NULL;
	size_t len, n = 0;

	if (read_store_file(s, name, &text, &len) < 0)
		return 0;
	for (const char *p = text; (p = memchr(p, '\n', len - (size_t)(p - text))); p++)
		n++;
	free(text);
	return n;
}

/* Cut the index back to its newest TASK_INDEX_MAX, removing the logs of what goes. */
static int trim_index(const struct task_store *s)
{
	struct task_list idx = { 0 }, keep;
	char log[PATH_MAX];
	int r;

	if (count_lines(s, "index") <= TASK_INDEX_MAX + INDEX_SLACK)
		return 0;
	r = read_list(s, "index", &idx);
	if (r < 0 || idx.n <= TASK_INDEX_MAX + INDEX_SLACK) {
		task_list_free(&idx);
		return r;
	}
	for (size_t i = 0; i < idx.n - TASK_INDEX_MAX; i++)
		if (upid_log_path(store_dir(s), idx.v[i].upid, log, sizeof(log)) == 0)
			unlink(log);
	keep.v = idx.v + (idx.n - TASK_INDEX_MAX);
	keep.n = TASK_INDEX_MAX;
	r = write_list(s, "index", &keep);
	task_list_free(&idx);
	return r;
}

/* Move the oldest finished tasks past TASK_RECENT_MAX from l (active) to the index. */
static int archive_old(const struct task_store *s, struct task_list *l)
{
	size_t finished = 0, moved = 0, keep = 0;
	struct task_info *old;
	int r;

	for (size_t i = 0; i < l->n; i++)
		finished += !l->v[i].running;
	if (finished <= TASK_RECENT_MAX)
		return 0;
	old = calloc(finished - TASK_RECENT_MAX, sizeof(*old));
	if (!old)
		return -ENOMEM;
	/* l is in start order: the first finished ones are the oldest */
	for (size_t i = 0; i < l->n; i++) {
		if (!l->v[i].running && moved < finished - TASK_RECENT_MAX)
			old[moved++] = l->v[i];
		else
			l->v[keep++] = l->v[i];
	}
	l->n = keep;
	r = append_lines(s, "index", old, moved);
	free(old);
	return r < 0 ? r : trim_index(s);
}

/* Write active (archiving what is old) and publish it. */
static int commit(const struct task_store *s, struct task_list *l)
{
	int r = archive_old(s, l);

	if (r == 0)
		r = write_list(s, "active", l);
	if (r == 0 && s->publish)
		s->publish(s->ctx, l);
	return r;
}

/*
 * Run change(l, arg) on active under the lock; commit when it returns 1
 * (changed). Returns 1 (changed), 0 (nothing to do) or -errno.
 */
static int update(const struct task_store *s, int (*change)(struct task_list *l, void *arg),
		  void *arg, bool create)
{
	struct task_list l = { 0 };
	int fd = store_lock(s, create), r;

	if (fd == -ENOENT && !create)
		return 0;
	if (fd < 0)
		return fd;
	r = read_list(s, "active", &l);
	if (r == 0)
		r = change(&l, arg);
	if (r > 0) {
		int c = commit(s, &l);

		r = c < 0 ? c : 1;
	}
	task_list_free(&l);
	store_unlock(fd);
	return r;
}

static int find(const struct task_list *l, const char *upid)
{
	for (size_t i = 0; i < l->n; i++)
		if (streq(l->v[i].upid, upid))
			return (int)i;
	return -1;
}

static int change_add(struct task_list *l, void *arg)
{
	struct task_info t;
	int r;

	if (task_line_parse(arg, &t) < 0 || !t.running)
		return -EINVAL;
	if (find(l, t.upid) >= 0)
		return 0;
	r = task_list_push(l, &t);
	return r < 0 ? r : 1;
}

int task_store_add(const struct task_store *s, const char *upid)
{
	int r;

	if (strchr(upid, ' '))
		return -EINVAL;
	r = update(s, change_add, (void *)upid, true);
	return r < 0 ? r : 0;
}

static int change_finish(struct task_list *l, void *arg)
{
	const struct task_info *done = arg;
	int i = find(l, done->upid);

	if (i < 0)
		return task_list_push(l, done) < 0 ? -ENOMEM : 1;
	if (!l->v[i].running)
		return 0;
	l->v[i] = *done;
	return 1;
}

/* A status goes on one line: newlines and other control characters become blanks. */
static void status_copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src && *src ? src : "unknown error");
	for (char *p = dst; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

int task_store_finish(const struct task_store *s, const char *upid, int64_t endtime,
		      const char *status)
{
	struct task_info t;
	int r;

	if (strchr(upid, ' ') || task_line_parse(upid, &t) < 0)
		return -EINVAL;
	t.running = false;
	t.endtime = endtime;
	status_copy(t.status, sizeof(t.status), status);
	r = update(s, change_finish, &t, true);
	return r < 0 ? r : 0;
}

struct sweep_arg {
	const struct task_store *s;
	const char *node;
	int64_t now;
};

static int change_sweep(struct task_list *l, void *arg)
{
	struct sweep_arg *a = arg;
	int changed = 0;

	for (size_t i = 0; i < l->n; i++) {
		struct task_info *t = &l->v[i];
		char status[TASK_STATUS_MAX];

		if (!t->running || !streq(t->u.node, a->node) || task_worker_alive(&t->u))
			continue;
		/* its end may be in the log: the worker wrote it and died before recording it */
		if (task_log_end_status(store_dir(a->s), t->upid, status, sizeof(status)) != 1)
			snprintf(status, sizeof(status), "%s", TASK_STATUS_UNEXPECTED);
		t->running = false;
		t->endtime = a->now;
		status_copy(t->status, sizeof(t->status), status);
		changed = 1;
	}
	return changed;
}

int task_store_sweep(const struct task_store *s, const char *node, int64_t now, bool *changed)
{
	struct sweep_arg a = { s, node, now };
	int r = update(s, change_sweep, &a, false);

	if (changed)
		*changed = r > 0;
	return r < 0 ? r : 0;
}

int task_store_list(const struct task_store *s, bool archive, struct task_list *out)
{
	int r;

	*out = (struct task_list){ 0 };
	r = archive ? read_list(s, "index", out) : 0;
	if (r == 0)
		r = read_list(s, "active", out);
	if (r < 0)
		task_list_free(out);
	return r;
}

int task_store_publish(const struct task_store *s)
{
	struct task_list l = { 0 };
	int fd = store_lock(s, false), r;

	if (fd == -ENOENT)
		fd = store_lock(s, true); /* an empty list is worth publishing too */
	if (fd < 0)
		return fd;
	r = read_list(s, "active", &l);
	if (r == 0 && s->publish)
		s->publish(s->ctx, &l);
	task_list_free(&l);
	store_unlock(fd);
	return r;
}
