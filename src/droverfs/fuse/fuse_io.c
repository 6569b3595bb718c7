/* SPDX-License-Identifier: MIT */
/*
 * FUSE file I/O: open files are struct cfs_handle (handles.h). Writes stay
 * in the handle until flush, which commits them as one operation.
 *
 * Files opened for writing use direct I/O, so the kernel never caches a
 * half-written state; files opened for reading use the page cache, kept as
 * long as the content is unchanged since the kernel last loaded it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "fuse_internal.h"
#include "droverfs/core/layout.h"
#include "basic/log.h"
#include "basic/util.h"
#include "basic/procinfo.h"
#include "basic/nstime.h"
#include "droverfs/shell/submit.h"
#include "droverfs/shell/virtual.h"

/*
 * A flush, fsync or release waiting for the commit of a handle's writes.
 * One commit of a handle is on its way at a time: two at once would both
 * carry the same appended bytes. Flushes meanwhile queue behind it.
 */
struct cfs_commit_wait {
	struct cfs_commit_wait *next; /* queued behind the commit on its way */
	struct cfs_daemon *d;
	fuse_req_t req;
	struct cfs_handle *h;
	enum { AFTER_FLUSH, AFTER_FSYNC, AFTER_RELEASE } then;
	uint64_t start_ns;
};

static void commit_start(struct cfs_commit_wait *w);

/* Answer the flush, fsync or release that waited; then the next in the queue. */
static void commit_finish(struct cfs_commit_wait *w, int result)
{
	struct cfs_daemon *d = w->d;
	struct cfs_handle *h = w->h;
	struct cfs_commit_wait *next = h->commit_queue;
	int answer = result;

	if (answer == 0 && w->then == AFTER_FSYNC)
		answer = cfs_persist_sync(d->persist);
	cfs_daemon_count_apply(d, w->start_ns);
	fuse_reply_err(w->req, -answer);
	if (w->then == AFTER_RELEASE)
		h->released = true;
	free(w);
	h->committing = false;
	if (!next) {
		cfs_fuse_handle_idle(d->fuse, h);
		return;
	}
	h->commit_queue = next->next;
	if (result < 0)
		commit_finish(next, result); /* its writes went with the failed commit */
	else
		commit_start(next);
}

static void commit_done(struct cfs_daemon *d, void *ctx, int result, const struct cfs_result *res)
{
	struct cfs_commit_wait *w = ctx;
	struct cfs_handle *h = w->h;
	struct cfs_entry *e = cfs_tree_lookup(&cfs_daemon_state(d)->tree, h->inode);

	h->inflight--;
	if (result == 0 && e) {
		cfs_handle_committed(h, e->data);
	} else if (result == 0 || result == -ENOENT) {
		/*
		 * Removed or replaced before (ENOENT) or right after the write:
		 * it wrote to a file that is gone, as POSIX has it; not an error.
		 */
		cfs_handle_orphan(h);
		result = 0;
	} else {
		log_debug("commit of inode %llu failed: %s", (unsigned long long)h->inode,
			  strerror(-result));
		h->dirty = false; /* the writer was told: it must not land later by surprise */
	}
	commit_finish(w, result);
}

/* Submit the handle's writes as one WRITE; false when there is nothing to commit. */
static bool submit_write(struct cfs_commit_wait *w)
{
	struct cfs_op op;

	/* Its file was removed meanwhile: nothing to write to (an inode never comes back). */
	if (cfs_handle_pending(w->h) &&
	    !cfs_tree_lookup(&cfs_daemon_state(w->d)->tree, w->h->inode))
		cfs_handle_orphan(w->h);
	if (!cfs_handle_commit_op(w->h, &op))
		return false;
	op.writer = cfs_daemon_writer(w->d);
	op.time_ns = now_wall_ns();
	w->h->inflight++;
	cfs_submit(w->d, &op, commit_done, w);
	return true;
}

