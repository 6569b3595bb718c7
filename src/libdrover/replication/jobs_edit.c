/* SPDX-License-Identifier: MIT */
#include "jobs_edit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/util.h"
#include "guest.h"
#include "libdrover/cluster/conf.h"
#include "libdrover/format/corosync_conf.h"
#include "libdrover/guest/conf_edit.h"
#include "libdrover/storage/storage.h"

int repl_job_place(struct repl_job *job, bool has_source, const char *guest_node,
		   bool target_member, struct drover_err *err)
{
	if (!target_member)
		return drover_fail(err, -ENOENT, "target '%s' is not a member of this cluster",
				   job->target);
	if (streq(job->target, guest_node))
		return drover_fail(err, -EINVAL,
				   "target %s is the node guest %" PRIu32
				   " is on: replication needs another node",
				   job->target, job->guest);
	if (has_source && !streq(job->source, guest_node))
		return drover_fail(err, -EINVAL, "source '%s' is not the guest's node (%s)",
				   job->source, guest_node);
	snprintf(job->source, sizeof(job->source), "%s", guest_node);
	return 0;
}

static int no_such_job(uint32_t guest, uint32_t jobnum, struct drover_err *err)
{
	return drover_fail(err, -ENOENT, "replication job '%" PRIu32 "-%" PRIu32 "' does not exist",
			   guest, jobnum);
}

static int delete_key(struct repl_job *j, const char *key)
{
	if (streq(key, "schedule"))
		j->schedule[0] = '\0';
	else if (streq(key, "rate"))
		j->rate = 0;
	else if (streq(key, "comment"))
		j->comment[0] = '\0';
	else if (streq(key, "disable"))
		j->disable = false;
	else if (streq(key, "remove_job"))
		j->remove_job = REPL_REMOVE_NONE;
	else if (streq(key, "source"))
		j->source[0] = '\0';
	else
		return -EINVAL;
	return 0;
}

int repl_job_edit_apply(struct repl_cfg *cfg, const struct repl_job_edit *e, struct drover_err *err)
{
	struct repl_job *j = repl_cfg_find(cfg, e->job.guest, e->job.jobnum);
	char keys[256], *save = NULL;

	if (!j)
		return no_such_job(e->job.guest, e->job.jobnum, err);
	if (e->deletes && strlen(e->deletes) >= sizeof(keys))
		return drover_fail(err, -EINVAL, "--delete: longer than %zu characters",
				   sizeof(keys) - 1);
	snprintf(keys, sizeof(keys), "%s", e->deletes ? e->deletes : "");
	for (char *k = strtok_r(keys, ",; ", &save); k; k = strtok_r(NULL, ",; ", &save)) {
		if (streq(k, "target"))
			return drover_fail(err, -EINVAL, "--delete: target cannot be deleted");
		if (delete_key(j, k) < 0)
			return drover_fail(err, -EINVAL, "--delete: '%s' is not a job property", k);
	}
	if (e->has_schedule)
		memcpy(j->schedule, e->job.schedule, sizeof(j->schedule));
	if (e->has_rate)
		j->rate = e->job.rate;
	if (e->has_comment)
		memcpy(j->comment, e->job.comment, sizeof(j->comment));
	if (e->has_disable)
		j->disable = e->job.disable;
	if (e->has_source)
		memcpy(j->source, e->job.source, sizeof(j->source));
	if (e->has_remove)
		j->remove_job = e->job.remove_job;
	return 0;
}

int repl_job_delete_apply(struct repl_cfg *cfg, uint32_t guest, uint32_t jobnum,
			  enum repl_delete_mode mode, struct drover_err *err)
{
	struct repl_job *j = repl_cfg_find(cfg, guest, jobnum);

	if (!j)
		return no_such_job(guest, jobnum, err);
	if (mode == REPL_DELETE_FORCE)
		return repl_cfg_remove(cfg, guest, jobnum);
	j->remove_job = mode == REPL_DELETE_KEEP ? REPL_REMOVE_LOCAL : REPL_REMOVE_FULL;
	return 0;
}

