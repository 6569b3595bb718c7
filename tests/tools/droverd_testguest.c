/* SPDX-License-Identifier: MIT */
/*
 * droverd with a test guest type, for the integration tests only (never
 * installed, never started by drover itself: a test points the sandbox at
 * it with $DROVER_DROVERD). It is the real droverd, but its "qemu" guests
 * are plain processes (sleep), so the cold start and the stop of a node's
 * guests can be tested before `drover vm start` exists:
 *
 *   start     runs `sleep 1000000` detached, its pid in DIR/VMID.pid, and
 *             appends "start VMID NS" to DIR/events (NS: CLOCK_REALTIME);
 *             waits DIR/start-delay seconds first if that file exists
 *   shutdown  SIGTERM, waits up to the timeout (SIGKILL with force_stop),
 *             appends "stop VMID NS"
 *   runtime   running while the pid in DIR/VMID.pid is alive
 *
 * DIR is /run/drover/testguest (a sandbox node's own /run).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/process.h"
#include "basic/util.h"
#include "droverd/droverd.h"
#include "libdrover/guest/guest_runtime.h"

#define DIR "/run/drover/testguest"

static void event(const char *what, uint32_t vmid)
{
	struct timespec ts;
	char line[96];
	int fd = open(DIR "/events", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (fd < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(line, sizeof(line), "%s %" PRIu32 " %lld%09ld\n", what, vmid, (long long)ts.tv_sec,
		 ts.tv_nsec);
	write_all(fd, line, strlen(line));
	close(fd);
}

static void pid_path(uint32_t vmid, char *out, size_t len)
{
	snprintf(out, len, DIR "/%" PRIu32 ".pid", vmid);
}

static pid_t guest_pid(uint32_t vmid)
{
	char path[128];
	pid_t pid;

	pid_path(vmid, path, sizeof(path));
	pid = pid_from_file(path);
	return pid > 0 && process_alive(pid) ? pid : 0;
}

/* sleep(1) detached from the task worker (which exits), its pid through a pipe. */
static pid_t spawn_guest(void)
{
	int fds[2];
	pid_t pid, child = 0;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		setsid();
		child = fork();
		if (child == 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			close_range(3, ~0U, 0);
			execl("/bin/sleep", "sleep", "1000000", (char *)NULL);
			_exit(127);
		}
		write_all(fds[1], &child, sizeof(child));
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &child, sizeof(child)) != sizeof(child))
		child = -EIO;
	close(fds[0]);
	waitpid(pid, NULL, 0);
	return child;
}

static int tg_start(void *ctx, uint32_t vmid, const struct drover_reporter *log,
		    struct drover_err *err)
{
	char path[128], text[32];
	unsigned delay = 0;
	FILE *f;
	pid_t pid;

	mkdir("/run/drover", 0755);
	mkdir(DIR, 0755);
	f = fopen(DIR "/start-delay", "re");
	if (f) {
		if (fscanf(f, "%u", &delay) != 1)
			delay = 0;
		fclose(f);
	}
	drover_report_log(log, "test guest %" PRIu32 ": starting (delay %u s)", vmid, delay);
	for (unsigned i = 0; i < delay; i++) {
		if (task_interrupted())
			return drover_fail(err, -EINTR, "interrupted");
		sleep(1);
		drover_report_log(log, "test guest %" PRIu32 ": %u s", vmid, i + 1);
	}
	if (guest_pid(vmid))
		return drover_fail(err, -EEXIST, "test guest %" PRIu32 " runs already", vmid);
	pid = spawn_guest();
	if (pid < 0)
		return drover_fail(err, pid, "starting sleep: %s", strerror(-pid));
	pid_path(vmid, path, sizeof(path));
	snprintf(text, sizeof(text), "%d\n", (int)pid);
	write_file_atomic(path, text, strlen(text), 0644);
	event("start", vmid);
	drover_report_log(log, "test guest %" PRIu32 ": running, pid %d", vmid, (int)pid);
	return 0;
}

static int tg_shutdown(void *ctx, uint32_t vmid, unsigned timeout_s, bool force_stop,
		       const struct drover_reporter *log, struct drover_err *err)
{
	pid_t pid = guest_pid(vmid);
	int r;

	if (!pid)
		return 0;
	drover_report_log(log, "test guest %" PRIu32 ": SIGTERM to %d", vmid, (int)pid);
	r = process_stop(pid, force_stop ? (int)timeout_s * 1000 : INT32_MAX);
	if (r < 0 && r != -ESRCH)
		return drover_fail(err, r, "stopping test guest %" PRIu32 ": %s", vmid,
				   strerror(-r));
	event("stop", vmid);
	return 0;
}

static int tg_runtime(void *ctx, uint32_t vmid, struct qemu_proc_index *procs,
		      struct guest_runtime *rt)
{
	pid_t pid = guest_pid(vmid);

	memset(rt, 0, sizeof(*rt));
	return pid ? guest_runtime_from_pid(pid, rt) : 0;
}

static void test_guests(struct guest_ops_table *ops)
{
	ops->type[GUEST_QEMU] = (struct guest_ops){
		.start = tg_start,
		.shutdown = tg_shutdown,
		.runtime = tg_runtime,
	};
}

int main(int argc, char **argv)
{
	return droverd_main(argc, argv, test_guests);
}