/* A new file's create came back: commit what was written after it was sent, then answer. */
static void after_create(void *ctx, int result)
{
	struct cfs_commit_wait *w = ctx;

	w->h->inflight--;
	if (result == 0 && submit_write(w))
		return;
	commit_finish(w, result);
}

static void commit_start(struct cfs_commit_wait *w)
{
	struct cfs_handle *h = w->h;
	struct cfs_new_file *nf = h->newfile;

	h->committing = true;
	if (h->error) {
		cfs_new_file_abandon(nf, h->error); /* a failed new file is not created */
		commit_finish(w, h->error);
	} else if (h->orphan) {
		commit_finish(w, 0);
	} else if (nf && nf->state != CFS_NEW_DONE) {
		h->inflight++;
		cfs_new_file_send(nf, after_create, w);
	} else if (nf && nf->error) {
		commit_finish(w, nf->error); /* the create failed: every close says so */
	} else if (!submit_write(w)) {
		commit_finish(w, 0);
	}
}

/* Has a writable handle anything for a flush to do (commit, create, or report)? */
static bool commit_needed(const struct cfs_handle *h)
{
	const struct cfs_new_file *nf = h->newfile;

	if (h->committing || h->error)
		return true;
	if (h->orphan)
		return false;
	return h->dirty || (nf && (nf->state != CFS_NEW_DONE || nf->error));
}

/*
 * Commit the handle's writes (or create its new file) and take the request
 * (answered after the commit); false when there is nothing to do, and the
 * request is still the caller's.
 */
static bool commit_handle(fuse_req_t req, struct cfs_handle *h, int then)
{
	struct cfs_commit_wait *w, **tail;

	if (h->kind != CFS_HANDLE_FILE || !h->writable || !commit_needed(h))
		return false;
	w = calloc(1, sizeof(*w));
	if (!w) {
		fuse_reply_err(req, ENOMEM);
		return true;
	}
	w->d = req_daemon(req);
	w->req = req;
	w->h = h;
	w->then = then;
	w->start_ns = now_monotonic_ns();
	if (!h->committing) {
		commit_start(w);
		return true;
	}
	for (tail = &h->commit_queue; *tail; tail = &(*tail)->next)
		;
	*tail = w;
	return true;
}

static int open_virtual(fuse_req_t req, int id, struct fuse_file_info *fi)
{
	struct cfs_daemon *d = req_daemon(req);
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
	struct cfs_handle *h;
	struct cfs_blob *b;
	char *content;

	if (cfs_virtual_is_symlink(id))
		return -ELOOP;
	if (writing && (id != CFS_VIRT_DEBUG || req_caller(req) != CFS_CALLER_ROOT))
		return -EACCES;
	content = cfs_virtual_content(d, id);
	b = content ? cfs_blob_new(content, strlen(content)) : NULL;
	free(content);
	h = b ? cfs_handle_new(CFS_HANDLE_VIRTUAL, cfs_virtual_ino(id), b) : NULL;
	cfs_blob_unref(b);
	if (!h)
		return -ENOMEM;
	h->virtual_id = id;
	h->writable = writing;
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1; /* generated anew at each open: nothing to cache */
	return 0;
}

/*
 * List h among the open files of the kernel's inode ino (fuse_opened.h).
 * Without memory it is not listed: fstat after a removal then fails, and
 * its process sees the committed size.
 */
static void track_open(fuse_req_t req, struct cfs_handle *h, uint64_t ino)
{
	struct cfs_fuse *f = req_fuse(req);
	struct stat st;
	int r;

	h->opener_tid = fuse_req_ctx(req)->pid;
	r = cfs_fuse_stat(f->d, ino, &st);
	/* a departed inode opened as what its name holds now: that file's attributes */
	if (r < 0 && h->inode && cfs_fuse_stat(f->d, h->inode, &st) == 0) {
		st.st_ino = ino;
		r = 0;
	}
	if (r == 0)
		(void)cfs_opened_add(&f->opened, ino, &st, h);
}

