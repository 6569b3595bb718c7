/* SPDX-License-Identifier: MIT */
/*
 * FUSE session and namespace operations: lookup, attributes, directories,
 * create/remove/rename, setattr, statfs. File I/O is in fuse_io.c.
 *
 * Mutations are submitted as operations (submit.h) and answered from their
 * completion, after the commit: many can be in flight, nothing blocks the
 * loop.
 */
#include "fuse_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

#include "fuse_internal.h"
#include "droverfs/core/layout.h"
#include "basic/fusectl.h"
#include "basic/log.h"
#include "basic/util.h"
#include "basic/nstime.h"
#include "droverfs/shell/submit.h"
#include "droverfs/shell/virtual.h"

#define MAX_BATCH 64

#define SET_ATTR_TIMES                                                         \
	(FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_ATIME | \
	 FUSE_SET_ATTR_ATIME_NOW)

static void reply_entry_for(fuse_req_t req, uint64_t ino)
{
	struct fuse_entry_param ep;
	struct cfs_attr a;
	int r = cfs_fuse_entry(req_daemon(req), ino, &ep);

	/* An open file's size depends on who asks (fuse_attr.c). */
	if (r == 0 && cfs_opened_handles(&req_fuse(req)->opened, ino)) {
		r = cfs_fuse_attr(req, ino, NULL, &a);
		ep.attr = a.st;
		ep.attr_timeout = MIN(ep.attr_timeout, a.timeout);
	}
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &ep);
}

/* The directory `parent` for a lookup or listing, into *out: 0, -ENOENT, -ENOTDIR or -EACCES. */
static int dir_for(struct cfs_daemon *d, fuse_ino_t parent, enum cfs_caller caller,
		   struct cfs_entry **out)
{
	struct cfs_entry *dir = cfs_tree_lookup(&cfs_daemon_state(d)->tree, parent);

	*out = dir;
	if (!dir)
		return cfs_virtual_id(parent) >= 0 ? -ENOTDIR : -ENOENT;
	if (dir->type != CFS_DIR)
		return -ENOTDIR;
	if (caller == CFS_CALLER_OTHER || (caller == CFS_CALLER_READER && layout_is_private(dir)))
		return -EACCES;
	return 0;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct cfs_daemon *d = req_daemon(req);
	enum cfs_caller caller = req_caller(req);
	struct cfs_entry *dir, *e;
	int id, r;

	if (parent == CFS_ROOT_INODE && caller != CFS_CALLER_OTHER &&
	    (id = cfs_virtual_lookup(name)) >= 0) {
		reply_entry_for(req, cfs_virtual_ino(id));
		return;
	}
	r = dir_for(d, parent, caller, &dir);
	if (r == 0 && strlen(name) > CFS_NAME_MAX)
		r = -ENAMETOOLONG;
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	e = cfs_tree_child(&cfs_daemon_state(d)->tree, dir, name);
	if (!e) {
		struct cfs_new_file *nf = cfs_new_file_by_name(d->fuse, parent, name);

		if (nf)
			reply_entry_for(req, nf->ino);
		else
			fuse_reply_err(req, ENOENT);
		return;
	}
	reply_entry_for(req, e->inode);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	/* Inode numbers are never reused, so nothing needs the kernel's count. */
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cfs_daemon *d = req_daemon(req);
	enum cfs_caller caller = req_caller(req);
	struct cfs_attr a;
	int r;

	if (caller == CFS_CALLER_OTHER && ino != CFS_ROOT_INODE) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if (caller == CFS_CALLER_READER && cfs_fuse_private(d, ino)) {
		fuse_reply_err(req, EACCES);
		return;
	}
	/*
	 * Removed while open here, fstat still works (fuse_opened.h); a removed
	 * inode the kernel still names otherwise gets ESTALE: the kernel looks
	 * the name up again.
	 */
	r = cfs_fuse_attr(req, ino, fi_handle(fi), &a);
	if (r < 0)
		fuse_reply_err(req, r == -ENOENT ? ESTALE : -r);
	else
		fuse_reply_attr(req, &a.st, a.timeout);
}

