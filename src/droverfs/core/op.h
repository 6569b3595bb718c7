/* SPDX-License-Identifier: MIT */
/*
 * Operations: every change of the droverfs tree is one operation that
 * carries all it needs to be applied deterministically (who wrote it, when,
 * which entries). The same encoded bytes go to the journal and, in cluster
 * mode, to the other nodes.
 *
 * Entries are named by inode (and by parent inode + name for directory
 * operations), never by path: a path can change meaning under a concurrent
 * rename, an inode cannot, and inodes are identical on every node.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "basic/buf.h"
#include "tree.h"

enum cfs_op_kind {
	CFS_OP_CREATE = 1, /* file `name` in directory `ino` */
	CFS_OP_MKDIR = 2, /* directory `name` in directory `ino` */
	CFS_OP_WRITE = 3, /* file `ino`: `data` at offset `arg` (see flags) */
	CFS_OP_TRUNCATE = 4, /* file `ino` to `arg` bytes */
	CFS_OP_UNLINK = 5, /* file `name` in directory `ino` */
	CFS_OP_RMDIR = 6, /* empty directory `name` in directory `ino` */
	CFS_OP_RENAME = 7, /* `ino`/`name` to `ino2`/`name2` */
	CFS_OP_MTIME = 8, /* entry `ino`: set its times (see CFS_OP_SET_MTIME); lock refresh */
	CFS_OP_UNLOCK = 9, /* lock directory `ino`, removed if still at version `arg` */
};
#define CFS_OP_KIND_MAX CFS_OP_UNLOCK

enum cfs_op_flags {
	CFS_WRITE_REPLACE = 1 << 0, /* WRITE: the data is the whole new content */
	CFS_WRITE_APPEND = 1 << 1, /* WRITE: append at the current end */
	CFS_RENAME_NOREPLACE = 1 << 2, /* RENAME: fail with EEXIST if the target exists */
	/*
	 * CREATE: `data` is the new file's content (one operation for create,
	 * write and close). If the name exists, its file gets the data as new
	 * content (as with O_TRUNC), or appended with CFS_CREATE_APPEND (as with
	 * O_APPEND), unless CFS_CREATE_EXCL asks for EEXIST.
	 */
	CFS_CREATE_DATA = 1 << 3,
	CFS_CREATE_EXCL = 1 << 4,
	CFS_CREATE_APPEND = 1 << 5,
	/*
	 * MTIME, CREATE: the entry's mtime (atime) becomes `mtime_ns`
	 * (`atime_ns`), a time given by utimensat() (for CREATE: before the new
	 * file's create was sent). Without them MTIME leaves that time alone,
	 * and CREATE uses `time_ns`.
	 */
	CFS_OP_SET_MTIME = 1 << 6,
	CFS_OP_SET_ATIME = 1 << 7,
};
#define CFS_OP_FLAGS_ALL                                                                 \
	(CFS_WRITE_REPLACE | CFS_WRITE_APPEND | CFS_RENAME_NOREPLACE | CFS_CREATE_DATA | \
	 CFS_CREATE_EXCL | CFS_CREATE_APPEND | CFS_OP_SET_MTIME | CFS_OP_SET_ATIME)

/*
 * Version of the encoding below; a decoder refuses anything newer and reads
 * older ones (journals written before an upgrade). 2: CREATE with data.
 * 3: times in nanoseconds; mtime_ns/atime_ns follow `arg` when their flag
 * is set (version 2 carried an MTIME's mtime, in seconds, in `arg`).
 */
#define CFS_OP_CODEC_VERSION 3

struct cfs_op {
	uint8_t kind;
	uint32_t flags;
	uint32_t writer; /* node id of the originator, 0 in local mode */
	/*
	 * The originator's wall clock (ns since the epoch) when it made the op:
	 * the ctime of the entry it changes, the mtime and ctime of the
	 * directories whose names it changes, and the mtime of new content.
	 * Every node applies the op with this time, so times are identical on
	 * every node.
	 */
	int64_t time_ns;
	int64_t mtime_ns; /* with CFS_OP_SET_MTIME */
	int64_t atime_ns; /* with CFS_OP_SET_ATIME */
	uint64_t ino;
	uint64_t ino2;
	uint64_t arg;
	char name[CFS_NAME_MAX + 1];
	char name2[CFS_NAME_MAX + 1];
	const void *data; /* borrowed: the caller keeps it alive while the op is used */
	size_t size;
};

const char *cfs_op_kind_name(uint8_t kind);

/*
 * Fill a name field; returns 0, -ENAMETOOLONG or -EINVAL (empty name or
 * one containing '/').
 */
int cfs_op_set_name(char dst[CFS_NAME_MAX + 1], const char *name);

/* Append the encoding of op to out. Returns 0 or -ENOMEM. */
int cfs_op_encode(const struct cfs_op *op, struct buf *out);

/* Size of the encoding, without encoding. */
size_t cfs_op_encoded_size(const struct cfs_op *op);

/*
 * Decode one operation from data. op->data points into `data`. Returns 0,
 * -EBADMSG (malformed) or -EPROTO (encoded by a newer version).
 */
int cfs_op_decode(const void *data, size_t len, struct cfs_op *op);