/* Set up a handle for tree entry e, which the kernel calls ino; the caller replies. */
static int open_entry(fuse_req_t req, uint64_t ino, struct cfs_entry *e, struct fuse_file_info *fi)
{
	struct cfs_daemon *d = req_daemon(req);
	enum cfs_caller caller = req_caller(req);
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
	struct cfs_handle *h;

	if (e->type == CFS_DIR)
		return -EISDIR;
	if (caller == CFS_CALLER_OTHER || (caller == CFS_CALLER_READER && layout_is_private(e)))
		return -EACCES;
	if (writing && (caller != CFS_CALLER_ROOT || !d->quorate))
		return -EACCES;
	h = cfs_handle_new(CFS_HANDLE_FILE, e->inode, e->data);
	if (!h)
		return -ENOMEM;
	track_open(req, h, ino);
	h->writable = writing;
	h->append = writing && (fi->flags & O_APPEND);
	if (writing && (fi->flags & O_TRUNC))
		cfs_handle_truncate_at_open(h);
	fi->fh = (uintptr_t)h;
	if (!writing)
		fi->noflush = 1; /* a reader's close has nothing to commit: no round trip */
	if (writing || ino != e->inode) {
		/* (another inode's pages would hold e's content: none are kept) */
		fi->direct_io = 1;
	} else {
		fi->keep_cache = e->kernel_cached == e->content_version;
		e->kernel_cached = e->content_version;
	}
	return 0;
}

static void reply_open(fuse_req_t req, struct fuse_file_info *fi)
{
	if (fuse_reply_open(req, fi) == -ENOENT) /* interrupted meanwhile */
		cfs_fuse_handle_free(req_fuse(req), fi_handle(fi));
}

/* A second open of a file being created here, for writing: once it is in the tree. */
struct open_wait {
	fuse_req_t req;
	struct fuse_file_info fi;
	struct cfs_new_file *nf;
};

static void open_after_create(void *ctx, int result)
{
	struct open_wait *w = ctx;
	struct cfs_daemon *d = w->nf->f->d;
	struct cfs_entry *e = NULL;

	if (result == 0)
		e = cfs_tree_lookup(&cfs_daemon_state(d)->tree, w->nf->real_ino);
	/* Refused or gone: the kernel looks the name up again and finds whoever won. */
	result = e ? open_entry(w->req, w->nf->ino, e, &w->fi) : -ESTALE;
	w->fi.direct_io = 1; /* the provisional inode's pages are never invalidated */
	if (result < 0)
		fuse_reply_err(w->req, -result);
	else
		reply_open(w->req, &w->fi);
	free(w);
}

/* Open a file that this node is creating (a provisional inode). */
static int open_new_file(fuse_req_t req, uint64_t ino, struct fuse_file_info *fi)
{
	struct cfs_daemon *d = req_daemon(req);
	struct cfs_new_file *nf = cfs_new_file_by_ino(req_fuse(req), ino);
	struct cfs_entry *dir = nf ? cfs_tree_lookup(&cfs_daemon_state(d)->tree, nf->parent) : NULL;
	enum cfs_caller caller = req_caller(req);
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
	struct cfs_handle *h;
	struct open_wait *w;

	if (!nf || (nf->state == CFS_NEW_DONE && nf->error))
		return -ESTALE; /* the kernel looks the name up again */
	if (nf->state == CFS_NEW_DONE) {
		struct cfs_entry *e = cfs_tree_lookup(&cfs_daemon_state(d)->tree, nf->real_ino);
		int r = e ? open_entry(req, ino, e, fi) : -ESTALE;

		fi->direct_io = 1; /* the provisional inode's pages are never invalidated */
		return r;
	}
	if (caller == CFS_CALLER_OTHER ||
	    (caller == CFS_CALLER_READER && dir && layout_is_private(dir)))
		return -EACCES;
	if (writing) {
		if (caller != CFS_CALLER_ROOT || !d->quorate)
			return -EACCES;
		/* Two writers: the file must exist for the second one. */
		w = calloc(1, sizeof(*w));
		if (!w)
			return -ENOMEM;
		w->req = req;
		w->fi = *fi;
		w->nf = nf;
		cfs_new_file_send(nf, open_after_create, w);
		return 1;
	}
	/* A reader sees what is committed: nothing yet. */
	h = cfs_handle_new(CFS_HANDLE_FILE, 0, NULL);
	if (!h)
		return -ENOMEM;
	track_open(req, h, ino);
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	return 0;
}