/* A request that waits for one or more submitted ops, then answers. */
struct req_wait {
	fuse_req_t req;
	uint64_t ino;
	struct cfs_handle *h; /* REPLY_ATTR: the handle it came through (the kernel holds it) */
	unsigned pending;
	int error;
	uint64_t start_ns;
	enum { REPLY_ERR, REPLY_ENTRY, REPLY_ATTR } reply;
	bool have_saved;
	struct stat saved; /* REPLY_ATTR when the entry goes away (a released lock) */
};

/* A new wait for req's ops; NULL when out of memory (the caller answers ENOMEM). */
static struct req_wait *req_wait_new(fuse_req_t req, uint64_t ino, int reply)
{
	struct req_wait *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->req = req;
	w->ino = ino;
	w->reply = reply;
	w->start_ns = now_monotonic_ns();
	return w;
}

static void req_wait_done(struct cfs_daemon *d, void *ctx, int result, const struct cfs_result *res)
{
	struct req_wait *w = ctx;

	if (result < 0 && w->error == 0)
		w->error = result;
	if (result == 0 && res->inode && w->reply == REPLY_ENTRY)
		w->ino = res->inode;
	if (--w->pending > 0)
		return;
	cfs_daemon_count_apply(d, w->start_ns);
	if (w->error < 0) {
		fuse_reply_err(w->req, -w->error);
	} else if (w->reply == REPLY_ENTRY) {
		reply_entry_for(w->req, w->ino);
	} else if (w->reply == REPLY_ATTR) {
		struct cfs_attr a;
		int r = cfs_fuse_attr(w->req, w->ino, w->h, &a);

		if (r < 0 && w->have_saved) {
			a.st = w->saved;
			r = 0;
		}
		if (w->have_saved)
			a.timeout = 0;
		if (r < 0)
			fuse_reply_err(w->req, -r);
		else
			fuse_reply_attr(w->req, &a.st, a.timeout);
	} else {
		fuse_reply_err(w->req, 0);
	}
	free(w);
}

static void submit_for(struct cfs_daemon *d, struct req_wait *w, struct cfs_op *op)
{
	op->writer = cfs_daemon_writer(d);
	if (op->time_ns == 0)
		op->time_ns = now_wall_ns();
	w->pending++;
	cfs_submit(d, op, req_wait_done, w);
}

/* May this caller change the tree now? 0 or -EACCES (root only, with quorum). */
static int change_allowed(fuse_req_t req)
{
	if (req_caller(req) != CFS_CALLER_ROOT || !req_daemon(req)->quorate)
		return -EACCES;
	return 0;
}

/*
 * A name this node is still creating must be in the tree before an
 * operation on it (or, for rmdir, on its directory) is ordered after it.
 */
static void send_new_files(struct cfs_daemon *d, uint8_t kind, uint64_t parent, const char *name)
{
	struct cfs_entry *dir, *e;

	if (kind != CFS_OP_RMDIR) {
		cfs_new_file_send_named(d->fuse, parent, name);
		return;
	}
	dir = cfs_tree_lookup(&cfs_daemon_state(d)->tree, parent);
	e = dir ? cfs_tree_child(&cfs_daemon_state(d)->tree, dir, name) : NULL;
	if (e)
		cfs_new_file_send_named(d->fuse, e->inode, NULL);
}

/* mkdir, create, unlink, rmdir by name: takes the request (answered from the completion). */
static void submit_named(fuse_req_t req, uint8_t kind, fuse_ino_t parent, const char *name,
			 int reply)
{
	struct cfs_daemon *d = req_daemon(req);
	struct cfs_op op = { .kind = kind, .ino = parent };
	struct req_wait *w;
	int r;

	r = change_allowed(req);
	if (r == 0 && parent == CFS_ROOT_INODE && cfs_virtual_lookup(name) >= 0)
		r = kind == CFS_OP_MKDIR ? -EEXIST : -EACCES;
	if (r == 0)
		r = cfs_op_set_name(op.name, name);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	send_new_files(d, kind, parent, op.name);
	w = req_wait_new(req, parent, reply);
	if (!w) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	submit_for(d, w, &op);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	submit_named(req, CFS_OP_MKDIR, parent, name, REPLY_ENTRY);
}

