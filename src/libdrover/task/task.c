/* SPDX-License-Identifier: MIT */
#include "task.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/buf.h"
#include "basic/util.h"
#include "libdrover/cfs/kv.h"
#include "task_json.h"
#include "task_log.h"

/* A "transferred" line at most this often (and once at the end). */
#define BYTES_LINE_INTERVAL_NS (5ull * 1000 * 1000 * 1000)

struct task {
	struct task_env env;
	struct task_store store;
	char upid[UPID_MAX];
	int log_fd;
	struct drover_reporter reporter;
	uint64_t bytes_line_ns; /* elapsed_ns of the last "transferred" line */
};

/*
 * The worker's signal state. A signal handler can only reach what is
 * static, and a worker is one task in one process, so this is the one
 * place the task code keeps state outside its structs.
 */
static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t last_resort_fd = -1;
static volatile sig_atomic_t stop_grace_s = TASK_STOP_GRACE_S;

bool task_interrupted(void)
{
	return stop_signal != 0;
}

int task_node_name(const char *cfs_socket, char *out, size_t len)
{
	struct ipc_client c;
	struct buf status = BUF_INIT;
	char host[256];
	int r = cfs_ipc_connect(&c, cfs_socket, 5000);

	if (r == 0) {
		r = cfs_get_json(&c, IPC_STATUS, &status);
		ipc_client_close(&c);
	}
	if (r == 0) {
		struct json_object *o = json_tokener_parse((char *)status.data), *node;
		bool found = o && json_object_object_get_ex(o, "node", &node) &&
			     json_object_is_type(node, json_type_string) &&
			     node_name_valid(json_object_get_string(node));

		if (found)
			snprintf(out, len, "%s", json_object_get_string(node));
		json_object_put(o);
		buf_free(&status);
		if (found)
			return 0;
	}
	buf_free(&status);
	if (gethostname(host, sizeof(host)) < 0)
		return -errno;
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, ".")] = '\0';
	if (!node_name_valid(host))
		return -EINVAL;
	snprintf(out, len, "%s", host);
	return 0;
}

void task_env_store(const struct task_env *env, struct task_store *store)
{
	store->dir = env->dir;
	store->publish = env->no_publish ? NULL : task_publish_cfs;
	store->ctx = (void *)env->cfs_socket;
}

const char *task_upid(const struct task *t)
{
	return t->upid;
}

/* Append text to the log, one line per '\n'-separated part, each with one write(). */
static void log_text(struct task *t, const char *text)
{
	struct buf b = BUF_INIT;

	if (buf_append(&b, text, strlen(text)) == 0 && buf_append(&b, "\n", 1) == 0)
		write_all(t->log_fd, b.data, b.len);
	buf_free(&b);
}

static void log_bytes(struct task *t, const struct drover_event *ev)
{
	char done[32], total[32], line[160];
	bool last = ev->total && ev->done >= ev->total;

	if (!last && ev->elapsed_ns < t->bytes_line_ns + BYTES_LINE_INTERVAL_NS)
		return;
	t->bytes_line_ns = ev->elapsed_ns;
	format_size(ev->done, done, sizeof(done));
	if (ev->total)
		snprintf(line, sizeof(line), "transferred %s of %s (%.2f%%)", done,
			 format_size(ev->total, total, sizeof(total)),
			 100.0 * (double)ev->done / (double)ev->total);
	else
		snprintf(line, sizeof(line), "transferred %s", done);
	log_text(t, line);
}

static void report(void *ctx, const struct drover_event *ev)
{
	struct task *t = ctx;

	if (ev->kind == DROVER_EVENT_BYTES)
		log_bytes(t, ev);
	else if (ev->text)
		log_text(t, ev->text);
}

const struct drover_reporter *task_reporter(struct task *t)
{
	return &t->reporter;
}

static int open_log(const struct task_env *env, const char *upid, struct drover_err *err)
{
	char path[PATH_MAX], dir[PATH_MAX];
	int fd, r = upid_log_path(env->dir ? env->dir : TASK_DIR_DEFAULT, upid, path, sizeof(path));

	if (r < 0)
		return drover_fail(err, r, "%s: no place for its log", upid);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return drover_fail(err, -errno, "%s: %s", dir, strerror(errno));
	/* O_EXCL: the same UPID twice (one process, one second, one type and id) is refused */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return drover_fail(err, -errno, "%s: %s", path, strerror(errno));
	return fd;
}