/*
 * How long after a gone inode lost its name an open of it goes to what the
 * name holds now. While a handle here is still open on that inode itself
 * (an orphan), an open may also come through /proc/PID/fd, naming that
 * file and not its name (`: > /proc/PID/fd/N` to empty a removed file):
 * the kernel's requests do not tell the two apart. A path's open follows
 * its lookup within milliseconds, so then only a short window is taken;
 * later such an open fails with ESTALE as before.
 */
#define ORPHAN_REOPEN_WINDOW_NS (500ull * 1000000ull)

static uint64_t successor_window(struct cfs_fuse *f, uint64_t ino)
{
	for (struct cfs_handle *h = cfs_opened_handles(&f->opened, ino); h; h = h->opened_next)
		if (h->inode == ino)
			return ORPHAN_REOPEN_WINDOW_NS;
	return CFS_DEPARTED_TTL_NS;
}

void cfs_fuse_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cfs_daemon *d = req_daemon(req);
	int id = cfs_virtual_id(ino);
	struct cfs_entry *e;
	int r;

	if (cfs_new_file_ino(ino)) {
		r = open_new_file(req, ino, fi);
		if (r > 0)
			return; /* answered later */
	} else if (id >= 0) {
		r = req_caller(req) == CFS_CALLER_OTHER ? -EACCES : open_virtual(req, id, fi);
	} else {
		e = cfs_tree_lookup(&cfs_daemon_state(d)->tree, ino);
		/*
		 * Gone: another process or node replaced or removed it after the
		 * kernel looked its name up. What the name holds now is what the
		 * caller's path names (fuse_departed.h); with nothing there,
		 * ESTALE makes the kernel look the name up again.
		 */
		if (!e)
			e = cfs_fuse_departed_successor(d, ino,
							successor_window(req_fuse(req), ino));
		r = e ? open_entry(req, ino, e, fi) : -ESTALE;
	}
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		reply_open(req, fi);
}

struct create_wait {
	fuse_req_t req;
	struct fuse_file_info fi;
	uint64_t parent;
	char name[CFS_NAME_MAX + 1];
};

static void create_done(struct cfs_daemon *d, void *ctx, int result, const struct cfs_result *res)
{
	struct create_wait *w = ctx;
	struct cfs_state *st = cfs_daemon_state(d);
	struct fuse_entry_param ep;
	struct cfs_entry *e = NULL;

	if (result == 0) {
		e = cfs_tree_lookup(&st->tree, res->inode);
	} else if (result == -EEXIST && !(w->fi.flags & O_EXCL)) {
		/* Created by someone else meanwhile, and O_EXCL not asked: open it. */
		struct cfs_entry *dir = cfs_tree_lookup(&st->tree, w->parent);

		e = dir ? cfs_tree_child(&st->tree, dir, w->name) : NULL;
	}
	if (e) {
		result = open_entry(w->req, e->inode, e, &w->fi);
		if (result == 0)
			result = cfs_fuse_entry(d, e->inode, &ep);
	} else if (result == 0) {
		result = -ENOENT;
	}
	if (result < 0) {
		cfs_fuse_handle_free(d->fuse, fi_handle(&w->fi));
		fuse_reply_err(w->req, -result);
	} else if (fuse_reply_create(w->req, &ep, &w->fi) == -ENOENT) {
		cfs_fuse_handle_free(d->fuse, fi_handle(&w->fi));
	}
	free(w);
}

