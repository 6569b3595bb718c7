/* SPDX-License-Identifier: MIT */
/*
 * Tasks as they run: the store's lines and state transitions (running,
 * finished, archived, swept when the worker died), the log layout and its
 * end lines, the published JSON, and real workers (forked) that end OK,
 * with an error, stopped by a signal, or killed without writing an end.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "basic/buf.h"
#include "basic/util.h"
#include "libdrover/task/task.h"
#include "libdrover/task/task_json.h"
#include "libdrover/task/task_log.h"
#include "libdrover/task/task_store.h"

struct fixture {
	char dir[64];
	struct task_env env;
	struct task_store store;
	int publishes;
	struct task_list published;
};

static void count_publish(void *ctx, const struct task_list *l)
{
	struct fixture *f = ctx;

	f->publishes++;
	task_list_free(&f->published);
	f->published.v = calloc(l->n ? l->n : 1, sizeof(*l->v));
	memcpy(f->published.v, l->v, l->n * sizeof(*l->v));
	f->published.n = l->n;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/drover-task-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->env = (struct task_env){
		.dir = f->dir, .node = "node1", .no_publish = true, .stop_grace_s = 1
	};
	f->store = (struct task_store){ .dir = f->dir, .publish = count_publish, .ctx = f };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tmpdir_remove(f->dir);
	task_list_free(&f->published);
	free(f);
	return 0;
}

static void make_upid(char *out, uint32_t pid, uint32_t start, const char *type, const char *id)
{
	struct upid u = { .node = "node1", .pid = pid, .pstart = 1234, .starttime = start };

	snprintf(u.type, sizeof(u.type), "%s", type);
	snprintf(u.id, sizeof(u.id), "%s", id);
	snprintf(u.user, sizeof(u.user), "root@pam");
	assert_true(upid_format(&u, out, UPID_MAX) > 0);
}

static char *slurp(const char *path)
{
	char *text = NULL;
	size_t len;

	if (read_file_max(path, 1 << 20, &text, &len) < 0)
		return NULL;
	return text;
}

static void test_lines(void **state)
{
	struct task_info t;
	char line[512], upid[UPID_MAX];

	make_upid(upid, 77, 1700000000, "qmstart", "100");
	assert_int_equal(task_line_parse(upid, &t), 0);
	assert_true(t.running);
	assert_int_equal(t.u.pid, 77);
	assert_int_equal(task_line_format(&t, line, sizeof(line)), 0);
	assert_string_equal(line, "UPID:node1:0000004D:000004D2:6553F100:qmstart:100:root@pam:\n");

	t.running = false;
	t.endtime = 0x6553F1AB;
	strcpy(t.status, "disk full: no space left");
	assert_int_equal(task_line_format(&t, line, sizeof(line)), 0);
	assert_string_equal(line,
			    "UPID:node1:0000004D:000004D2:6553F100:qmstart:100:root@pam: 6553F1AB "
			    "disk full: no space left\n");
	line[strlen(line) - 1] = '\0';
	assert_int_equal(task_line_parse(line, &t), 0);
	assert_false(t.running);
	assert_int_equal(t.endtime, 0x6553F1AB);
	assert_string_equal(t.status, "disk full: no space left");

	/* not tasks */
	assert_int_equal(task_line_parse("", &t), -EINVAL);
	assert_int_equal(task_line_parse("garbage", &t), -EINVAL);
	snprintf(line, sizeof(line), "%s 6553F1AB", upid); /* no status */
	assert_int_equal(task_line_parse(line, &t), -EINVAL);
	snprintf(line, sizeof(line), "%s 6553F1AZ OK", upid);
	assert_int_equal(task_line_parse(line, &t), -EINVAL);
	snprintf(line, sizeof(line), "%s 6553F1AB  ", upid); /* status is a blank: accepted */
	assert_int_equal(task_line_parse(line, &t), 0);
}