/* mknod(2) of a regular file is a creat(2); device files, fifos and sockets have no place here. */
static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	if (!S_ISREG(mode)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	submit_named(req, CFS_OP_CREATE, parent, name, REPLY_ENTRY);
}

/* No symbolic links but the generated ones: EPERM, as symlink(2) says for such file systems. */
static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EPERM);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct cfs_daemon *d = req_daemon(req);
	struct cfs_tree *t = &cfs_daemon_state(d)->tree;
	struct cfs_new_file *nf = NULL;
	struct cfs_entry *dir;

	if (change_allowed(req) == 0 && strlen(name) <= CFS_NAME_MAX)
		nf = cfs_new_file_by_name(d->fuse, parent, name);
	/*
	 * A new file this node has not sent is removed here alone: its create
	 * never leaves, and its creator goes on with an orphan (the anonymous
	 * temporary file: create, unlink, use). Should another node have made
	 * the name meanwhile, that file is removed too, as usual.
	 */
	if (nf && nf->state == CFS_NEW_UNSENT) {
		cfs_new_file_abandon(nf, -ENOENT);
		dir = cfs_tree_lookup(t, parent);
		if (!dir || !cfs_tree_child(t, dir, name)) {
			fuse_reply_err(req, 0);
			return;
		}
	}
	submit_named(req, CFS_OP_UNLINK, parent, name, REPLY_ERR);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	submit_named(req, CFS_OP_RMDIR, parent, name, REPLY_ERR);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct cfs_daemon *d = req_daemon(req);
	struct cfs_op op = { .kind = CFS_OP_RENAME, .ino = parent, .ino2 = newparent };
	struct req_wait *w;
	int r;

	r = change_allowed(req);
	if (r == 0 && (flags & ~(unsigned)RENAME_NOREPLACE))
		r = -EINVAL; /* RENAME_EXCHANGE and RENAME_WHITEOUT are not supported */
	if (r == 0 && ((parent == CFS_ROOT_INODE && cfs_virtual_lookup(name) >= 0) ||
		       (newparent == CFS_ROOT_INODE && cfs_virtual_lookup(newname) >= 0)))
		r = -EACCES;
	if (flags & RENAME_NOREPLACE)
		op.flags = CFS_RENAME_NOREPLACE;
	if (r == 0)
		r = cfs_op_set_name(op.name, name);
	if (r == 0)
		r = cfs_op_set_name(op.name2, newname);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	cfs_new_file_send_named(d->fuse, parent, op.name);
	cfs_new_file_send_named(d->fuse, newparent, op.name2);
	/* a directory renamed over must be empty: so must it be here, with what is being made in it */
	send_new_files(d, CFS_OP_RMDIR, newparent, op.name2);
	w = req_wait_new(req, 0, REPLY_ERR);
	if (!w) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	submit_for(d, w, &op);
}

/* The permission bits ino has with quorum: the most a chmod may ask for. */
static mode_t canonical_mode(struct cfs_daemon *d, uint64_t ino, const struct stat *now)
{
	int id = cfs_virtual_id(ino);
	struct cfs_entry *e;

	if (id >= 0)
		return cfs_mode_bits(cfs_virtual_mode_kind(id), false, true);
	/* a new file's directory tells whether it is private as well as the file */
	e = cfs_fuse_entry_of(d, ino);
	return cfs_mode_bits(S_ISDIR(now->st_mode) ? CFS_MODE_DIR : CFS_MODE_FILE,
			     e && layout_is_private(e), true);
}

/*
 * Modes and owners are fixed. A chmod that asks for no more than the
 * canonical mode (rsync's 0600 for its temporary files, 0640, 0750 for a
 * directory) is accepted and leaves the canonical mode; so is a chown to
 * root and the read-only group.
 */
