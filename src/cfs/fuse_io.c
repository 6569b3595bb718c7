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
#include "layout.h"
#include "lib/log.h"
#include "lib/util.h"
#include "submit.h"
#include "virtual.h"

/* A flush, fsync or release waiting for the commit of a handle's writes. */
struct commit_wait {
	fuse_req_t req;
	struct cfs_handle *h;
	enum { AFTER_FLUSH, AFTER_FSYNC, AFTER_RELEASE } then;
	uint64_t start_ns;
};

static void free_if_done(struct cfs_handle *h)
{
	if (h->released && h->inflight == 0)
		cfs_handle_free(h);
}

static void commit_done(struct cfs_daemon *d, void *ctx, int result, const struct cfs_result *res)
{
	struct commit_wait *w = ctx;
	struct cfs_handle *h = w->h;
	struct cfs_entry *e;

	h->inflight--;
	if (result == 0) {
		e = cfs_tree_lookup(&cfs_daemon_state(d)->tree, h->inode);
		cfs_handle_committed(h, e ? e->data : NULL);
	} else {
		log_debug("commit of inode %llu failed: %s", (unsigned long long)h->inode,
			  strerror(-result));
		h->dirty = false; /* the writer was told: it must not land later by surprise */
	}
	if (result == 0 && w->then == AFTER_FSYNC)
		result = cfs_persist_sync(d->persist);
	d->apply_ns_total += now_monotonic_ns() - w->start_ns;
	d->applied++;
	fuse_reply_err(w->req, -result);
	if (w->then == AFTER_RELEASE)
		h->released = true;
	free_if_done(h);
	free(w);
}

/* Submit the handle's writes; false when there was nothing to commit. */
static bool commit_handle(fuse_req_t req, struct cfs_handle *h, int then)
{
	struct cfs_daemon *d = req_daemon(req);
	struct commit_wait *w;
	struct cfs_op op;

	if (h->kind != CFS_HANDLE_FILE || !h->writable || !cfs_handle_commit_op(h, &op))
		return false;
	w = calloc(1, sizeof(*w));
	if (!w) {
		fuse_reply_err(req, ENOMEM);
		return true;
	}
	w->req = req;
	w->h = h;
	w->then = then;
	w->start_ns = now_monotonic_ns();
	op.writer = cfs_daemon_writer(d);
	op.time = now_wall_s();
	h->inflight++;
	cfs_submit(d, &op, commit_done, w);
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

/* Set up a handle for tree entry e; the caller replies. */
static int open_entry(fuse_req_t req, struct cfs_entry *e, struct fuse_file_info *fi)
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
	h->writable = writing;
	h->append = writing && (fi->flags & O_APPEND);
	if (writing && (fi->flags & O_TRUNC))
		cfs_handle_truncate_at_open(h);
	fi->fh = (uintptr_t)h;
	if (writing) {
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
		cfs_handle_free(fi_handle(fi));
}

void cfs_fuse_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cfs_daemon *d = req_daemon(req);
	int id = cfs_virtual_id(ino);
	struct cfs_entry *e;
	int r;

	if (id >= 0) {
		r = req_caller(req) == CFS_CALLER_OTHER ? -EACCES : open_virtual(req, id, fi);
	} else {
		e = cfs_tree_lookup(&cfs_daemon_state(d)->tree, ino);
		/*
		 * Gone: another node replaced or removed it and the kernel's entry
		 * is older than our invalidation. ESTALE makes the kernel look the
		 * name up again, so a file replaced by rename is never missing.
		 */
		r = e ? open_entry(req, e, fi) : -ESTALE;
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
		result = open_entry(w->req, e, &w->fi);
		if (result == 0)
			result = cfs_fuse_entry(d, e->inode, &ep);
	} else if (result == 0) {
		result = -ENOENT;
	}
	if (result < 0) {
		cfs_handle_free(fi_handle(&w->fi));
		fuse_reply_err(w->req, -result);
	} else if (fuse_reply_create(w->req, &ep, &w->fi) == -ENOENT) {
		cfs_handle_free(fi_handle(&w->fi));
	}
	free(w);
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
	op.time = now_wall_s();
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
	if (!d->quorate) {
		fuse_reply_err(req, EACCES);
		return;
	}
	/* Fail now with the error the commit would give, not at close. */
	end = h->append ? cfs_handle_size(h) + size : MAX(cfs_handle_size(h), (uint64_t)off + size);
	r = cfs_state_check_size(cfs_daemon_state(d), h->inode, end);
	if (r < 0 && r != -ENOENT) {
		fuse_reply_err(req, -r);
		return;
	}
	n = cfs_handle_write(h, (uint64_t)off, data, size,
			     cfs_daemon_state(d)->limits.max_file_size);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

void cfs_fuse_truncate_handle(fuse_req_t req, fuse_ino_t ino, struct cfs_handle *h, uint64_t size)
{
	struct cfs_daemon *d = req_daemon(req);
	struct stat st;
	int r = cfs_state_check_size(cfs_daemon_state(d), ino, size);

	if (r == 0 || r == -ENOENT)
		r = cfs_handle_truncate(h, size, cfs_daemon_state(d)->limits.max_file_size);
	if (r == 0)
		r = cfs_fuse_stat(d, ino, &st);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	st.st_size = (off_t)cfs_handle_size(h);
	fuse_reply_attr(req, &st, 0);
}

void cfs_fuse_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cfs_handle *h = fi_handle(fi);

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
	free_if_done(h);
	fuse_reply_err(req, 0);
}