static void test_store_transitions(void **state)
{
	struct fixture *f = *state;
	struct task_list l = { 0 };
	char a[UPID_MAX], b[UPID_MAX], path[128], *text;

	make_upid(a, 10, 1700000000, "qmstart", "100");
	make_upid(b, 11, 1700000005, "vzstart", "200");
	assert_int_equal(task_store_add(&f->store, a), 0);
	assert_int_equal(task_store_add(&f->store, b), 0);
	assert_int_equal(task_store_add(&f->store, a), 0); /* twice: recorded once */
	assert_int_equal(f->publishes, 2);
	assert_int_equal(f->published.n, 2);

	assert_int_equal(task_store_finish(&f->store, a, 1700000003, "OK"), 0);
	/* a second end does not overwrite the first */
	assert_int_equal(task_store_finish(&f->store, a, 1700000009, "late error"), 0);
	assert_int_equal(task_store_finish(&f->store, b, 1700000009, "line one\nline two"), 0);
	assert_int_equal(task_store_list(&f->store, false, &l), 0);
	assert_int_equal(l.n, 2);
	assert_false(l.v[0].running);
	assert_string_equal(l.v[0].status, "OK");
	assert_int_equal(l.v[0].endtime, 1700000003);
	assert_string_equal(l.v[1].status, "line one line two");
	task_list_sort_newest(&l);
	assert_string_equal(l.v[0].upid, b);
	task_list_free(&l);

	/* a hostile line in active is skipped and dropped at the next change */
	snprintf(path, sizeof(path), "%s/active", f->dir);
	{
		FILE *fp = fopen(path, "a");

		fputs("not a task at all\n", fp);
		fclose(fp);
	}
	assert_int_equal(task_store_list(&f->store, false, &l), 0);
	assert_int_equal(l.n, 2);
	task_list_free(&l);
	assert_int_equal(task_store_finish(&f->store, "UPID:bad", 1, "x"), -EINVAL);
	make_upid(a, 12, 1700000010, "startall", "");
	assert_int_equal(task_store_add(&f->store, a), 0);
	text = slurp(path);
	assert_null(strstr(text, "not a task"));
	assert_non_null(strstr(text, ":startall::root@pam:\n"));
	free(text);
}

static void test_store_archive(void **state)
{
	struct fixture *f = *state;
	struct task_list l = { 0 };
	char upid[UPID_MAX], running[UPID_MAX], log[256];
	size_t n = TASK_RECENT_MAX + TASK_INDEX_MAX + 250;

	make_upid(running, 5, 1600000000, "qmstart", "1");
	assert_int_equal(task_store_add(&f->store, running), 0);
	for (size_t i = 0; i < n; i++) {
		make_upid(upid, (uint32_t)(100 + i), 1700000000 + (uint32_t)i, "vzdump", "100");
		assert_int_equal(task_store_add(&f->store, upid), 0);
		/* every log of an archived task exists until the index lets it go */
		assert_int_equal(upid_log_path(f->dir, upid, log, sizeof(log)), 0);
		*strrchr(log, '/') = '\0';
		mkdir(log, 0755);
		assert_int_equal(upid_log_path(f->dir, upid, log, sizeof(log)), 0);
		close(open(log, O_WRONLY | O_CREAT, 0644));
		assert_int_equal(task_store_finish(&f->store, upid, 1700000001 + (int64_t)i, "OK"),
				 0);
	}
	/* active: the running one (however old) and the newest finished */
	assert_int_equal(task_store_list(&f->store, false, &l), 0);
	assert_int_equal(l.n, TASK_RECENT_MAX + 1);
	assert_string_equal(l.v[0].upid, running);
	assert_true(l.v[0].running);
	task_list_free(&l);
	/* the archive is bounded and its oldest logs are gone */
	assert_int_equal(task_store_list(&f->store, true, &l), 0);
	assert_true(l.n <= TASK_INDEX_MAX + 200 + TASK_RECENT_MAX + 1);
	assert_true(l.n >= TASK_INDEX_MAX + TASK_RECENT_MAX + 1);
	task_list_free(&l);
	make_upid(upid, 100, 1700000000, "vzdump", "100");
	assert_int_equal(upid_log_path(f->dir, upid, log, sizeof(log)), 0);
	assert_int_equal(access(log, F_OK), -1);
	make_upid(upid, (uint32_t)(100 + n - 1), 1700000000 + (uint32_t)(n - 1), "vzdump", "100");
	assert_int_equal(upid_log_path(f->dir, upid, log, sizeof(log)), 0);
	assert_int_equal(access(log, F_OK), 0);
}

