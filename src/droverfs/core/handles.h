/* SPDX-License-Identifier: MIT */
/*
 * Open files. A handle opened for writing collects the writes in its own
 * buffer; flush (close) turns them into ONE operation: the whole new
 * content, or, for O_APPEND, the appended bytes (so concurrent `>>`
 * writers do not lose each other's lines). Readers of the file meanwhile
 * see the old content, whole; after the commit, the new one, whole.
 *
 * A read-only handle pins the content it opened, so a reader never sees
 * a mix of two versions across its read() calls.
 *
 * A handle whose write failed (the file would grow past its limit, the
 * quorum is gone...) is failed: it commits nothing at all, and every later
 * write, ftruncate and close reports that error. A program that writes
 * 5 MiB into a 4 MiB file gets a short count or EFBIG from write(), but
 * the file keeps its whole old content, never a 4 MiB prefix of the new.
 *
 * A handle whose file was removed (or replaced by a rename) while it was
 * open is an orphan: POSIX keeps such a file usable through its open
 * descriptors, so the handle goes on reading and writing its own copy, and
 * commits nothing (there is no file left to commit to).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "blob.h"
#include "basic/array.h"
#include "basic/buf.h"
#include "op.h"

enum cfs_handle_kind {
	CFS_HANDLE_FILE,
	CFS_HANDLE_VIRTUAL,
	CFS_HANDLE_DIR,
};

struct cfs_dirent {
	uint64_t ino;
	uint32_t mode; /* S_IFDIR / S_IFREG / S_IFLNK */
	char *name;
};

struct cfs_new_file;
struct cfs_commit_wait;

struct cfs_handle {
	enum cfs_handle_kind kind;
	uint64_t inode;
	bool writable;
	bool append; /* O_APPEND: commit as an append to the then current content */
	bool materialized; /* buf holds the whole content */
	bool dirty;
	bool wrote; /* write() or ftruncate since open (the open's O_TRUNC is not one) */
	bool orphan; /* its file is gone: it keeps its content, commits nothing */
	int error; /* a write failed (-errno): it commits nothing and says so */
	struct cfs_blob *base; /* the committed content this handle started from */
	struct buf buf; /* !append: the whole new content once materialized */
	struct buf appended; /* append: the bytes written */
	uint64_t write_gen; /* counts writes, to know what a commit covered */
	uint64_t commit_gen; /* write_gen at the last submitted commit */
	size_t commit_appended; /* append: bytes the submitted commit carries */
	unsigned inflight; /* commits submitted, not yet completed */
	bool committing; /* a flush's commit is on its way (fuse_io.c) ... */
	struct cfs_commit_wait *commit_queue; /* ... and these flushes wait behind it */
	bool released; /* the kernel is done with it; free when idle */
	/* It creates this file (fuse_newfile.h); inode is 0 until then. */
	struct cfs_new_file *newfile;
	uint64_t opened_ino; /* the kernel's inode it is listed under (fuse_opened.h); 0: none */
	struct cfs_handle *opened_next; /* the next handle open on that inode */
	pid_t opener_tid; /* the thread that opened it (FUSE names threads) */
	pid_t opener_pid; /* its process, once looked up (0: not yet) */
	int virtual_id; /* CFS_HANDLE_VIRTUAL */
	struct cfs_dirent *dirents; /* CFS_HANDLE_DIR: names at opendir */
	size_t ndirents, dirents_cap;
};

/* New handle on content `base` (a new reference is taken). NULL on ENOMEM. */
struct cfs_handle *cfs_handle_new(enum cfs_handle_kind kind, uint64_t inode, struct cfs_blob *base);
void cfs_handle_free(struct cfs_handle *h);

/* O_TRUNC at open: the content starts empty (and will be committed). */
void cfs_handle_truncate_at_open(struct cfs_handle *h);

/* Size as this handle sees it. */
size_t cfs_handle_size(const struct cfs_handle *h);

/* Copy up to size bytes at off as this handle sees the file. Returns the count. */
size_t cfs_handle_read(const struct cfs_handle *h, uint64_t off, void *out, size_t size);

/*
 * Write; returns the count or -EFBIG (beyond max_size) / -ENOMEM, or the
 * error of a failed handle. The caller fails the handle on any error.
 */
long cfs_handle_write(struct cfs_handle *h, uint64_t off, const void *data, size_t size,
		      uint64_t max_size);

/* ftruncate on the handle. Returns 0, -EFBIG, -ENOMEM or the error of a failed handle. */
int cfs_handle_truncate(struct cfs_handle *h, uint64_t size, uint64_t max_size);

/* A write failed with `error`: from now on the handle commits nothing and reports it. */
void cfs_handle_fail(struct cfs_handle *h, int error);

/* Its file is gone: keep what it shows, commit nothing from now on. */
void cfs_handle_orphan(struct cfs_handle *h);

/* Has it writes that are neither committed nor doomed (failed, orphaned)? */
static inline bool cfs_handle_pending(const struct cfs_handle *h)
{
	return h->writable && h->dirty && !h->error && !h->orphan;
}

/*
 * Describe the pending writes as one WRITE op (op->data points into the
 * handle: submit it before touching the handle again) and remember what it
 * covers. Returns false when there is nothing to commit (nothing written,
 * or a failed or orphaned handle).
 */
bool cfs_handle_commit_op(struct cfs_handle *h, struct cfs_op *op);

/* The commit made by the last cfs_handle_commit_op() succeeded; `now` is the content. */
void cfs_handle_committed(struct cfs_handle *h, struct cfs_blob *now);

/* Directory handles: append one name. Returns 0 or -ENOMEM. */
int cfs_handle_add_dirent(struct cfs_handle *h, uint64_t ino, uint32_t mode, const char *name);