/*
 * The usual case: a new file opened for writing enters the tree at its
 * first close, content included (fuse_newfile.h). false: not this case.
 */
static bool create_later(fuse_req_t req, uint64_t parent, const char *name,
			 struct fuse_file_info *fi)
{
	struct cfs_fuse *f = req_fuse(req);
	struct cfs_daemon *d = f->d;
	struct cfs_state *st = cfs_daemon_state(d);
	struct cfs_entry *dir = cfs_tree_lookup(&st->tree, parent);
	struct fuse_entry_param ep;
	struct cfs_new_file *nf;
	struct cfs_handle *h;
	int r;

	/*
	 * Locks, read-only opens and names already taken go the direct way, and
	 * so do opens that would keep what another node may create meanwhile
	 * (neither O_TRUNC, O_APPEND nor O_EXCL: writes at an offset into it).
	 */
	if ((fi->flags & O_ACCMODE) == O_RDONLY || !(fi->flags & (O_TRUNC | O_APPEND | O_EXCL)) ||
	    !dir || dir->type != CFS_DIR || layout_in_lock_area(dir) ||
	    cfs_new_file_by_name(f, parent, name))
		return false;
	r = cfs_state_check_new_file(st, parent, name, 0);
	if (r == -EEXIST)
		return false;
	if (r < 0) {
		fuse_reply_err(req, -r);
		return true;
	}
	h = cfs_handle_new(CFS_HANDLE_FILE, 0, NULL);
	nf = h ? cfs_new_file_start(f, h, parent, name, fi->flags & O_EXCL, now_wall_ns()) : NULL;
	if (!nf) {
		cfs_handle_free(h);
		fuse_reply_err(req, ENOMEM);
		return true;
	}
	h->writable = true;
	h->append = fi->flags & O_APPEND;
	track_open(req, h, nf->ino);
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	r = cfs_fuse_entry(d, nf->ino, &ep);
	if (r < 0)
		fuse_reply_err(req, -r);
	if (r < 0 || fuse_reply_create(req, &ep, fi) == -ENOENT) {
		cfs_new_file_forget_handle(nf);
		cfs_fuse_handle_free(f, h);
	}
	return true;
}

void cfs_fuse_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     struct fuse_file_info *fi)
{
	struct cfs_daemon *d = req_daemon(req);
	struct cfs_op op = { .kind = CFS_OP_CREATE, .ino = parent };
	struct create_wait *w;
	int r = 0;

	if (req_caller(req) != CFS_CALLER_ROOT || !d->quorate)
		r = -EACCES;
	else if (parent == CFS_ROOT_INODE && cfs_virtual_lookup(name) >= 0)
		r = -EEXIST;
	if (r == 0)
		r = cfs_op_set_name(op.name, name);
	if (r == 0 && create_later(req, parent, op.name, fi))
		return;
	w = r == 0 ? calloc(1, sizeof(*w)) : NULL;
	if (r == 0 && !w)
		r = -ENOMEM;
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	w->req = req;
	w->fi = *fi;
	w->fi.fh = 0;
	w->parent = parent;
	strcpy(w->name, op.name);
	op.writer = cfs_daemon_writer(d);
	op.time_ns = now_wall_ns();
	cfs_submit(d, &op, create_done, w);
}

void cfs_fuse_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct cfs_handle *h = fi_handle(fi);
	size_t total;
	char *buf;

	if (!h || off < 0) {
		fuse_reply_err(req, EBADF);
		return;
	}
	total = cfs_handle_size(h);
	if ((uint64_t)off >= total) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	/* The common case needs no copy: the pinned content itself. */
	if (!h->materialized && (!h->append || h->appended.len == 0)) {
		fuse_reply_buf(req, (const char *)h->base->data + off,
			       MIN(size, total - (size_t)off));
		return;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fuse_reply_buf(req, buf, cfs_handle_read(h, (uint64_t)off, buf, size));
	free(buf);
}