struct create_ctx {
	const struct cfs_brief *b;
	const struct repl_job_edit *e;
};

/* Is node a member of the cluster (corosync.conf)? */
static int is_member(const struct cfs_brief *b, const char *node, bool *member,
		     struct drover_err *err)
{
	struct cc_node *cc = cfs_read_corosync_conf(b, err);

	if (!cc)
		return -EINVAL;
	*member = cluster_conf_node(cc, node) != NULL;
	cc_free(cc);
	return 0;
}

/*
 * The guest exists, no long operation has its config locked (a destroy,
 * backup or migration under way: Proxmox refuses these too), it has
 * replicatable volumes, and the job's nodes fit it.
 */
static int check_create(const struct create_ctx *c, struct repl_guest *g, struct repl_job *job,
			struct drover_err *err)
{
	struct storage_cfg scfg;
	bool member;
	int r;

	r = repl_guest_load(c->b, job->guest, g, err);
	if (r < 0)
		return r;
	r = guest_conf_check_lock(g->conf, job->guest, NULL, err);
	if (r < 0)
		return drover_fail_prefix(err, r,
					  "cannot create replication job %" PRIu32 "-%" PRIu32,
					  job->guest, job->jobnum);
	r = storage_cfg_load(c->b, &scfg, err);
	if (r < 0)
		return r;
	r = repl_guest_volumes(g, &scfg, err);
	storage_cfg_free(&scfg);
	if (r < 0)
		return r;
	if (g->n_vols == 0)
		return drover_fail(err, -ENOENT,
				   "guest %" PRIu32
				   ": No replicatable volumes found (only local storages "
				   "replicate, and drives without replicate=0)",
				   job->guest);
	r = is_member(c->b, job->target, &member, err);
	if (r < 0)
		return r;
	return repl_job_place(job, c->e->has_source, g->node, member, err);
}

static int edit_create(struct repl_cfg *cfg, void *ctx, struct drover_err *err)
{
	const struct create_ctx *c = ctx;
	struct repl_job job = c->e->job;
	struct repl_guest g;
	int r = check_create(c, &g, &job, err);

	repl_guest_free(&g);
	return r < 0 ? r : repl_cfg_add(cfg, &job, err);
}

int repl_job_create(const struct cfs_brief *b, const struct repl_job_edit *e,
		    struct drover_err *err)
{
	struct create_ctx c = { b, e };
	int r;

	/*
	 * The guest is checked under its own lock, which its destroy holds from
	 * its "no jobs" check until its config is gone: a job created meanwhile
	 * would name a destroyed guest (and the next guest of that VMID). The
	 * guest's lock first, replication.cfg's inside it, the order of the
	 * destroy's hook; nothing takes them the other way round.
	 */
	r = guest_cluster_lock_at(b, e->job.guest, err);
	if (r < 0)
		return r;
	r = repl_cfg_edit(b, e->digest, edit_create, &c, err);
	guest_cluster_unlock_at(b, e->job.guest);
	return r;
}

static int edit_update(struct repl_cfg *cfg, void *ctx, struct drover_err *err)
{
	return repl_job_edit_apply(cfg, ctx, err);
}

int repl_job_update(const struct cfs_brief *b, const struct repl_job_edit *e,
		    struct drover_err *err)
{
	return repl_cfg_edit(b, e->digest, edit_update, (void *)e, err);
}

struct delete_ctx {
	uint32_t guest, jobnum;
	enum repl_delete_mode mode;
};

static int edit_delete(struct repl_cfg *cfg, void *ctx, struct drover_err *err)
{
	const struct delete_ctx *d = ctx;

	return repl_job_delete_apply(cfg, d->guest, d->jobnum, d->mode, err);
}

int repl_job_delete(const struct cfs_brief *b, uint32_t guest, uint32_t jobnum,
		    enum repl_delete_mode mode, struct drover_err *err)
{
	struct delete_ctx d = { guest, jobnum, mode };

	return repl_cfg_edit(b, NULL, edit_delete, &d, err);
}