static int collect(void *ctx, const char *line)
{
	struct buf *b = ctx;

	return buf_printf(b, "%s|", line);
}

static int op_ok(void *arg, const struct drover_reporter *log, struct drover_err *err)
{
	drover_report_log(log, "starting VM %s", (const char *)arg);
	drover_report_log(log, "two\nlines");
	drover_report_bytes(log, 512, 1024, 0, 1);
	drover_report_bytes(log, 1024, 1024, 0, 2);
	return 0;
}

static int op_fail(void *arg, const struct drover_reporter *log, struct drover_err *err)
{
	drover_report_log(log, "trying");
	return drover_fail(err, -EIO, "disk %s is gone", (const char *)arg);
}

/* Waits (as a slow operation would) until stopped, then gives up. */
static int op_wait(void *arg, const struct drover_reporter *log, struct drover_err *err)
{
	drover_report_log(log, "waiting");
	while (!task_interrupted())
		pause();
	return -EINTR;
}

/* Ignores stops: the grace period ends the task. */
static int op_stubborn(void *arg, const struct drover_reporter *log, struct drover_err *err)
{
	drover_report_log(log, "not listening");
	for (;;)
		pause();
	return 0;
}

static int wait_exit(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void read_log(struct fixture *f, const char *upid, struct buf *b, char *status, int want)
{
	buf_clear(b);
	assert_int_equal(task_log_read(f->dir, upid, NULL, collect, b, status, TASK_STATUS_MAX),
			 want);
	assert_int_equal(buf_terminate(b), 0);
}

static void test_worker_ok_and_error(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };
	struct task_worker w;
	struct task_list l = { 0 };
	struct buf b = BUF_INIT;
	char status[TASK_STATUS_MAX], path[256];
	struct stat st;

	assert_int_equal(task_fork(&f->env, &(struct task_spec){ "qmstart", "100", NULL }, op_ok,
				   "100", &w, &err),
			 0);
	assert_int_equal(wait_exit(w.pid), 0);
	assert_non_null(strstr(w.upid, ":qmstart:100:root@pam:"));
	/* the log's place: DIR/<last digit of the start time>/UPID */
	assert_int_equal(upid_log_path(f->dir, w.upid, path, sizeof(path)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	read_log(f, w.upid, &b, status, 1);
	assert_string_equal((char *)b.data,
			    "starting VM 100|two|lines|transferred 1.0 KiB of 1.0 KiB "
			    "(100.00%)|TASK OK|");
	assert_string_equal(status, "OK");
	assert_int_equal(task_log_end_status(f->dir, w.upid, status, sizeof(status)), 1);
	assert_int_equal(task_store_list(&(struct task_store){ .dir = f->dir }, false, &l), 0);
	assert_int_equal(l.n, 1);
	assert_false(l.v[0].running);
	assert_string_equal(l.v[0].status, "OK");
	task_list_free(&l);

	assert_int_equal(task_fork(&f->env, &(struct task_spec){ "qmstart", "101", NULL }, op_fail,
				   "scsi0", &w, &err),
			 0);
	assert_int_equal(wait_exit(w.pid), 1);
	read_log(f, w.upid, &b, status, 1);
	assert_string_equal((char *)b.data, "trying|TASK ERROR: disk scsi0 is gone|");
	assert_string_equal(status, "disk scsi0 is gone");

	/* a task that cannot be named does not begin */
	assert_int_equal(task_fork(&f->env, &(struct task_spec){ "bad type", "1", NULL }, op_ok,
				   "x", &w, &err),
			 -EINVAL);
	assert_non_null(strstr(err.text, "bad type"));
	buf_free(&b);
}

static void test_worker_stopped(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };
	struct task_worker w;
	struct buf b = BUF_INIT;
	char status[TASK_STATUS_MAX];
	struct upid u;

	assert_int_equal(task_fork(&f->env, &(struct task_spec){ "vzdump", "100", NULL }, op_wait,
				   NULL, &w, &err),
			 0);
	assert_int_equal(upid_parse(w.upid, &u), 0);
	assert_true(task_worker_alive(&u));
	/* until its end line it is not over */
	usleep(50000);
	read_log(f, w.upid, &b, status, 0);
	assert_int_equal(task_stop(&u), 0);
	assert_int_equal(wait_exit(w.pid), 1);
	assert_false(task_worker_alive(&u));
	assert_int_equal(task_stop(&u), -ESRCH);
	read_log(f, w.upid, &b, status, 1);
	assert_string_equal((char *)b.data, "waiting|TASK ERROR: interrupted by signal|");
	buf_free(&b);
}

static void test_worker_grace(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };
	struct task_worker w;
	struct task_list l = { 0 };
	struct buf b = BUF_INIT;
	char status[TASK_STATUS_MAX];
	struct upid u;
	bool changed;

	assert_int_equal(task_fork(&f->env, &(struct task_spec){ "vzdump", "100", NULL },
				   op_stubborn, NULL, &w, &err),
			 0);
	assert_int_equal(upid_parse(w.upid, &u), 0);
	usleep(50000);
	assert_int_equal(task_stop(&u), 0);
	/* the operation ignores it: the end comes after the grace period (1 s here) */
	assert_int_equal(wait_exit(w.pid), 1);
	read_log(f, w.upid, &b, status, 1);
	assert_string_equal(status, "interrupted by signal");
	/* the store learns it from the log */
	assert_int_equal(task_store_sweep(&f->store, "node1", 1800000000, &changed), 0);
	assert_true(changed);
	assert_int_equal(task_store_list(&f->store, false, &l), 0);
	assert_string_equal(l.v[0].status, "interrupted by signal");
	task_list_free(&l);
	buf_free(&b);
}

