/* SPDX-License-Identifier: MIT */
/* droverd's loop: signals and the tick. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "basic/log.h"
#include "basic/util.h"
#include "droverd.h"
#include "libdrover/task/task_json.h"

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct droverd *d = userdata;
	struct task_store store;

	droverd_cfs(d);
	if (d->node_known) {
		task_env_store(&d->tasks, &store);
		task_store_sweep(&store, d->node, now_wall_s(), NULL);
	}
	droverd_status_tick(d);
	sd_event_source_set_time(s, usec + (uint64_t)d->opt.interval_s * 1000000);
	sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	return 0;
}

static int on_stop_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct droverd *d = userdata;

	if (d->stopping) {
		log_notice("signal %u: the guests are being stopped already", si->ssi_signo);
		return 0;
	}
	log_notice("signal %u: stopping the guests, then exiting", si->ssi_signo);
	droverd_begin_stop(d);
	return 0;
}

/* SIGQUIT: exit at once and leave the guests as they are (a restart of droverd alone). */
static int on_quit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct droverd *d = userdata;

	log_notice("SIGQUIT: exiting, the guests keep running");
	return sd_event_exit(d->event, 0);
}

void droverd_begin_stop(struct droverd *d)
{
	d->stopping = true;
	sd_notify(0, "STOPPING=1");
	droverd_jobs_stop(d);
	droverd_coldstart_stop(d);
}

static int add_signals(struct droverd *d)
{
	static const int stops[] = { SIGTERM, SIGINT };
	sigset_t mask;
	int r = 0;

	/* sd-event reads signals from a signalfd: they must be blocked; children need SIGCHLD */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < ARRAY_SIZE(stops) && r >= 0; i++)
		r = sd_event_add_signal(d->event, NULL, stops[i], on_stop_signal, d);
	if (r >= 0)
		r = sd_event_add_signal(d->event, NULL, SIGQUIT, on_quit_signal, d);
	return r;
}

static void init_context(struct droverd *d)
{
	if (task_node_name(NULL, d->node, sizeof(d->node)) < 0)
		snprintf(d->node, sizeof(d->node), "localhost");
	d->tasks.dir = d->opt.task_dir[0] ? d->opt.task_dir : NULL;
	d->tasks.node = d->node;
	d->tasks.cfs_socket = d->opt.socket[0] ? d->opt.socket : NULL;
	d->paths.qemu_run_dir = d->opt.run_dir[0] ? d->opt.run_dir : NULL;
}

int droverd_run(struct droverd *d)
{
	int r;

	init_context(d);
	r = sd_event_default(&d->event);
	if (r >= 0)
		r = add_signals(d);
	if (r >= 0)
		r = sd_event_add_time_relative(d->event, &d->tick_timer, CLOCK_MONOTONIC, 0, 0,
					       on_tick, d);
	if (r >= 0)
		r = droverd_coldstart_init(d);
	if (r >= 0)
		r = droverd_jobs_start(d);
	if (r < 0) {
		log_err("setting up the event loop: %s", strerror(-r));
	} else {
		log_info("droverd started (node %s, status every %u s)", d->node,
			 d->opt.interval_s);
		sd_notify(0, "READY=1");
		r = sd_event_loop(d->event);
		if (r < 0)
			log_err("event loop: %s", strerror(-r));
	}
	droverd_jobs_stop(d);
	droverd_workers_free(d);
	droverd_status_free(d);
	d->quorum_timer = sd_event_source_disable_unref(d->quorum_timer);
	d->tick_timer = sd_event_source_disable_unref(d->tick_timer);
	if (d->cfs_up)
		ipc_client_close(&d->cfs);
	sd_event_unref(d->event);
	log_info("droverd stopped");
	return r;
}
