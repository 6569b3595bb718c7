/* SPDX-License-Identifier: MIT */
/*
 * The cold start and the stop of this node's guests. Once the node is
 * quorate after droverd started (checked every second until then), the
 * onboot guests start in a "startall" task; a marker in /run (holding the
 * boot id) makes that happen once per boot, so a droverd restarted after
 * a crash does not start guests an admin has stopped since. On SIGTERM
 * (the node goes down) a "stopall" task shuts every running guest down in
 * reverse order; then the marker goes and droverd exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/util.h"
#include "droverd.h"
#include "libdrover/cfs/kv.h"

#define BOOT_ID "/proc/sys/kernel/random/boot_id"

static void read_line(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "re");

	out[0] = '\0';
	if (!f)
		return;
	if (!fgets(out, (int)len, f))
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

/* Did a droverd of this boot begin the cold start already? */
static bool marker_valid(const struct droverd *d)
{
	char boot[64], marker[64];

	read_line(BOOT_ID, boot, sizeof(boot));
	read_line(d->opt.marker, marker, sizeof(marker));
	return marker[0] && streq(marker, boot);
}

static void marker_write(const struct droverd *d)
{
	char boot[64], dir[PATH_MAX];
	int r;

	read_line(BOOT_ID, boot, sizeof(boot));
	strcat(boot, "\n");
	snprintf(dir, sizeof(dir), "%s", d->opt.marker);
	*strrchr(dir, '/') = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		log_warn("%s: %s", dir, strerror(errno));
	r = write_file_atomic(d->opt.marker, boot, strlen(boot), 0644);
	if (r < 0)
		log_warn("%s: %s (a restarted droverd would start the guests again)", d->opt.marker,
			 strerror(-r));
}

/* The guests droverd last saw, for a stopall when droverfs cannot tell. */
static struct node_guest *known_guests(const struct droverd *d)
{
	struct node_guest *g = calloc(d->nguests ? d->nguests : 1, sizeof(*g));

	for (size_t i = 0; g && i < d->nguests; i++)
		g[i].s = (struct startup_guest){ .vmid = d->guests[i].vmid,
						 .type = d->guests[i].type,
						 .order = -1,
						 .up = -1,
						 .down = -1 };
	return g;
}

/* In the startall or stopall worker (a fork: d is the worker's own copy). */
static int all_guests(struct droverd *d, bool stop, const struct drover_reporter *log,
		      struct drover_err *err)
{
	struct guests_task_ctx tasks = { &d->tasks, &d->ops };
	struct guests_all_run run = { .tasks = &tasks,
				      .node = d->node,
				      .stop = stop,
				      .stop_timeout_s = d->opt.stop_timeout_s };
	struct node_guest *known = stop ? known_guests(d) : NULL;
	int r;

	run.fallback = known;
	run.nfallback = known ? d->nguests : 0;
	r = guests_all_run(&run, log, err);
	free(known);
	return r;
}

static int startall(void *arg, const struct drover_reporter *log, struct drover_err *err)
{
	return all_guests(arg, false, log, err);
}

static int stopall(void *arg, const struct drover_reporter *log, struct drover_err *err)
{
	return all_guests(arg, true, log, err);
}

static void stopall_done(struct droverd *d, struct droverd_worker *w, const char *status)
{
	d->stopall = NULL;
	/* the guests are down: the next start of droverd in this boot is a cold start again */
	if (unlink(d->opt.marker) < 0 && errno != ENOENT)
		log_warn("%s: %s", d->opt.marker, strerror(errno));
	sd_event_exit(d->event, 0);
}

static void run_stopall(struct droverd *d)
{
	struct task_spec spec = { .type = "stopall" };

	if (droverd_worker_start(d, &spec, stopall, d, stopall_done, &d->stopall) < 0)
		sd_event_exit(d->event, 1);
}

static void startall_done(struct droverd *d, struct droverd_worker *w, const char *status)
{
	d->startall = NULL;
	d->cold = COLD_DONE;
	if (d->stopping)
		run_stopall(d);
}

/* Is this node quorate (droverfs writable)? -errno when droverfs does not answer. */
static int quorate(struct droverd *d)
{
	struct ipc_client *c = droverd_cfs(d);
	struct json_object *o = NULL, *q;
	struct buf b = BUF_INIT;
	int r;

	if (!c)
		return -ENOTCONN;
	r = cfs_get_json(c, IPC_STATUS, &b);
	if (r < 0) {
		droverd_cfs_lost(d, r);
	} else {
		o = json_tokener_parse((char *)b.data);
		r = o && json_object_object_get_ex(o, "quorate", &q) && json_object_get_boolean(q);
	}
	json_object_put(o);
	buf_free(&b);
	return r;
}

static int on_quorum_check(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct droverd *d = userdata;
	struct task_spec spec = { .type = "startall" };

	if (quorate(d) != 1 || !d->node_known) {
		sd_event_source_set_time(s, usec + DROVERD_QUORUM_CHECK_MS * 1000ull);
		sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
		return 0;
	}
	d->quorum_timer = sd_event_source_disable_unref(d->quorum_timer);
	log_notice("quorate: starting the onboot guests");
	marker_write(d);
	d->cold = COLD_RUNNING;
	if (droverd_worker_start(d, &spec, startall, d, startall_done, &d->startall) < 0)
		d->cold = COLD_DONE;
	return 0;
}

int droverd_coldstart_init(struct droverd *d)
{
	d->cold = COLD_DONE;
	if (d->opt.no_cold_start) {
		log_info("cold start: off (--no-cold-start)");
		return 0;
	}
	if (marker_valid(d)) {
		log_info("cold start: the onboot guests were started in this boot already (%s)",
			 d->opt.marker);
		return 0;
	}
	d->cold = COLD_WAITING;
	log_info("cold start: waiting for quorum");
	return sd_event_add_time_relative(d->event, &d->quorum_timer, CLOCK_MONOTONIC, 0, 0,
					  on_quorum_check, d);
}

void droverd_coldstart_stop(struct droverd *d)
{
	d->quorum_timer = sd_event_source_disable_unref(d->quorum_timer);
	if (d->startall) {
		/* its end (startall_done) starts the stopall */
		log_notice("stopping the cold start (%s)", droverd_worker_upid(d->startall));
		droverd_worker_stop(d->startall);
		return;
	}
	run_stopall(d);
}
