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
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blob.h"
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
	uint64_t opened_ino; /* counted among its inode's open files (fuse_opened.h); 0: not */
	int virtual_id; /* CFS_HANDLE_VIRTUAL */
	struct cfs_dirent *dirents; /* CFS_HANDLE_DIR: names at opendir */
	size_t ndirents;
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

/* Write; returns the count or -EFBIG (beyond max_size) / -ENOMEM. */
long cfs_handle_write(struct cfs_handle *h, uint64_t off, const void *data, size_t size,
		      uint64_t max_size);

/* ftruncate on the handle. Returns 0, -EFBIG or -ENOMEM. */
int cfs_handle_truncate(struct cfs_handle *h, uint64_t size, uint64_t max_size);

/*
 * Describe the pending writes as one WRITE op (op->data points into the
 * handle: submit it before touching the handle again) and remember what it
 * covers. Returns false when there is nothing to commit.
 */
bool cfs_handle_commit_op(struct cfs_handle *h, struct cfs_op *op);

/* The commit made by the last cfs_handle_commit_op() succeeded; `now` is the content. */
void cfs_handle_committed(struct cfs_handle *h, struct cfs_blob *now);

/* Directory handles: append one name. Returns 0 or -ENOMEM. */
int cfs_handle_add_dirent(struct cfs_handle *h, uint64_t ino, uint32_t mode, const char *name);
