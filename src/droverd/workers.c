/* SPDX-License-Identifier: MIT */
/*
 * Task workers droverd forked: reaped through the loop (a child event
 * source, no waiting), their end recorded if they died without it, and
 * their owner told.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "droverd.h"

struct droverd_worker {
	struct droverd *d;
	struct task_worker w;
	sd_event_source *child;
	droverd_worker_done done;
	struct droverd_worker *next;
};

static void unlink_worker(struct droverd *d, struct droverd_worker *w)
{
	for (struct droverd_worker **p = &d->workers; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			return;
		}
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata)
{
	struct droverd_worker *w = userdata;
	struct droverd *d = w->d;
	char status[TASK_STATUS_MAX];

	task_record_end(&d->tasks, &w->w, status, sizeof(status));
	log_info("task %s: %s", w->w.upid, status);
	unlink_worker(d, w);
	w->child = sd_event_source_disable_unref(w->child);
	if (w->done)
		w->done(d, w, status);
	free(w);
	return 0;
}

int droverd_worker_start(struct droverd *d, const struct task_spec *spec, task_fn fn, void *arg,
			 droverd_worker_done done, struct droverd_worker **out)
{
	struct droverd_worker *w = calloc(1, sizeof(*w));
	struct drover_err err = { "" };
	int r;

	if (!w)
		return -ENOMEM;
	w->d = d;
	w->done = done;
	r = task_fork(&d->tasks, spec, fn, arg, &w->w, &err);
	if (r < 0) {
		log_err("task %s: %s", spec->type, err.text);
		free(w);
		return r;
	}
	r = sd_event_add_child(d->event, &w->child, w->w.pid, WEXITED, on_child, w);
	if (r < 0) {
		/* cannot watch it: it runs on; the sweep records its end */
		log_err("task %s: watching its worker: %s", w->w.upid, strerror(-r));
		free(w);
		return r;
	}
	w->next = d->workers;
	d->workers = w;
	log_info("task %s started", w->w.upid);
	if (out)
		*out = w;
	return 0;
}

void droverd_worker_stop(struct droverd_worker *w)
{
	kill(w->w.pid, SIGTERM);
}

const char *droverd_worker_upid(const struct droverd_worker *w)
{
	return w->w.upid;
}

/* At exit: the workers run on (a task does not end with droverd); we only let go. */
void droverd_workers_free(struct droverd *d)
{
	while (d->workers) {
		struct droverd_worker *w = d->workers;

		d->workers = w->next;
		sd_event_source_disable_unref(w->child);
		free(w);
	}
}
