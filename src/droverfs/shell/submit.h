/* SPDX-License-Identifier: MIT */
/*
 * The path of every change: submit an operation, get its result later.
 *
 * In local mode an op is applied at once, but its completion runs only
 * after the batch it belongs to was committed (one journal write for all
 * ops of one round of the event loop), so nobody hears of a change that
 * could still be lost. In cluster mode the op travels through the
 * replicator (context.h: the corosync adapter) first and completes once it
 * came back applied; callers do not change.
 */
#pragma once

#include "context.h"
#include "droverfs/core/op.h"

/* Submit an op; done (may be NULL) runs after the commit. Returns nothing: errors go to done. */
void cfs_submit(struct cfs_daemon *d, const struct cfs_op *op, cfs_done_fn done, void *ctx);

/* Commit the open batch once the ready events are handled. */
void cfs_submit_schedule_commit(struct cfs_daemon *d);

/*
 * Send the ops submitted so far now (cluster mode; nothing in local mode).
 * The replicator sends them when nothing else is ready anyway: the FUSE
 * handler calls this when it is done, so that a busy fd cannot hold the
 * batch back.
 */
void cfs_submit_flush(struct cfs_daemon *d);

/* Queue a completion for the next commit (cluster mode: the op came back applied). */
void cfs_submit_complete(struct cfs_daemon *d, cfs_done_fn done, void *ctx, int result,
			 const struct cfs_result *res);

/* A state transfer replaced entries: tell the caches, watchers and lock ages. */
void cfs_submit_observe_transfer(struct cfs_daemon *d);

/*
 * Commit the open batch and run the completions. Runs from the loop after
 * each round; also callable directly (start-up, tests).
 */
void cfs_submit_commit(struct cfs_daemon *d);

/* Fold the journal into the database if it is due, and re-arm the flush timer. */
void cfs_submit_schedule_flush(struct cfs_daemon *d);
