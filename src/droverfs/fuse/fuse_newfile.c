/* SPDX-License-Identifier: MIT */
#include "fuse_newfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse_internal.h"
#include "droverfs/core/layout.h"
#include "basic/log.h"
#include "basic/util.h"
#include "droverfs/shell/submit.h"

struct cfs_new_file_wait {
	struct cfs_new_file_wait *next;
	void (*done)(void *ctx, int result);
	void *ctx;
};

struct cfs_new_file *cfs_new_file_start(struct cfs_fuse *f, struct cfs_handle *h, uint64_t parent,
					const char *name, bool excl, int64_t time_ns)
{
	struct cfs_new_file *nf = calloc(1, sizeof(*nf));

	if (!nf)
		return NULL;
	nf->f = f;
	nf->h = h;
	nf->ino = CFS_NEW_FILE_INO_BASE + ++f->new_file_counter;
	nf->parent = parent;
	snprintf(nf->name, sizeof(nf->name), "%s", name);
	nf->excl = excl;
	nf->time_ns = time_ns;
	nf->state = CFS_NEW_UNSENT;
	nf->next = f->new_files;
	f->new_files = nf;
	h->newfile = nf;
	return nf;
}

struct cfs_new_file *cfs_new_file_by_ino(struct cfs_fuse *f, uint64_t ino)
{
	for (struct cfs_new_file *nf = f->new_files; nf; nf = nf->next)
		if (nf->ino == ino)
			return nf;
	return NULL;
}

struct cfs_new_file *cfs_new_file_by_name(struct cfs_fuse *f, uint64_t parent, const char *name)
{
	for (struct cfs_new_file *nf = f->new_files; nf; nf = nf->next)
		if (nf->state != CFS_NEW_DONE && nf->parent == parent && streq(nf->name, name))
			return nf;
	return NULL;
}

bool cfs_new_file_in(struct cfs_fuse *f, uint64_t parent)
{
	for (struct cfs_new_file *nf = f->new_files; nf; nf = nf->next)
		if (nf->state != CFS_NEW_DONE && nf->parent == parent)
			return true;
	return false;
}

void cfs_new_file_stat(struct cfs_new_file *nf, struct stat *st)
{
	struct cfs_daemon *d = nf->f->d;
	struct cfs_entry *dir = cfs_tree_lookup(&cfs_daemon_state(d)->tree, nf->parent);
	struct cfs_times times = { nf->time_ns, nf->time_ns, nf->time_ns };

	if (nf->time_flags & CFS_OP_SET_MTIME)
		times.mtime = nf->mtime_ns;
	if (nf->time_flags & CFS_OP_SET_ATIME)
		times.atime = nf->atime_ns;
	cfs_fuse_common_attr(d, st, nf->ino, &times);
	st->st_mode =
		S_IFREG | cfs_mode_bits(CFS_MODE_FILE, dir && layout_is_private(dir), d->quorate);
	/* Nothing is committed yet; the creator's own handle shows its size (getattr). */
	st->st_nlink = 1;
}

void cfs_new_file_set_times(struct cfs_new_file *nf, const struct cfs_op *t)
{
	nf->time_flags |= t->flags & (CFS_OP_SET_MTIME | CFS_OP_SET_ATIME);
	if (t->flags & CFS_OP_SET_MTIME)
		nf->mtime_ns = t->mtime_ns;
	if (t->flags & CFS_OP_SET_ATIME)
		nf->atime_ns = t->atime_ns;
}

static void unlink_from_session(struct cfs_new_file *nf)
{
	for (struct cfs_new_file **p = &nf->f->new_files; *p; p = &(*p)->next)
		if (*p == nf) {
			*p = nf->next;
			return;
		}
}

static void free_if_unused(struct cfs_new_file *nf)
{
	if (nf->h || nf->state == CFS_NEW_SENT || nf->waiters)
		return;
	unlink_from_session(nf);
	free(nf);
}

static void run_waiters(struct cfs_new_file *nf)
{
	struct cfs_new_file_wait *w = nf->waiters;

	nf->waiters = NULL;
	while (w) {
		struct cfs_new_file_wait *next = w->next;

		w->done(w->ctx, nf->error);
		free(w);
		w = next;
	}
}