static int make_upid(const struct task_env *env, const struct task_spec *spec, char *out,
		     struct drover_err *err)
{
	struct upid u = { .pid = (uint32_t)getpid(), .starttime = (uint32_t)now_wall_s() };
	int r = upid_proc_start(getpid(), &u.pstart);

	if (r < 0)
		return drover_fail(err, r, "reading our own start time: %s", strerror(-r));
	snprintf(u.node, sizeof(u.node), "%s", env->node ? env->node : "");
	snprintf(u.type, sizeof(u.type), "%s", spec->type ? spec->type : "");
	snprintf(u.id, sizeof(u.id), "%s", spec->id ? spec->id : "");
	snprintf(u.user, sizeof(u.user), "%s", spec->user ? spec->user : TASK_USER_DEFAULT);
	r = upid_format(&u, out, UPID_MAX);
	if (r < 0)
		return drover_fail(
			err, -EINVAL,
			"no task for node '%s', type '%s', id '%s', user '%s': a field is "
			"empty, too long or holds ':' or a blank",
			u.node, u.type, u.id, u.user);
	return 0;
}

int task_begin(const struct task_env *env, const struct task_spec *spec, struct task **out,
	       struct drover_err *err)
{
	struct task *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return drover_fail(err, -ENOMEM, "out of memory");
	t->env = *env;
	t->log_fd = -1;
	task_env_store(env, &t->store);
	t->reporter.report = report;
	t->reporter.ctx = t;
	r = make_upid(env, spec, t->upid, err);
	if (r == 0 && (r = task_store_prepare(&t->store)) < 0)
		drover_fail(err, r, "%s: %s", env->dir ? env->dir : TASK_DIR_DEFAULT, strerror(-r));
	if (r == 0 && (r = open_log(env, t->upid, err)) >= 0) {
		t->log_fd = r;
		r = task_store_add(&t->store, t->upid);
		if (r < 0)
			drover_fail(err, r, "recording task %s: %s", t->upid, strerror(-r));
	}
	if (r < 0) {
		if (t->log_fd >= 0) {
			char path[PATH_MAX];

			close(t->log_fd);
			if (upid_log_path(env->dir ? env->dir : TASK_DIR_DEFAULT, t->upid, path,
					  sizeof(path)) == 0)
				unlink(path);
		}
		free(t);
		return r;
	}
	last_resort_fd = t->log_fd;
	*out = t;
	return 0;
}

int task_end(struct task *t, int r, const struct drover_err *err)
{
	char status[TASK_STATUS_MAX], line[TASK_STATUS_MAX + 16];
	sigset_t alarm_set;
	int rr;

	/* the last-resort end (on_alarm) must not write a second end line */
	sigemptyset(&alarm_set);
	sigaddset(&alarm_set, SIGALRM);
	sigprocmask(SIG_BLOCK, &alarm_set, NULL);
	last_resort_fd = -1;
	if (stop_signal)
		snprintf(status, sizeof(status), "%s", TASK_INTERRUPTED);
	else if (r >= 0)
		snprintf(status, sizeof(status), "%s", TASK_STATUS_OK);
	else
		snprintf(status, sizeof(status), "%.*s", (int)sizeof(status) - 1,
			 err && err->text[0] ? err->text : strerror(-r));
	/* one line: an error text with newlines would look like more log */
	for (char *p = status; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	if (streq(status, TASK_STATUS_OK))
		snprintf(line, sizeof(line), "%s\n", TASK_END_OK);
	else
		snprintf(line, sizeof(line), "%s%s\n", TASK_END_ERROR, status);
	write_all(t->log_fd, line, strlen(line));
	close(t->log_fd);
	rr = task_store_finish(&t->store, t->upid, now_wall_s(), status);
	free(t);
	return rr;
}

static void on_stop_signal(int sig)
{
	if (!stop_signal)
		alarm((unsigned)stop_grace_s);
	stop_signal = sig;
}

/* The operation did not give up in time: end the task without it. */
static void on_alarm(int sig)
{
	static const char line[] = TASK_END_ERROR TASK_INTERRUPTED "\n";
	int fd = last_resort_fd;

	if (fd >= 0 && write(fd, line, sizeof(line) - 1) < 0)
		_exit(1);
	_exit(1);
}

/* The worker's signals: stops are noted (no SA_RESTART: blocking calls return EINTR). */
static void worker_signals(void)
{
	struct sigaction stop = { .sa_handler = on_stop_signal }, alrm = { .sa_handler = on_alarm };
	static const int stops[] = { SIGTERM, SIGINT, SIGHUP };
	sigset_t none;

	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	for (size_t i = 0; i < ARRAY_SIZE(stops); i++)
		sigaction(stops[i], &stop, NULL);
	sigaction(SIGALRM, &alrm, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* stdin from /dev/null; stdout and stderr into the task's log (Proxmox's workers do this). */
static void worker_stdio(int log_fd)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		close(null);
	}
	fflush(stdout);
	fflush(stderr);
	dup2(log_fd, STDOUT_FILENO);
	dup2(log_fd, STDERR_FILENO);
}

