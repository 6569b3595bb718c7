/* SPDX-License-Identifier: MIT */
#include "runlog.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "basic/util.h"
#include "state_store.h"

#define BYTES_EVERY_NS (5ull * 1000000000ull)

int repl_runlog_path(const char *dir, const char *jobid, char *out, size_t len)
{
	if (snprintf(out, len, "%s/%s", dir ? dir : REPL_LOG_DIR_DEFAULT, jobid) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

int repl_runlog_read(const char *dir, const char *jobid, char **text, size_t *len,
		     struct drover_err *err)
{
	char path[4096];
	int r = repl_runlog_path(dir, jobid, path, sizeof(path));

	if (r == 0)
		r = read_file_max(path, 16 << 20, text, len);
	if (r == -ENOENT)
		return drover_fail(err, r, "job %s has no log on this node (it never ran here)",
				   jobid);
	return r < 0 ? drover_fail(err, r, "%s: %s", path, strerror(-r)) : 0;
}

static void line(struct repl_runlog *l, const char *prefix, const char *text)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(l->f, "%s %s: %s%s\n", stamp, l->jobid, prefix, text);
	fflush(l->f);
}

static void on_event(void *ctx, const struct drover_event *ev)
{
	struct repl_runlog *l = ctx;
	char text[160];
	uint64_t now;

	switch (ev->kind) {
	case DROVER_EVENT_LOG:
	case DROVER_EVENT_NOTE:
		line(l, "", ev->text);
		break;
	case DROVER_EVENT_WARN:
		line(l, "warning: ", ev->text);
		break;
	case DROVER_EVENT_ERROR:
		line(l, "error: ", ev->text);
		break;
	case DROVER_EVENT_BYTES:
		now = now_monotonic_ns();
		if (now - l->last_bytes_ns < BYTES_EVERY_NS)
			break;
		l->last_bytes_ns = now;
		snprintf(text, sizeof(text), "transferred %" PRIu64 " bytes (%" PRIu64 " B/s)",
			 ev->done, ev->rate);
		line(l, "", text);
		break;
	}
	if (l->next && l->next->report)
		l->next->report(l->next->ctx, ev);
}

int repl_runlog_open(struct repl_runlog *l, const char *dir, const char *jobid,
		     const struct drover_reporter *next, struct drover_err *err)
{
	char path[4096];

	memset(l, 0, sizeof(*l));
	dir = dir ? dir : REPL_LOG_DIR_DEFAULT;
	(void)mkdir_p(dir, 0755);
	if (repl_runlog_path(dir, jobid, path, sizeof(path)) < 0)
		return drover_fail(err, -ENAMETOOLONG, "%s: path too long", dir);
	l->f = fopen(path, "we");
	if (!l->f)
		return drover_fail(err, -errno, "cannot open the job log %s: %s", path,
				   strerror(errno));
	snprintf(l->jobid, sizeof(l->jobid), "%s", jobid);
	l->next = next;
	l->rep.report = on_event;
	l->rep.ctx = l;
	return 0;
}

void repl_runlog_close(struct repl_runlog *l)
{
	if (l->f)
		fclose(l->f);
	l->f = NULL;
}
