/* SPDX-License-Identifier: MIT */
/*
 * Files this node is creating. A new file enters the tree by ONE operation
 * (CREATE with data) when its creator first closes or fsyncs it, content
 * included. Until then the kernel knows it by a provisional inode number
 * and this node's lookups, readdir and stat find it by name; other nodes
 * see nothing, then the whole file.
 *
 * Why: a create answered by the cluster and then a write answered again
 * cost two trips through corosync per new file, and other nodes saw it
 * empty in between.
 *
 * What it changes for programs: an error that only the cluster can find
 * (another node created the same name meanwhile and O_EXCL was given, the
 * quorum was lost in between, another node filled the size limit) comes
 * from close() or fsync(), not from open(). Everything this node can check
 * (quorum, names, VMIDs, limits) is still checked at open().
 *
 * Only fuse_fs.c and fuse_io.c use this.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "droverfs/core/handles.h"
#include "droverfs/core/op.h"
#include "droverfs/core/tree.h"

/* Provisional inode numbers: above every tree inode, below the virtual ones. */
#define CFS_NEW_FILE_INO_BASE (1ull << 61)

struct cfs_fuse;
struct cfs_new_file_wait;

enum cfs_new_file_state {
	CFS_NEW_UNSENT, /* only this node knows it */
	CFS_NEW_SENT, /* the create is on its way */
	CFS_NEW_DONE, /* applied (real_ino) or refused (error) */
};

struct cfs_new_file {
	struct cfs_new_file *next; /* in the FUSE session's list */
	struct cfs_fuse *f;
	struct cfs_handle *h; /* the creator's handle; NULL once it is gone */
	uint64_t ino; /* provisional, what the kernel calls it */
	uint64_t parent;
	char name[CFS_NAME_MAX + 1];
	bool excl;
	int64_t time_ns; /* when it was created: its create's time */
	uint32_t time_flags; /* CFS_OP_SET_MTIME/ATIME: times set before its create was sent */
	int64_t mtime_ns, atime_ns;
	enum cfs_new_file_state state;
	int error; /* CFS_NEW_DONE: the create's result */
	uint64_t real_ino; /* CFS_NEW_DONE without error */
	struct cfs_new_file_wait *waiters;
};

static inline bool cfs_new_file_ino(uint64_t ino)
{
	return ino >= CFS_NEW_FILE_INO_BASE && ino < 2 * CFS_NEW_FILE_INO_BASE;
}

/*
 * Register handle h as the creator of `name` in directory `parent` (the
 * handle's writes become its content). Returns the new file or NULL
 * (ENOMEM). The session owns it; h->newfile points to it.
 */
struct cfs_new_file *cfs_new_file_start(struct cfs_fuse *f, struct cfs_handle *h, uint64_t parent,
					const char *name, bool excl, int64_t time_ns);

struct cfs_new_file *cfs_new_file_by_ino(struct cfs_fuse *f, uint64_t ino);

/* The new file `name` in `parent` that is not in the tree yet (not DONE), or NULL. */
struct cfs_new_file *cfs_new_file_by_name(struct cfs_fuse *f, uint64_t parent, const char *name);

/* Is anything being created in directory `parent`? */
bool cfs_new_file_in(struct cfs_fuse *f, uint64_t parent);

/* Attributes of a new file that is not in the tree yet: empty, as nothing is committed. */
void cfs_new_file_stat(struct cfs_new_file *nf, struct stat *st);

/* utimensat() before the create was sent: t's times (flags CFS_OP_SET_*) go with the create. */
void cfs_new_file_set_times(struct cfs_new_file *nf, const struct cfs_op *t);

/*
 * Send the create now, with what was written so far, unless it was sent.
 * `done` (may be NULL) runs once the result is known: at once if it is.
 */
void cfs_new_file_send(struct cfs_new_file *nf, void (*done)(void *ctx, int result), void *ctx);

/* Send the creates of whatever is being created in `parent` under `name` (NULL: any name). */
void cfs_new_file_send_named(struct cfs_fuse *f, uint64_t parent, const char *name);

/*
 * Never send its create: its creator's write failed (`error`), or it was
 * removed (-ENOENT: its creator's handle then goes on as an orphan,
 * handles.h). Only for a file not sent yet; it is then no longer found by
 * name. Nothing of it ever reaches the tree.
 */
void cfs_new_file_abandon(struct cfs_new_file *nf, int error);

/* The creator's handle is gone; the new file goes when nothing waits for it. */
void cfs_new_file_forget_handle(struct cfs_new_file *nf);

/* At unmount: drop every new file (their handles are gone with the session). */
void cfs_new_files_free(struct cfs_fuse *f);
