/* SPDX-License-Identifier: MIT */
#include "guest_jobs.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "libdrover/guest/conf_edit.h"
#include "libdrover/guest/lxc/ct.h"

/* "100-0, 100-1" into out: the guest's job IDs. Returns how many. */
static size_t job_ids(const struct repl_cfg *cfg, uint32_t guest, char *out, size_t len)
{
	size_t n = 0, used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < cfg->n; i++) {
		const struct repl_job *j = &cfg->jobs[i];
		int w;

		if (j->guest != guest)
			continue;
		w = snprintf(out + used, len - used, "%s%" PRIu32 "-%" PRIu32 " (to %s)",
			     n ? ", " : "", j->guest, j->jobnum, j->target);
		if (w > 0 && (size_t)w < len - used)
			used += (size_t)w;
		n++;
	}
	return n;
}

/* The guest's jobs as replication.cfg lists them now: how many (or -errno), their IDs in ids. */
static int guest_job_ids(const struct cfs_brief *b, uint32_t guest, char *ids, size_t len,
			 struct drover_err *err)
{
	struct repl_cfg cfg = { 0 };
	int r = repl_cfg_load(b, &cfg, err);

	if (r < 0)
		return r;
	r = (int)job_ids(&cfg, guest, ids, len);
	repl_cfg_free(&cfg);
	return r;
}

/* 0 when guest may be destroyed: it has no jobs, or purge. -EBUSY naming the jobs else. */
static int destroy_check(const struct cfs_brief *b, uint32_t guest, bool purge,
			 struct drover_err *err)
{
	char ids[512];
	int n;

	if (purge)
		return 0;
	n = guest_job_ids(b, guest, ids, sizeof(ids), err);
	if (n <= 0)
		return n;
	return drover_fail(err, -EBUSY,
			   "guest %" PRIu32 " has replication jobs: %s; delete them first "
			   "(drover replication delete ID) or destroy with --purge",
			   guest, ids);
}

struct remove {
	uint32_t guest;
	const struct drover_reporter *log;
};

static int remove_jobs(struct repl_cfg *cfg, void *ctx, struct drover_err *err)
{
	struct remove *rm = ctx;

	(void)err;
	for (size_t i = cfg->n; i-- > 0;) {
		uint32_t guest = cfg->jobs[i].guest, jobnum = cfg->jobs[i].jobnum;

		if (guest != rm->guest)
			continue;
		repl_cfg_remove(cfg, guest, jobnum);
		drover_report_log(rm->log, "removed replication job %" PRIu32 "-%" PRIu32, guest,
				  jobnum);
	}
	return 0;
}

/* Remove every job of guest from replication.cfg (each logged). 0 or -errno. */
static int jobs_remove(const struct cfs_brief *b, uint32_t guest, const struct drover_reporter *log,
		       struct drover_err *err)
{
	struct remove rm = { guest, log };
	char ids[512];
	int n = guest_job_ids(b, guest, ids, sizeof(ids), err);

	/* no jobs: replication.cfg is not locked and rewritten for nothing */
	if (n <= 0)
		return n;
	return repl_cfg_edit(b, NULL, remove_jobs, &rm, err);
}

/* The hook's side of a destroy, under the guest's lock (guest_destroy.h). */
struct destroy_hook {
	const struct cfs_brief *b;
	bool purge;
};

static int hook_check(void *ctx, uint32_t vmid, struct drover_err *err)
{
	const struct destroy_hook *h = ctx;

	return destroy_check(h->b, vmid, h->purge, err);
}

static int hook_after(void *ctx, uint32_t vmid, const struct drover_reporter *log,
		      struct drover_err *err)
{
	const struct destroy_hook *h = ctx;
	int r = h->purge ? jobs_remove(h->b, vmid, log, err) : 0;

	/* the guest is gone already: the failure must not read as a destroy that did nothing */
	if (r < 0)
		drover_fail_prefix(err, r,
				   "guest %" PRIu32 " is destroyed but its replication jobs are "
				   "not removed (destroy --purge again removes them)",
				   vmid);
	return r;
}

/*
 * purge of a guest no node has: a destroy whose job removal failed once
 * its config was gone. Its jobs go now, or they would wait in
 * replication.cfg for the next guest of that VMID. Returns 1 when jobs
 * were removed, 0 when there were none (or the guest exists), -errno.
 */
static int purge_orphan_jobs(const struct cfs_brief *b, uint32_t vmid,
			     const struct drover_reporter *log, struct drover_err *err)
{
	char node[NODE_NAME_MAX + 1], ids[512];
	enum guest_type type;
	struct drover_err e = { "" };
	int n;

	if (guest_locate_at(b, vmid, node, &type, &e) != -ENOENT)
		return 0;
	n = guest_job_ids(b, vmid, ids, sizeof(ids), &e);
	if (n <= 0)
		return 0;
	drover_report_log(log, "guest %" PRIu32 " does not exist; removing its replication jobs",
			  vmid);
	n = jobs_remove(b, vmid, log, err);
	return n < 0 ? n : 1;
}

int repl_guest_destroy(const struct repl_guest_destroy_req *req, const struct drover_reporter *log,
		       struct drover_err *err)
{
	const struct storage_env *st =
		req->type == GUEST_QEMU ? (req->vm ? &req->vm->st : NULL) : req->env;
	struct destroy_hook h;
	struct guest_destroy_hook hook = { hook_check, hook_after, &h };
	int r;

	if (!st || (req->type != GUEST_QEMU && req->type != GUEST_LXC))
		return drover_fail(err, -EINVAL, "destroy: no environment for guest %" PRIu32,
				   req->vmid);
	h = (struct destroy_hook){ &st->cfs, req->purge };
	r = destroy_check(h.b, req->vmid, req->purge, err);
	if (r < 0)
		return r;
	r = req->type == GUEST_QEMU ? vm_destroy(req->vm, req->vmid, &hook, log, err)
				    : ct_destroy(req->env, req->vmid, &hook, log, err);
	if (r == -ENOENT && req->purge) {
		struct drover_err e = { "" };
		int p = purge_orphan_jobs(h.b, req->vmid, log, &e);

		if (p != 0) {
			r = p > 0 ? 0 : p;
			if (p < 0)
				*err = e;
		}
	}
	return r;
}
