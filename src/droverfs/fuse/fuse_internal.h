/* SPDX-License-Identifier: MIT */
/*
 * Shared by the FUSE files (fuse_*.c); not used elsewhere.
 *
 * The reply rule: every request is answered exactly once, by whoever holds
 * it. A handler (the op_* functions of fuse_fs.c, the cfs_fuse_* request
 * handlers of fuse_io.c) holds it until it replies or hands it on to what
 * then holds it: the completion of the ops it submitted (a req_wait, a
 * commit wait), or the creation of a new file. Functions that answer say
 * so in their name (reply_*, cfs_fuse_reply_*) or in their comment ("replies
 * itself", "takes the request"). Every other helper returns 0 or a negative
 * errno and leaves the answer to its caller.
 */
#pragma once

#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include "droverfs/core/access.h"
#include "droverfs/shell/context.h"
#include "droverfs/core/handles.h"
#include "fuse_departed.h"
#include "fuse_newfile.h"
#include "fuse_opened.h"
#include "notify.h"

struct cfs_fuse {
	struct cfs_daemon *d;
	struct fuse_session *se;
	struct fuse_buf buf;
	sd_event_source *source;
	struct cfs_notifier notifier;
	bool mounted;
	struct cfs_new_file *new_files; /* being created here (fuse_newfile.h) */
	struct hmap opened; /* inodes with open files (fuse_opened.h) */
	struct cfs_departed departed; /* inodes whose name was just taken (fuse_departed.h) */
	uint64_t new_file_counter;
	dev_t dev; /* the mount's device, as the kernel shows it to processes; 0: unknown */
};

/* How long the kernel may keep attributes it was told (seconds). */
#define CFS_ATTR_TIMEOUT 1.0

static inline struct cfs_fuse *req_fuse(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static inline struct cfs_daemon *req_daemon(fuse_req_t req)
{
	return ((struct cfs_fuse *)fuse_req_userdata(req))->d;
}

/*
 * Is h open on another tree entry than the inode ino the kernel knows it
 * by? Such a handle was opened through a name whose inode was gone
 * (fuse_departed.h): it reads and writes the file now at that name.
 */
static inline bool cfs_handle_redirected(const struct cfs_handle *h, uint64_t ino)
{
	return h && h->kind == CFS_HANDLE_FILE && h->inode && h->inode != ino;
}

static inline struct cfs_handle *fi_handle(const struct fuse_file_info *fi)
{
	return fi ? (struct cfs_handle *)(uintptr_t)fi->fh : NULL;
}

/* Who asks (fuse_common.c). */
enum cfs_caller req_caller(fuse_req_t req);

/* What every inode shows: its number, owner root:<read-only group>, its times. */
void cfs_fuse_common_attr(struct cfs_daemon *d, struct stat *st, uint64_t ino,
			  const struct cfs_times *times);

/* Attributes of any inode (tree or virtual; fuse_stat.c). Returns 0 or -ENOENT. */
int cfs_fuse_stat(struct cfs_daemon *d, uint64_t ino, struct stat *st);

/* The attributes a request is told (fuse_attr.c). */
struct cfs_attr {
	struct stat st;
	double timeout; /* how long the kernel may keep them */
	bool gone; /* removed while open here: known from its open files only */
};

/*
 * The attributes of inode ino for request req, made through handle h (may
 * be NULL): the committed ones, or the size a writer sees. 0 or -ENOENT.
 */
int cfs_fuse_attr(fuse_req_t req, uint64_t ino, struct cfs_handle *h, struct cfs_attr *a);

/* Answer req with those attributes, or with `error` (negative) if there is one. */
void cfs_fuse_reply_attr(fuse_req_t req, uint64_t ino, struct cfs_handle *h, int error);

/* Fill an entry reply for an inode; 0 or -ENOENT. */
int cfs_fuse_entry(struct cfs_daemon *d, uint64_t ino, struct fuse_entry_param *e);

/* The tree entry an inode stands for: a new file's own once it is created, or its directory. */
struct cfs_entry *cfs_fuse_entry_of(struct cfs_daemon *d, uint64_t ino);
/*
 * The file at the name that inode ino lost at most within_ns ago
 * (fuse_departed.h), or NULL: nothing there, or a directory.
 */
struct cfs_entry *cfs_fuse_departed_successor(struct cfs_daemon *d, uint64_t ino,
					      uint64_t within_ns);

/* Is this tree entry private (priv/...)? Virtual inodes are not. */
bool cfs_fuse_private(struct cfs_daemon *d, uint64_t ino);

/* File I/O handlers (fuse_io.c). */
void cfs_fuse_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void cfs_fuse_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     struct fuse_file_info *fi);
void cfs_fuse_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi);
void cfs_fuse_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi);
void cfs_fuse_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void cfs_fuse_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void cfs_fuse_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);

/*
 * A file handle's commits may have ended: free it if the kernel released it
 * (fuse_newfile.c: the end of a handle ends the new file it created too).
 */
void cfs_fuse_handle_idle(struct cfs_fuse *f, struct cfs_handle *h);

/* Free a file handle (it may be NULL), and count its inode's open files down. */
void cfs_fuse_handle_free(struct cfs_fuse *f, struct cfs_handle *h);

/* ftruncate through an open handle (fuse_io.c); replies itself. */
void cfs_fuse_truncate_handle(fuse_req_t req, fuse_ino_t ino, struct cfs_handle *h, uint64_t size);
