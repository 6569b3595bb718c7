/* SPDX-License-Identifier: MIT */
#include "task_run.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "basic/util.h"
#include "libdrover/node/self.h"
#include "libdrover/task/task_log.h"

/* The worker a signal to the command is passed on to (a handler reaches only statics). */
static volatile sig_atomic_t worker_pid;

static void pass_on(int sig)
{
	if (worker_pid > 0)
		kill((pid_t)worker_pid, sig);
}

static int print_line(void *ctx, const char *line)
{
	if (printf("%s\n", line) < 0 || fflush(stdout) != 0)
		return -EIO;
	return 0;
}

/* Still running? Without reaping it: task_wait() does that. */
static bool worker_alive(void *ctx)
{
	const struct task_worker *w = ctx;
	siginfo_t si = { 0 };

	return waitid(P_PID, w->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == 0;
}

int cli_run_task(struct cli_context *ctx, const char *type, const char *id, task_fn fn, void *arg)
{
	struct task_env env = { .cfs_socket = ctx->socket_path };
	struct task_spec spec = { .type = type, .id = id };
	struct sigaction sa = { .sa_handler = pass_on }, old[3];
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct drover_err err = { "" };
	struct task_worker w;
	struct task_log_follow follow = { worker_alive, &w };
	char node[NODE_NAME_MAX + 1], status[TASK_STATUS_MAX];
	int r;

	r = node_self_name(ctx->socket_path, node, sizeof(node), &err);
	if (r < 0) {
		cli_error("%s", err.text);
		return CLI_EXIT_FAIL;
	}
	env.node = node;
	r = task_fork(&env, &spec, fn, arg, &w, &err);
	if (r < 0) {
		cli_error("%s", err.text);
		return CLI_EXIT_FAIL;
	}
	worker_pid = w.pid;
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, &old[i]);
	r = task_log_read(TASK_DIR_DEFAULT, w.upid, &follow, print_line, NULL, status,
			  sizeof(status));
	if (r < 0)
		cli_error("reading the log of %s: %s", w.upid, strerror(-r));
	task_wait(&env, &w, status, sizeof(status));
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &old[i], NULL);
	worker_pid = 0;
	/* a worker that died without its end line: say how it ended */
	if (r == 0)
		printf("%s%s\n", TASK_END_ERROR, status);
	return streq(status, TASK_STATUS_OK) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