/* The message from worker to parent: "U<upid>" once begun, "E<errno> <text>" if not. */
static void worker_main(int sync_fd, const struct task_env *env, const struct task_spec *spec,
			task_fn fn, void *arg)
{
	struct drover_err err = { "" };
	struct task *t;
	char msg[UPID_MAX + DROVER_ERR_MAX + 16];
	int r;

	stop_signal = 0;
	stop_grace_s = env->stop_grace_s ? (int)env->stop_grace_s : TASK_STOP_GRACE_S;
	worker_signals();
	r = task_begin(env, spec, &t, &err);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "E%d %s", -r, err.text);
		write_all(sync_fd, msg, strlen(msg));
		_exit(2);
	}
	snprintf(msg, sizeof(msg), "U%s", task_upid(t));
	write_all(sync_fd, msg, strlen(msg));
	close(sync_fd);
	worker_stdio(t->log_fd);
	r = stop_signal ? -EINTR : fn(arg, task_reporter(t), &err);
	task_end(t, r, &err);
	_exit(r < 0 || stop_signal ? 1 : 0);
}

/* Read the worker's first message (it closes the pipe after it). */
static int read_sync(int fd, char *msg, size_t len)
{
	size_t got = 0;

	while (got < len - 1) {
		ssize_t n = read(fd, msg + got, len - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	msg[got] = '\0';
	return (int)got;
}

int task_fork(const struct task_env *env, const struct task_spec *spec, task_fn fn, void *arg,
	      struct task_worker *w, struct drover_err *err)
{
	char msg[UPID_MAX + DROVER_ERR_MAX + 16];
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return drover_fail(err, -errno, "pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(fds[0]);
		close(fds[1]);
		return drover_fail(err, -e, "fork: %s", strerror(e));
	}
	if (pid == 0) {
		close(fds[0]);
		worker_main(fds[1], env, spec, fn, arg);
	}
	close(fds[1]);
	read_sync(fds[0], msg, sizeof(msg));
	close(fds[0]);
	if (msg[0] == 'U' && upid_parse(msg + 1, &(struct upid){ 0 }) == 0) {
		w->pid = pid;
		snprintf(w->upid, sizeof(w->upid), "%.*s", (int)sizeof(w->upid) - 1, msg + 1);
		return 0;
	}
	waitpid(pid, NULL, 0);
	if (msg[0] == 'E') {
		char *text = strchr(msg, ' ');
		int e = atoi(msg + 1);

		return drover_fail(err, e > 0 ? -e : -EIO, "%s", text ? text + 1 : "task failed");
	}
	return drover_fail(err, -EIO, "the task worker died before its task began");
}

int task_wait(const struct task_env *env, const struct task_worker *w, char *status, size_t len)
{
	bool passed_on = false;
	int wstatus;

	for (;;) {
		if (waitpid(w->pid, &wstatus, 0) == w->pid)
			break;
		if (errno != EINTR)
			return -errno;
		if (stop_signal && !passed_on) {
			kill(w->pid, SIGTERM);
			passed_on = true;
		}
	}
	return task_record_end(env, w, status, len);
}

int task_record_end(const struct task_env *env, const struct task_worker *w, char *status,
		    size_t len)
{
	struct task_store store;
	int r;

	r = task_log_end_status(env->dir ? env->dir : TASK_DIR_DEFAULT, w->upid, status, len);
	if (r != 1)
		snprintf(status, len, "%s", TASK_STATUS_UNEXPECTED);
	task_env_store(env, &store);
	/* the worker records its end itself; this only fills in for one that died first */
	return task_store_finish(&store, w->upid, now_wall_s(), status);
}

int task_stop(const struct upid *u)
{
	if (!task_worker_alive(u))
		return -ESRCH;
	return kill((pid_t)u->pid, SIGTERM) < 0 ? -errno : 0;
}
