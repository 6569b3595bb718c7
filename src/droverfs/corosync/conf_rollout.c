/* SPDX-License-Identifier: MIT */
#include "conf_rollout.h"

#include <corosync/cfg.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/util.h"
#include "basic/wire.h"
#include "droverfs/replica/cmsg.h"
#include "conf_install.h"

#define CONF_RELOAD_WAIT_US 10000000

const struct cfs_entry *cfs_tree_corosync_conf(struct cfs_state *st)
{
	const struct cfs_entry *e = cfs_tree_resolve(&st->tree, "corosync.conf");

	return e && e->type == CFS_FILE ? e : NULL;
}

const char *cfs_entry_text(const struct cfs_entry *e, size_t *len)
{
	*len = e->data ? e->data->size : 0;
	return e->data ? (const char *)e->data->data : "";
}

static void *reload_thread(void *arg)
{
	corosync_cfg_handle_t h;
	cs_error_t e = corosync_cfg_initialize(&h, NULL);

	(void)arg;
	if (e == CS_OK) {
		e = corosync_cfg_reload_config(h);
		corosync_cfg_finalize(h);
	}
	if (e == CS_OK)
		log_notice("cluster: corosync reloaded its configuration");
	else
		log_err("cluster: corosync could not reload its configuration (error %d)", e);
	return NULL;
}

static void ask_reload(struct cfs_conf_rollout *r)
{
	pthread_t t;

	if (r->reloaded >= r->version)
		return;
	r->reloaded = r->version;
	sd_event_source_set_enabled(r->timer, SD_EVENT_OFF);
	log_notice("cluster: corosync.conf version %" PRIu64 " is installed on every node; "
		   "asking corosync to reload it",
		   r->version);
	if (pthread_create(&t, NULL, reload_thread, NULL) == 0)
		pthread_detach(t);
	else
		log_err("cluster: cannot start the reload thread: %m");
}

static bool lowest_member(struct cfs_conf_rollout *r)
{
	size_t n = cfs_replica_member_count(r->replica);

	return n > 0 && cfs_replica_member(r->replica, 0).nodeid == r->d->nodeid;
}

static bool conf_lock_held(struct cfs_conf_rollout *r)
{
	return cfs_tree_resolve(&cfs_daemon_state(r->d)->tree, CONF_LOCK_PATH) != NULL;
}

static void check_rollout(struct cfs_conf_rollout *r)
{
	size_t n = cfs_replica_member_count(r->replica);

	if (!lowest_member(r) || r->version == 0 || r->reloaded >= r->version || !r->changed ||
	    conf_lock_held(r))
		return;
	for (size_t i = 0; i < n; i++) {
		uint32_t id = cfs_replica_member(r->replica, i).nodeid;
		bool seen = false;

		for (size_t k = 0; k < r->nwritten; k++)
			seen |= r->written[k] == id;
		if (!seen)
			return;
	}
	ask_reload(r);
}

/* Payload of CONF_WRITTEN: u64 version, u8 1 if that node wrote it just now. */
void cfs_conf_rollout_written(struct cfs_conf_rollout *r, uint32_t nodeid, const void *payload,
			      size_t len)
{
	uint64_t version;

	if (len < 9)
		return;
	version = le_get64(payload);
	if (version > r->version) {
		r->version = version;
		r->nwritten = 0;
		r->changed = false;
	}
	if (version == r->version)
		r->changed |= ((const unsigned char *)payload)[8] != 0;
	if (version != r->version)
		return;
	for (size_t k = 0; k < r->nwritten; k++)
		if (r->written[k] == nodeid)
			return;
	if (r->nwritten < ARRAY_SIZE(r->written))
		r->written[r->nwritten++] = nodeid;
	if (lowest_member(r) && r->reloaded < version && r->changed) {
		uint64_t now;

		/* Whoever is slow or gone: reload anyway after a while. */
		sd_event_now(r->d->event, CLOCK_MONOTONIC, &now);
		sd_event_source_set_time(r->timer, now + CONF_RELOAD_WAIT_US);
		sd_event_source_set_enabled(r->timer, SD_EVENT_ONESHOT);
	}
	check_rollout(r);
}

static int on_conf_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct cfs_conf_rollout *r = userdata;

	if (lowest_member(r) && r->changed)
		ask_reload(r);
	return 0;
}

void cfs_conf_rollout_install(struct cfs_conf_rollout *r)
{
	const struct cfs_entry *e = cfs_tree_corosync_conf(cfs_daemon_state(r->d));
	char err[256];
	uint64_t version;
	unsigned char v[9];
	const char *text;
	size_t len;
	int ret;

	if (!e)
		return;
	text = cfs_entry_text(e, &len);
	ret = cfs_conf_install(text, len, r->d->opt.corosync_conf, &version, err, sizeof(err));
	if (ret == CFS_CONF_INSTALLED)
		log_notice("cluster: installed corosync.conf version %" PRIu64 " as %s", version,
			   r->d->opt.corosync_conf);
	if (ret < 0) {
		log_warn("cluster: corosync.conf from the tree not installed: %s",
			 err[0] ? err : strerror(-ret));
		cfs_clusterlog_append(&r->d->clog, r->d->opt.nodename, "root", "droverfs",
				      (uint32_t)getpid(), LOG_WARNING, now_wall_s(),
				      err[0] ? err : "corosync.conf not installed");
		return;
	}
	le_put64(v, version);
	v[8] = ret == CFS_CONF_INSTALLED;
	cfs_replica_send_other(r->replica, CMSG_CONF_WRITTEN, v, sizeof(v));
}

void cfs_conf_rollout_changed(struct cfs_conf_rollout *r, const struct cfs_change *ch)
{
	if (streq(ch->path, "corosync.conf") ||
	    (ch->old_path && streq(ch->old_path, "corosync.conf")))
		cfs_conf_rollout_install(r);
	else if (streq(ch->path, CONF_LOCK_PATH))
		check_rollout(r); /* released: a change made under it may go now */
}

int cfs_conf_rollout_init(struct cfs_conf_rollout *r, struct cfs_daemon *d,
			  struct cfs_replica *replica)
{
	int ret;

	*r = (struct cfs_conf_rollout){ .d = d, .replica = replica };
	ret = sd_event_add_time(d->event, &r->timer, CLOCK_MONOTONIC, UINT64_MAX, 0, on_conf_timer,
				r);
	if (ret < 0)
		return ret;
	return sd_event_source_set_enabled(r->timer, SD_EVENT_OFF);
}

void cfs_conf_rollout_destroy(struct cfs_conf_rollout *r)
{
	r->timer = sd_event_source_disable_unref(r->timer);
}