void cfs_fuse_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct cfs_daemon *d = req_daemon(req);
	struct cfs_handle *h = fi_handle(fi);
	uint64_t end;
	long n;
	int r;

	if (!h || !h->writable || off < 0) {
		fuse_reply_err(req, EBADF);
		return;
	}
	if (h->kind == CFS_HANDLE_VIRTUAL) {
		r = cfs_virtual_write(d, h->virtual_id, data, size);
		if (r < 0)
			fuse_reply_err(req, -r);
		else
			fuse_reply_write(req, size);
		return;
	}
	/*
	 * Fail now with the error the commit would give, not at close; and
	 * then commit nothing of this handle. A write() bigger than a FUSE
	 * write (1 MiB) reaches us in pieces: when a later piece fails, the
	 * program sees a short count, then this error; either way the file
	 * keeps its whole old content.
	 */
	r = d->quorate ? 0 : -EACCES;
	end = h->append ? cfs_handle_size(h) + size : MAX(cfs_handle_size(h), (uint64_t)off + size);
	if (r == 0 && !h->orphan)
		r = cfs_state_check_size(cfs_daemon_state(d), h->inode, end);
	if (r == -ENOENT)
		r = 0; /* removed meanwhile: the handle finds out at its commit */
	n = r < 0 ? r
		  : cfs_handle_write(h, (uint64_t)off, data, size,
				     cfs_daemon_state(d)->limits.max_file_size);
	if (n < 0) {
		cfs_handle_fail(h, (int)n);
		fuse_reply_err(req, (int)-n);
	} else {
		fuse_reply_write(req, (size_t)n);
	}
}

void cfs_fuse_truncate_handle(fuse_req_t req, fuse_ino_t ino, struct cfs_handle *h, uint64_t size)
{
	struct cfs_daemon *d = req_daemon(req);
	int r = cfs_state_check_size(cfs_daemon_state(d), h->inode, size);

	if (r == 0 || r == -ENOENT)
		r = cfs_handle_truncate(h, size, cfs_daemon_state(d)->limits.max_file_size);
	cfs_fuse_reply_attr(req, ino, h, r);
}

/*
 * Is this the close of a duplicate, before anything was written? A shell
 * redirection (`cmd > f`) opens f, duplicates the descriptor onto 1 and
 * closes the first one before cmd writes. Committing then would make the
 * file empty (or create it empty) for everyone, and keep it so if cmd
 * fails. When the closing process still holds the file open for writing,
 * the open's truncation (or creation) waits for the close that comes
 * after the writes, or for the last close.
 */
static bool duplicate_closed_before_writes(fuse_req_t req, struct cfs_handle *h)
{
	struct cfs_fuse *f = req_fuse(req);

	if (h->kind != CFS_HANDLE_FILE || !h->writable || h->wrote || !commit_needed(h) ||
	    h->error || h->committing || !h->opened_ino || !f->dev)
		return false;
	return proc_holds_for_writing(fuse_req_ctx(req)->pid, f->dev, h->opened_ino) == 1;
}

void cfs_fuse_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cfs_handle *h = fi_handle(fi);

	if (h && duplicate_closed_before_writes(req, h)) {
		fuse_reply_err(req, 0);
		return;
	}
	if (!h || !commit_handle(req, h, AFTER_FLUSH))
		fuse_reply_err(req, 0);
}

void cfs_fuse_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct cfs_handle *h = fi_handle(fi);

	if (h && commit_handle(req, h, AFTER_FSYNC))
		return;
	fuse_reply_err(req, -cfs_persist_sync(req_daemon(req)->persist));
}

void cfs_fuse_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cfs_handle *h = fi_handle(fi);

	if (!h) {
		fuse_reply_err(req, 0);
		return;
	}
	/* Normally flush already committed; this catches writes without a flush. */
	if (commit_handle(req, h, AFTER_RELEASE))
		return;
	h->released = true;
	cfs_fuse_handle_idle(req_fuse(req), h);
	fuse_reply_err(req, 0);
}