static int check_mode_owner(struct cfs_daemon *d, uint64_t ino, const struct stat *attr, int to_set,
			    const struct stat *now)
{
	if ((to_set & FUSE_SET_ATTR_MODE) &&
	    !cfs_chmod_allowed(attr->st_mode, canonical_mode(d, ino, now)))
		return -EPERM;
	if ((to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) &&
	    !cfs_chown_allowed((to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1,
			       (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1, d->gid))
		return -EPERM;
	return 0;
}

/*
 * The times a setattr gives, into op (its flags, mtime_ns, atime_ns); the
 * *_NOW ones are op->time_ns. ctime is never taken from the caller: the
 * change itself sets it.
 */
static void requested_times(struct cfs_op *op, const struct stat *attr, int to_set)
{
	if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
		op->flags |= CFS_OP_SET_MTIME;
		op->mtime_ns = (to_set & FUSE_SET_ATTR_MTIME_NOW)
				       ? op->time_ns
				       : nstime_from_timespec(&attr->st_mtim);
	}
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW)) {
		op->flags |= CFS_OP_SET_ATIME;
		op->atime_ns = (to_set & FUSE_SET_ATTR_ATIME_NOW)
				       ? op->time_ns
				       : nstime_from_timespec(&attr->st_atim);
	}
}

/*
 * utime(0) on a lock is a request to release it: granted when the lock has
 * gone unrefreshed for its whole lifetime, as this node measured it.
 */
static int submit_times(struct cfs_daemon *d, struct req_wait *w, struct cfs_entry *e,
			const struct stat *attr, int to_set)
{
	struct cfs_op op = { .kind = CFS_OP_MTIME, .ino = e->inode, .time_ns = now_wall_ns() };

	requested_times(&op, attr, to_set);
	if (layout_is_lock_dir(e) && (op.flags & CFS_OP_SET_MTIME) && op.mtime_ns == 0) {
		if (!cfs_locks_expired(&d->locks, e->inode, e->version))
			return -EACCES;
		op.kind = CFS_OP_UNLOCK;
		op.flags = 0;
		op.arg = e->version;
		w->have_saved = cfs_fuse_stat(d, e->inode, &w->saved) == 0;
	}
	submit_for(d, w, &op);
	return 0;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi);

/* A setattr of a new file whose create is on its way: on the tree's entry once it is there. */
struct setattr_wait {
	fuse_req_t req;
	struct cfs_new_file *nf;
	struct stat attr;
	int to_set;
	struct fuse_file_info fi;
	bool have_fi;
};

static void setattr_created(void *ctx, int result)
{
	struct setattr_wait *w = ctx;

	if (result < 0)
		fuse_reply_err(w->req, ESTALE);
	else
		op_setattr(w->req, w->nf->real_ino, &w->attr, w->to_set,
			   w->have_fi ? &w->fi : NULL);
	free(w);
}

/* Takes the request: answered once the new file is in the tree. */
static void setattr_after_create(fuse_req_t req, struct cfs_new_file *nf, struct stat *attr,
				 int to_set, struct fuse_file_info *fi)
{
	struct setattr_wait *w = calloc(1, sizeof(*w));

	if (!w) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	w->req = req;
	w->nf = nf;
	w->attr = *attr;
	w->to_set = to_set;
	w->have_fi = fi != NULL;
	if (fi)
		w->fi = *fi;
	cfs_new_file_send(nf, setattr_created, w);
}

/*
 * Size and mtime of a file being created here: its creator's, until it is
 * in the tree. Takes the request.
 */
static void setattr_new_file(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			     struct fuse_file_info *fi)
{
	struct cfs_daemon *d = req_daemon(req);
	struct cfs_new_file *nf = cfs_new_file_by_ino(d->fuse, ino);
	int r = 0;

	if (!nf || (nf->state == CFS_NEW_DONE && nf->error)) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (nf->state == CFS_NEW_DONE) {
		op_setattr(req, nf->real_ino, attr, to_set, fi);
		return;
	}
	if (nf->state == CFS_NEW_SENT) {
		setattr_after_create(req, nf, attr, to_set, fi);
		return;
	}
	if ((to_set & FUSE_SET_ATTR_SIZE) && nf->h) {
		r = cfs_state_check_size(cfs_daemon_state(d), 0, (uint64_t)attr->st_size);
		if (r == 0)
			r = cfs_handle_truncate(nf->h, (uint64_t)attr->st_size,
						cfs_daemon_state(d)->limits.max_file_size);
	}
	if (r == 0 && (to_set & SET_ATTR_TIMES)) {
		struct cfs_op t = { .time_ns = now_wall_ns() };

		requested_times(&t, attr, to_set);
		cfs_new_file_set_times(nf, &t);
	}
	cfs_fuse_reply_attr(req, ino, fi_handle(fi), r);
}