static void test_worker_killed(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };
	struct task_worker w;
	struct task_list l = { 0 };
	char other[UPID_MAX];
	bool changed;

	assert_int_equal(task_fork(&f->env, &(struct task_spec){ "qmstart", "100", NULL }, op_wait,
				   NULL, &w, &err),
			 0);
	/* another node's running task is not ours to judge */
	snprintf(other, sizeof(other), "UPID:node2:00000001:00000001:6553F100:qmstart:7:root@pam:");
	assert_int_equal(task_store_add(&f->store, other), 0);
	assert_int_equal(task_store_sweep(&f->store, "node1", 1800000000, &changed), 0);
	assert_false(changed);
	kill(w.pid, SIGKILL);
	assert_int_equal(wait_exit(w.pid), 128 + SIGKILL);
	assert_int_equal(task_store_sweep(&f->store, "node1", 1800000000, &changed), 0);
	assert_true(changed);
	assert_int_equal(task_store_list(&f->store, false, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].status, "unexpected status");
	assert_int_equal(l.v[0].endtime, 1800000000);
	assert_true(l.v[1].running);
	task_list_free(&l);
	assert_int_equal(task_store_sweep(&f->store, "node1", 1800000001, &changed), 0);
	assert_false(changed);
}

struct follow_state {
	pid_t pid;
};

static bool child_alive(void *ctx)
{
	struct follow_state *s = ctx;

	return waitpid(s->pid, NULL, WNOHANG) == 0;
}

static int op_slow(void *arg, const struct drover_reporter *log, struct drover_err *err)
{
	for (int i = 0; i < 3; i++) {
		drover_report_log(log, "step %d", i);
		usleep(100000);
	}
	return 0;
}

