/* SPDX-License-Identifier: MIT */
/*
 * drover-task-tool: runs a test operation as a task through the CLI's
 * task runner (cli_run_task), as `drover vm start` will, for the
 * integration tests of tasks (never installed):
 *
 *   drover-task-tool [--socket PATH] run TYPE ID SECONDS [ok|fail|stubborn]
 *
 * The operation logs "step N" every second for SECONDS seconds, then ends
 * OK or with the error "failed on purpose"; it gives up when stopped,
 * unless stubborn (then the task's grace period ends it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/task_run.h"

struct op {
	unsigned seconds;
	const char *mode;
};

static int op(void *arg, const struct drover_reporter *log, struct drover_err *err)
{
	const struct op *o = arg;

	for (unsigned i = 0; i < o->seconds; i++) {
		if (task_interrupted() && strcmp(o->mode, "stubborn") != 0)
			return drover_fail(err, -EINTR, "interrupted");
		drover_report_log(log, "step %u", i);
		sleep(1);
	}
	if (strcmp(o->mode, "fail") == 0)
		return drover_fail(err, -EIO, "failed on purpose");
	return 0;
}

int main(int argc, char **argv)
{
	struct cli_context ctx = { NULL };
	struct op o = { 0, "ok" };
	int i = 1;

	if (argc > 2 && strcmp(argv[1], "--socket") == 0) {
		ctx.socket_path = argv[2];
		i = 3;
	}
	if (argc - i < 4 || strcmp(argv[i], "run") != 0) {
		fprintf(stderr, "usage: drover-task-tool [--socket PATH] run TYPE ID SECONDS "
				"[ok|fail|stubborn]\n");
		return 2;
	}
	o.seconds = (unsigned)atoi(argv[i + 3]);
	if (argc - i > 4)
		o.mode = argv[i + 4];
	return cli_run_task(&ctx, argv[i + 1], argv[i + 2], op, &o);
}