/*
 * A file removed while open here: only the open copies change. Its size
 * through the handle that asks (ftruncate); its times where fstat finds them.
 * Takes the request.
 */
static void setattr_gone(fuse_req_t req, fuse_ino_t ino, struct cfs_handle *h,
			 const struct stat *attr, int to_set)
{
	struct cfs_daemon *d = req_daemon(req);
	struct stat *saved = cfs_opened_stat(&d->fuse->opened, ino);
	int r = 0;

	if (to_set & FUSE_SET_ATTR_SIZE) {
		/* (without a descriptor, through /proc/PID/fd: the name is gone) */
		r = h && h->kind == CFS_HANDLE_FILE && h->writable ? 0 : -ESTALE;
		if (r == 0)
			r = cfs_handle_truncate(h, (uint64_t)attr->st_size,
						cfs_daemon_state(d)->limits.max_file_size);
	}
	if (r == 0 && saved && (to_set & SET_ATTR_TIMES)) {
		struct cfs_op t = { .time_ns = now_wall_ns() };

		requested_times(&t, attr, to_set);
		if (t.flags & CFS_OP_SET_MTIME)
			saved->st_mtim = nstime_to_timespec(t.mtime_ns);
		if (t.flags & CFS_OP_SET_ATIME)
			saved->st_atim = nstime_to_timespec(t.atime_ns);
		saved->st_ctim = nstime_to_timespec(t.time_ns);
	}
	cfs_fuse_reply_attr(req, ino, h, r);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct cfs_daemon *d = req_daemon(req);
	struct cfs_handle *h = fi_handle(fi);
	struct cfs_entry *e;
	struct req_wait *w;
	struct cfs_attr now;
	int r;

	r = req_caller(req) == CFS_CALLER_ROOT ? 0 : -EACCES;
	if (r == 0)
		r = cfs_fuse_attr(req, ino, h, &now);
	if (r == 0)
		r = check_mode_owner(d, ino, attr, to_set, &now.st);
	if (r == 0 && cfs_virtual_id(ino) >= 0) {
		/* only `> .debug` truncates a generated file; nothing to do */
		if ((to_set & FUSE_SET_ATTR_SIZE) && cfs_virtual_id(ino) != CFS_VIRT_DEBUG)
			r = -EACCES;
		if (r == 0)
			fuse_reply_attr(req, &now.st, 0);
	}
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (cfs_virtual_id(ino) >= 0)
		return;
	if (!(to_set & (FUSE_SET_ATTR_SIZE | SET_ATTR_TIMES))) {
		fuse_reply_attr(req, &now.st, now.timeout); /* a chmod/chown that changes nothing */
		return;
	}
	if (!d->quorate) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if (now.gone) {
		setattr_gone(req, ino, h, attr, to_set);
		return;
	}
	if (cfs_new_file_ino(ino)) {
		setattr_new_file(req, ino, attr, to_set, fi);
		return;
	}
	if ((to_set & FUSE_SET_ATTR_SIZE) && h && h->kind == CFS_HANDLE_FILE && h->writable &&
	    !(to_set & SET_ATTR_TIMES)) {
		cfs_fuse_truncate_handle(req, ino, h, (uint64_t)attr->st_size);
		return;
	}
	e = cfs_tree_lookup(&cfs_daemon_state(d)->tree, ino);
	/* through a handle opened on what a gone inode's name holds now (fuse_departed.h) */
	if (!e && cfs_handle_redirected(h, ino))
		e = cfs_tree_lookup(&cfs_daemon_state(d)->tree, h->inode);
	w = e ? req_wait_new(req, ino, REPLY_ATTR) : NULL;
	if (!e || !w) {
		/* gone after the kernel's lookup: ESTALE has it look the name up again */
		fuse_reply_err(req, !e ? ESTALE : ENOMEM);
		return;
	}
	w->h = h;
	w->pending = 1; /* held until every op is submitted */
	if (to_set & FUSE_SET_ATTR_SIZE) {
		r = cfs_state_check_size(cfs_daemon_state(d), e->inode, (uint64_t)attr->st_size);
		if (r == 0) {
			struct cfs_op op = { .kind = CFS_OP_TRUNCATE,
					     .ino = e->inode,
					     .arg = (uint64_t)attr->st_size };

			submit_for(d, w, &op);
		}
	}
	if (r == 0 && (to_set & SET_ATTR_TIMES))
		r = submit_times(d, w, e, attr, to_set);
	req_wait_done(d, w, r, &(struct cfs_result){ 0 });
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct cfs_daemon *d = req_daemon(req);
	int id = cfs_virtual_id(ino);
	char target[CFS_PATH_MAX];

	if (req_caller(req) == CFS_CALLER_OTHER) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if (id < 0 || !cfs_virtual_is_symlink(id)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	cfs_virtual_symlink(d, id, target, sizeof(target));
	fuse_reply_readlink(req, target);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct cfs_daemon *d = req_daemon(req);
	const struct cfs_state *st = cfs_daemon_state(d);
	struct statvfs sv;
	uint64_t total = st->limits.max_total_bytes;

	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = sv.f_frsize = 4096;
	sv.f_blocks = total / 4096;
	sv.f_bfree = sv.f_bavail = st->tree.nbytes < total ? (total - st->tree.nbytes) / 4096 : 0;
	sv.f_files = st->limits.max_entries;
	sv.f_ffree = sv.f_favail = st->tree.nentries < st->limits.max_entries
					   ? st->limits.max_entries - st->tree.nentries
					   : 0;
	sv.f_namemax = CFS_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

static int add_dir_entries(struct cfs_daemon *d, struct cfs_handle *h, struct cfs_entry *dir)
{
	int r = cfs_handle_add_dirent(h, dir->inode, S_IFDIR, ".");

	if (r == 0)
		r = cfs_handle_add_dirent(h, dir->parent ? dir->parent->inode : dir->inode, S_IFDIR,
					  "..");
	if (dir->inode == CFS_ROOT_INODE) {
		for (int id = 0; id < CFS_VIRT_COUNT && r == 0; id++)
			r = cfs_handle_add_dirent(h, cfs_virtual_ino(id),
						  cfs_virtual_is_symlink(id) ? S_IFLNK : S_IFREG,
						  cfs_virtual_name(id));
	}
	for (struct cfs_entry *c = dir->children; c && r == 0; c = c->next)
		r = cfs_handle_add_dirent(h, c->inode, c->type == CFS_DIR ? S_IFDIR : S_IFREG,
					  c->name);
	for (struct cfs_new_file *nf = d->fuse->new_files; nf && r == 0; nf = nf->next)
		if (nf->state != CFS_NEW_DONE && nf->parent == dir->inode &&
		    !cfs_tree_child(&cfs_daemon_state(d)->tree, dir, nf->name))
			r = cfs_handle_add_dirent(h, nf->ino, S_IFREG, nf->name);
	return r;
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cfs_daemon *d = req_daemon(req);
	struct cfs_entry *dir;
	struct cfs_handle *h;
	struct stat st;
	int r = dir_for(d, ino, req_caller(req), &dir);

	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	/* The names as they are now: offsets stay valid while the directory changes. */
	h = cfs_handle_new(CFS_HANDLE_DIR, ino, NULL);
	if (!h || add_dir_entries(d, h, dir) < 0) {
		cfs_handle_free(h);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/*
	 * Listed among the open inodes, so an fstat after a removal by another
	 * process or node answers as a local file system does (no links), not
	 * ESTALE: glibc's opendir() itself calls fstat on the new descriptor.
	 */
	h->opener_tid = fuse_req_ctx(req)->pid;
	if (cfs_fuse_stat(d, ino, &st) == 0)
		(void)cfs_opened_add(&d->fuse->opened, ino, &st, h);
	fi->fh = (uintptr_t)h;
	if (fuse_reply_open(req, fi) == -ENOENT)
		cfs_fuse_handle_free(d->fuse, h); /* interrupted: the kernel will not release it */
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct cfs_handle *h = fi_handle(fi);
	char *buf = malloc(size);
	size_t used = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = (size_t)off; h && i < h->ndirents; i++) {
		struct stat st = { .st_ino = h->dirents[i].ino, .st_mode = h->dirents[i].mode };
		size_t n = fuse_add_direntry(req, buf + used, size - used, h->dirents[i].name, &st,
					     (off_t)(i + 1));

		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	cfs_fuse_handle_free(req_fuse(req), fi_handle(fi));
	fuse_reply_err(req, 0);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* Writes must reach us to be buffered per open file: no kernel write-back. */
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	conn->max_write = 1u << 20;
	log_debug("FUSE protocol %u.%u, max_write %u", conn->proto_major, conn->proto_minor,
		  conn->max_write);
}

static const struct fuse_lowlevel_ops cfs_fuse_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.symlink = op_symlink,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.open = cfs_fuse_open,
	.create = cfs_fuse_create,
	.read = cfs_fuse_read,
	.write = cfs_fuse_write,
	.flush = cfs_fuse_flush,
	.release = cfs_fuse_release,
	.fsync = cfs_fuse_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
	.statfs = op_statfs,
};

static int on_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct cfs_fuse *f = userdata;

	for (int i = 0; i < MAX_BATCH; i++) {
		int r = fuse_session_receive_buf(f->se, &f->buf);

		if (r == -EAGAIN)
			break;
		if (r == -EINTR)
			continue;
		if (r <= 0 || fuse_session_exited(f->se)) {
			/* 0 or -ENODEV: unmounted under us. */
			log_notice("FUSE session ended (%s)", r < 0 ? strerror(-r) : "unmounted");
			f->mounted = false;
			sd_event_exit(f->d->event, r < 0 && r != -ENODEV ? r : 0);
			break;
		}
		fuse_session_process_buf(f->se, &f->buf);
	}
	/* One commit for everything this round changed, then the replies. */
	cfs_submit_commit(f->d);
	/* And the ops it submitted leave now, whatever else is ready (cluster mode). */
	cfs_submit_flush(f->d);
	return 0;
}

/* The device of the file system mounted at dir, as stat(2) shows it; 0 if unknown. */
static dev_t mount_device(const char *dir)
{
	char type[64];
	unsigned minor;

	if (mountinfo_lookup("/proc/self/mountinfo", dir, type, sizeof(type), &minor) < 0 ||
	    !streq(type, "fuse.droverfs")) {
		log_warn("cannot find the device of %s: closes of duplicates commit at once", dir);
		return 0;
	}
	return makedev(0, minor); /* FUSE devices are anonymous: major 0 */
}

static void fuse_changed(void *part, const struct cfs_change *c);

static const struct cfs_part_ops part_ops = { .changed = fuse_changed };

int cfs_fuse_start(struct cfs_daemon *d, struct cfs_fuse **out)
{
	char *argv[] = { "droverfs", "-o",
			 "default_permissions,allow_other,fsname=droverfs,subtype=droverfs", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct cfs_fuse *f = calloc(1, sizeof(*f));
	char *canonical;
	int fd, r;

	if (!f)
		return -ENOMEM;
	f->d = d;
	hmap_init(&f->opened);
	cfs_departed_init(&f->departed);
	f->se = fuse_session_new(&args, &cfs_fuse_ops, sizeof(cfs_fuse_ops), f);
	fuse_opt_free_args(&args); /* the session keeps copies of what it took */
	if (!f->se) {
		hmap_destroy(&f->opened);
		cfs_departed_free(&f->departed);
		free(f);
		return -EIO;
	}
	/* (before the mount: afterwards a path walk through it would wait for us) */
	canonical = realpath(d->opt.mountpoint, NULL);
	if (fuse_session_mount(f->se, d->opt.mountpoint) != 0) {
		log_err("cannot mount droverfs on %s", d->opt.mountpoint);
		free(canonical);
		fuse_session_destroy(f->se);
		hmap_destroy(&f->opened);
		cfs_departed_free(&f->departed);
		free(f);
		return -EIO;
	}
	f->mounted = true;
	f->dev = mount_device(canonical ? canonical : d->opt.mountpoint);
	free(canonical);
	fd = fuse_session_fd(f->se);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	r = sd_event_add_io(d->event, &f->source, fd, EPOLLIN, on_readable, f);
	if (r == 0)
		r = cfs_notifier_start(&f->notifier, f->se);
	if (r == 0)
		r = cfs_daemon_add_part(d, &part_ops, f);
	if (r < 0) {
		cfs_fuse_stop(f);
		return r;
	}
	*out = f;
	return 0;
}

void cfs_fuse_stop(struct cfs_fuse *f)
{
	if (!f)
		return;
	cfs_daemon_remove_part(f->d, f);
	/*
	 * A thread stuck in an invalidation would keep the process, and so the
	 * connection, alive after we exit: every request waiting on it would
	 * wait forever (fusectl.h). End the connection first then.
	 */
	if (!cfs_notifier_stop(&f->notifier) && f->mounted)
		fusectl_abort_mount("/proc/self/mountinfo", f->d->opt.mountpoint);
	sd_event_source_disable_unref(f->source);
	if (f->mounted)
		fuse_session_unmount(f->se);
	fuse_session_destroy(f->se);
	cfs_new_files_free(f);
	cfs_opened_free(&f->opened);
	cfs_departed_free(&f->departed);
	free(f->buf.mem);
	free(f);
}

static bool changes_names(uint8_t kind)
{
	return kind == CFS_OP_CREATE || kind == CFS_OP_MKDIR || kind == CFS_OP_UNLINK ||
	       kind == CFS_OP_RMDIR || kind == CFS_OP_RENAME || kind == CFS_OP_UNLOCK;
}

/* An inode that lost its name: an open of it goes to what the name holds next. */
static void note_departed(struct cfs_fuse *f, const struct cfs_change *c)
{
	uint64_t ino = cfs_change_departed(c);

	if (ino)
		(void)cfs_departed_add(&f->departed, ino, c->parent, cfs_change_name(c->path),
				       now_monotonic_ns());
}

/* The kernel's caches of what changed: dropped through the notifier thread. */
static void fuse_changed(void *part, const struct cfs_change *c)
{
	struct cfs_fuse *f = part;

	note_departed(f, c);

	/*
	 * A directory's times and link count change with its names. The
	 * kernel forgets a directory's attributes after its own requests, but
	 * not for what other nodes change, nor for a new file that enters the
	 * tree at its first close (long after the create request), nor for a
	 * released lock (a utime of the lock, not of priv/lock).
	 */
	if (changes_names(c->kind) && (c->writer != cfs_daemon_writer(f->d) ||
				       c->kind == CFS_OP_CREATE || c->kind == CFS_OP_UNLOCK)) {
		cfs_notify_inode(&f->notifier, c->parent);
		if (c->kind == CFS_OP_RENAME && c->old_parent != c->parent)
			cfs_notify_inode(&f->notifier, c->old_parent);
	}
	/* Readers that have the file open may hold its old pages. */
	if (c->content)
		cfs_notify_inode(&f->notifier, c->inode);
	/* A released lock vanished without a request for its name. */
	if (c->kind == CFS_OP_UNLOCK)
		cfs_notify_entry(&f->notifier, c->parent, cfs_change_name(c->path));
	/*
	 * Names another node made, removed or moved: the kernel may still hold
	 * the old entry (a replaced file's removed inode answers ENOENT) or a
	 * negative one. Our own changes went through the kernel already.
	 */
	if (c->writer != cfs_daemon_writer(f->d) && c->kind != CFS_OP_UNLOCK &&
	    (c->kind == CFS_OP_CREATE || c->kind == CFS_OP_MKDIR || c->kind == CFS_OP_UNLINK ||
	     c->kind == CFS_OP_RMDIR || c->kind == CFS_OP_RENAME)) {
		cfs_notify_entry(&f->notifier, c->parent, cfs_change_name(c->path));
		if (c->kind == CFS_OP_RENAME && c->old_path)
			cfs_notify_entry(&f->notifier, c->old_parent, cfs_change_name(c->old_path));
	}
}