static void created(struct cfs_daemon *d, void *ctx, int result, const struct cfs_result *res)
{
	struct cfs_new_file *nf = ctx;
	struct cfs_handle *h = nf->h;
	struct cfs_entry *e = NULL;

	/* Created, and maybe removed again since (an unlink sent right after it). */
	if (result == 0)
		e = cfs_tree_lookup(&cfs_daemon_state(d)->tree, res->inode);
	nf->state = CFS_NEW_DONE;
	nf->error = result;
	if (result == 0)
		nf->real_ino = res->inode;
	if (h && result == 0) {
		h->inode = res->inode;
		if (e)
			cfs_handle_committed(h, e->data);
		else
			cfs_handle_orphan(h); /* removed already: it keeps what it wrote */
	} else if (h) {
		/* The writer hears of it at close: nothing of it may land later. */
		h->dirty = false;
		log_debug("create of %s failed: %s", nf->name, strerror(-result));
	}
	/*
	 * The kernel holds the name with the provisional inode, but never
	 * trusts it (timeouts 0): its next lookup finds the tree's inode. No
	 * invalidation: it would wait in the kernel for the directory's lock,
	 * which a request of this very moment may hold (lib/fusectl.h).
	 */
	/* The create's reference keeps h (and so nf) alive through the waiters. */
	run_waiters(nf);
	if (h) {
		h->inflight--;
		cfs_fuse_handle_idle(nf->f, h); /* may free h and nf */
	} else {
		free_if_unused(nf);
	}
}

static int add_waiter(struct cfs_new_file *nf, void (*done)(void *ctx, int result), void *ctx)
{
	struct cfs_new_file_wait *w = calloc(1, sizeof(*w)), **p;

	if (!w)
		return -ENOMEM;
	w->done = done;
	w->ctx = ctx;
	for (p = &nf->waiters; *p; p = &(*p)->next)
		;
	*p = w;
	return 0;
}

/* The CREATE with the content written so far. */
static void submit_create(struct cfs_new_file *nf)
{
	struct cfs_daemon *d = nf->f->d;
	struct cfs_handle *h = nf->h;
	struct cfs_op op;

	if (!h || !cfs_handle_commit_op(h, &op))
		memset(&op, 0, sizeof(op)); /* nothing written: an empty file */
	op.kind = CFS_OP_CREATE;
	op.flags = CFS_CREATE_DATA | (nf->excl ? CFS_CREATE_EXCL : 0) |
		   (h && h->append ? CFS_CREATE_APPEND : 0) | nf->time_flags;
	op.mtime_ns = nf->mtime_ns;
	op.atime_ns = nf->atime_ns;
	op.ino = nf->parent;
	op.arg = 0;
	snprintf(op.name, sizeof(op.name), "%s", nf->name);
	op.writer = cfs_daemon_writer(d);
	op.time_ns = nf->time_ns;
	nf->state = CFS_NEW_SENT;
	if (h)
		h->inflight++;
	cfs_submit(d, &op, created, nf);
}

void cfs_new_file_send(struct cfs_new_file *nf, void (*done)(void *ctx, int result), void *ctx)
{
	if (nf->state == CFS_NEW_DONE) {
		if (done)
			done(ctx, nf->error);
		return;
	}
	if (done && add_waiter(nf, done, ctx) < 0) {
		done(ctx, -ENOMEM);
		return;
	}
	if (nf->state == CFS_NEW_UNSENT)
		submit_create(nf);
}

void cfs_new_file_send_named(struct cfs_fuse *f, uint64_t parent, const char *name)
{
	struct cfs_new_file *next;

	/* (without memory, a completion may run at once and free nf) */
	for (struct cfs_new_file *nf = f->new_files; nf; nf = next) {
		next = nf->next;
		if (nf->state == CFS_NEW_UNSENT && nf->parent == parent &&
		    (!name || streq(nf->name, name)))
			submit_create(nf);
	}
}

void cfs_new_file_abandon(struct cfs_new_file *nf, int error)
{
	if (!nf || nf->state != CFS_NEW_UNSENT)
		return;
	nf->state = CFS_NEW_DONE;
	nf->error = error;
	if (nf->h && error == -ENOENT)
		cfs_handle_orphan(nf->h);
}

void cfs_new_file_forget_handle(struct cfs_new_file *nf)
{
	if (!nf)
		return;
	nf->h = NULL;
	free_if_unused(nf);
}

void cfs_new_files_free(struct cfs_fuse *f)
{
	while (f->new_files) {
		struct cfs_new_file *nf = f->new_files;
		struct cfs_new_file_wait *w = nf->waiters;

		f->new_files = nf->next;
		while (w) {
			struct cfs_new_file_wait *next = w->next;

			free(w);
			w = next;
		}
		if (nf->h)
			nf->h->newfile = NULL;
		free(nf);
	}
}

void cfs_fuse_handle_free(struct cfs_fuse *f, struct cfs_handle *h)
{
	if (h)
		cfs_opened_drop(&f->opened, h);
	cfs_handle_free(h);
}

void cfs_fuse_handle_idle(struct cfs_fuse *f, struct cfs_handle *h)
{
	if (h->released && h->inflight == 0 && !h->committing && !h->commit_queue) {
		cfs_new_file_forget_handle(h->newfile);
		cfs_fuse_handle_free(f, h);
	}
}