static void test_follow(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };
	struct task_worker w;
	struct buf b = BUF_INIT;
	char status[TASK_STATUS_MAX];
	struct follow_state fs;
	struct task_log_follow follow = { child_alive, &fs };

	assert_int_equal(task_fork(&f->env, &(struct task_spec){ "qmigrate", "100", NULL }, op_slow,
				   NULL, &w, &err),
			 0);
	fs.pid = w.pid;
	assert_int_equal(
		task_log_read(f->dir, w.upid, &follow, collect, &b, status, sizeof(status)), 1);
	assert_int_equal(buf_terminate(&b), 0);
	assert_string_equal((char *)b.data, "step 0|step 1|step 2|TASK OK|");
	waitpid(w.pid, NULL, 0);

	/* a killed worker: following ends without an end line */
	buf_clear(&b);
	assert_int_equal(task_fork(&f->env, &(struct task_spec){ "qmigrate", "101", NULL },
				   op_stubborn, NULL, &w, &err),
			 0);
	usleep(50000);
	kill(w.pid, SIGKILL);
	assert_int_equal(task_log_read(f->dir, w.upid, &(struct task_log_follow){ 0 }, collect, &b,
				       status, sizeof(status)),
			 0);
	assert_int_equal(buf_terminate(&b), 0);
	assert_string_equal((char *)b.data, "not listening|");
	waitpid(w.pid, NULL, 0);
	assert_int_equal(
		task_log_read(f->dir, "UPID:nope", NULL, collect, &b, status, sizeof(status)),
		-EINVAL);
	buf_free(&b);
}

static void test_json(void **state)
{
	struct task_list l = { 0 }, back = { 0 };
	char *json;

	l.v = calloc(3, sizeof(*l.v));
	l.n = 3;
	make_upid(l.v[0].upid, 1, 1700000000, "qmstart", "100");
	make_upid(l.v[1].upid, 2, 1700000100, "startall", "");
	make_upid(l.v[2].upid, 3, 1600000000, "vzdump", "101");
	for (int i = 0; i < 3; i++)
		upid_parse(l.v[i].upid, &l.v[i].u);
	l.v[0].endtime = 1700000005;
	strcpy(l.v[0].status, "OK");
	l.v[1].endtime = 1700000105;
	strcpy(l.v[1].status, "a \"quoted\" error");
	l.v[2].running = true;
	assert_int_equal(task_list_to_json(&l, TASK_JSON_MAX, &json), 0);
	/* running first, then newest first */
	assert_string_equal(
		json, "[{\"upid\":\"UPID:node1:00000003:000004D2:5F5E1000:vzdump:101:root@pam:\","
		      "\"status\":\"running\"},"
		      "{\"upid\":\"UPID:node1:00000002:000004D2:6553F164:startall::root@pam:\","
		      "\"status\":\"a \\\"quoted\\\" error\",\"endtime\":1700000105},"
		      "{\"upid\":\"UPID:node1:00000001:000004D2:6553F100:qmstart:100:root@pam:\","
		      "\"status\":\"OK\",\"endtime\":1700000005}]");
	assert_int_equal(task_list_from_json(json, &back), 0);
	assert_int_equal(back.n, 3);
	assert_true(back.v[0].running);
	assert_string_equal(back.v[1].status, "a \"quoted\" error");
	assert_int_equal(back.v[2].endtime, 1700000005);
	assert_int_equal(back.v[2].u.pid, 1);
	free(json);
	task_list_free(&back);

	/* the size bound drops the oldest finished first */
	assert_int_equal(task_list_to_json(&l, 250, &json), 0);
	assert_int_equal(task_list_from_json(json, &back), 0);
	assert_int_equal(back.n, 2);
	assert_true(back.v[0].running);
	free(json);
	task_list_free(&back);
	task_list_free(&l);

	/* hostile input: not a list, or entries that are not tasks */
	assert_int_equal(task_list_from_json("{\"a\": 1}", &back), -EINVAL);
	assert_int_equal(task_list_from_json("not json", &back), -EINVAL);
	assert_int_equal(task_list_from_json("[1, {\"upid\": \"UPID:x\", \"status\": \"OK\"},"
					     "{\"upid\": 5}, {\"status\": \"OK\"}]",
					     &back),
			 0);
	assert_int_equal(back.n, 0);
	task_list_free(&back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test_setup_teardown(test_store_transitions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_archive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_worker_ok_and_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_worker_stopped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_worker_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_worker_killed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follow, setup, teardown),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
