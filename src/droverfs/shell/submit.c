/* SPDX-License-Identifier: MIT */
#include "submit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "droverfs/core/layout.h"
#include "basic/array.h"
#include "basic/log.h"
#include "basic/util.h"

static void add_pending(struct cfs_daemon *d, cfs_done_fn done, void *ctx, int result,
			const struct cfs_result *res)
{
	struct cfs_pending *p;

	if (ARRAY_GROW(d->pending, d->pending_cap, d->npending + 1) < 0) {
		/* Cannot defer: answer now rather than never. */
		if (done)
			done(d, ctx, result < 0 ? result : -ENOMEM, res);
		return;
	}
	p = &d->pending[d->npending++];
	p->done = done;
	p->ctx = ctx;
	p->result = result;
	p->res = *res;
}

void cfs_submit_schedule_commit(struct cfs_daemon *d)
{
	if (d->commit_source)
		sd_event_source_set_enabled(d->commit_source, SD_EVENT_ONESHOT);
}

void cfs_submit_complete(struct cfs_daemon *d, cfs_done_fn done, void *ctx, int result,
			 const struct cfs_result *res)
{
	add_pending(d, done, ctx, result, res);
	cfs_submit_schedule_commit(d);
}

void cfs_submit(struct cfs_daemon *d, const struct cfs_op *op, cfs_done_fn done, void *ctx)
{
	struct cfs_result res = { 0 };
	int r;

	if (d->repl_ops) {
		r = d->repl_ops->submit(d->repl, op, done, ctx);
		if (r < 0)
			cfs_submit_complete(d, done, ctx, r, &res);
		return;
	}
	r = cfs_persist_apply(d->persist, op, &res);
	log_debug("apply %s ino=%llu name=%s -> %d (version %llu)", cfs_op_kind_name(op->kind),
		  (unsigned long long)op->ino, op->name, r, (unsigned long long)res.version);
	add_pending(d, done, ctx, r, &res);
	cfs_submit_schedule_commit(d);
}

static bool is_lock_path(const char *path)
{
	return str_has_prefix(path, "priv/lock/") && !strchr(path + strlen("priv/lock/"), '/');
}

/* Tell everyone who keeps derived state about one committed change. */
static void observe_change(struct cfs_daemon *d, const struct cfs_change *c)
{
	cfs_fsversion_note_path(&d->fsversion, c->path);
	if (c->old_path)
		cfs_fsversion_note_path(&d->fsversion, c->old_path);
	if (c->kind == CFS_OP_RENAME && c->type == CFS_DIR && str_has_prefix(c->path, "nodes"))
		d->fsversion.vmlist++; /* guests may have moved with the directory */

	if (c->type == CFS_DIR && is_lock_path(c->path)) {
		if (c->kind == CFS_OP_MKDIR || c->kind == CFS_OP_MTIME)
			cfs_locks_observe(&d->locks, c->inode, c->version);
		else if (c->kind == CFS_OP_RMDIR || c->kind == CFS_OP_UNLOCK)
			cfs_locks_forget(&d->locks, c->inode);
	}
	cfs_daemon_changed(d, c); /* FUSE caches, IPC watchers, the replica */
}

static void after_reload(struct cfs_daemon *d)
{
	d->reloads_seen = d->persist->stats.reloads;
	cfs_fsversion_note_reload(&d->fsversion);
	cfs_locks_sync(&d->locks, &cfs_daemon_state(d)->tree);
}

void cfs_submit_commit(struct cfs_daemon *d)
{
	struct cfs_state *st = cfs_daemon_state(d);
	struct cfs_pending *batch;
	size_t n;
	int r;

	/* In cluster mode other nodes' ops fill batches too: nobody waits for those. */
	if (d->npending == 0 && !cfs_persist_batch_open(d->persist))
		return;
	r = cfs_persist_commit(d->persist);
	if (r < 0 || d->persist->stats.reloads != d->reloads_seen) {
		after_reload(d);
	} else {
		for (size_t i = 0; i < st->nchanges; i++)
			observe_change(d, &st->changes[i]);
		cfs_daemon_committed(d);
	}
	cfs_state_clear_changes(st);

	/* Completions may submit more: take this batch out first. */
	batch = d->pending;
	n = d->npending;
	d->pending = NULL;
	d->npending = d->pending_cap = 0;
	for (size_t i = 0; i < n; i++) {
		int result = batch[i].result;

		if (r < 0 && result == 0)
			result = r;
		if (batch[i].done)
			batch[i].done(d, batch[i].ctx, result, &batch[i].res);
	}
	free(batch);
	cfs_submit_schedule_flush(d);
	if (d->npending && d->commit_source)
		sd_event_source_set_enabled(d->commit_source, SD_EVENT_ONESHOT);
}

void cfs_submit_flush(struct cfs_daemon *d)
{
	if (d->repl_ops)
		d->repl_ops->flush(d->repl);
}

void cfs_submit_observe_transfer(struct cfs_daemon *d)
{
	struct cfs_state *st = cfs_daemon_state(d);

	for (size_t i = 0; i < st->nchanges; i++)
		observe_change(d, &st->changes[i]);
	cfs_state_clear_changes(st);
	after_reload(d);
}

void cfs_submit_schedule_flush(struct cfs_daemon *d)
{
	uint64_t deadline = cfs_persist_flush_deadline(d->persist);
	uint64_t now_us;

	if (!d->flush_timer)
		return;
	if (deadline == 0) {
		sd_event_source_set_enabled(d->flush_timer, SD_EVENT_OFF);
		return;
	}
	sd_event_now(d->event, CLOCK_MONOTONIC, &now_us);
	/* overdue: soon, but never "now" (a timer due at every turn starves the commit) */
	sd_event_source_set_time(d->flush_timer,
				 deadline / 1000 <= now_us ? now_us + 1000 : deadline / 1000);
	sd_event_source_set_enabled(d->flush_timer, SD_EVENT_ONESHOT);
}
