/* SPDX-License-Identifier: MIT */
/*
 * The droverfs state machine: the tree plus what is derived from it (the
 * guest registry), the limits, and the one function that applies an
 * operation. cfs_state_apply() decides every outcome (EEXIST, ENOTEMPTY,
 * EFBIG, ...) from the operation and the current state only, so every node
 * that applies the same operations in the same order ends in the same state
 * with the same results. It never reads a clock: times come in the op.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "op.h"
#include "tree.h"
#include "vmlist.h"

#define CFS_DEFAULT_MAX_FILE_SIZE (4ull << 20)
#define CFS_DEFAULT_MAX_TOTAL_BYTES (512ull << 20)
#define CFS_DEFAULT_MAX_ENTRIES 1000000ull

struct cfs_limits {
	uint64_t max_file_size; /* bytes per file (EFBIG) */
	uint64_t max_total_bytes; /* sum of all file sizes (ENOSPC) */
	uint64_t max_entries; /* files and directories, root included (ENOSPC) */
};

void cfs_limits_default(struct cfs_limits *l);

/* The kind of a change made by a state transfer rather than an operation. */
#define CFS_CHANGE_SYNC 100

/* What one applied operation changed; observers (watch, locks, caches) use it. */
struct cfs_change {
	uint8_t kind; /* enum cfs_op_kind */
	uint8_t type; /* type of the entry */
	bool content; /* the file content changed */
	uint32_t writer;
	uint64_t version; /* the global version this change produced */
	uint64_t inode; /* the entry created, changed, moved or removed */
	uint64_t parent; /* its directory (after the change) */
	uint64_t old_parent; /* rename: directory before */
	uint64_t replaced; /* rename: inode of the entry the move replaced, or 0 */
	char *path; /* path after the change (removed: where it was) */
	char *old_path; /* rename: path before */
};

/* An entry removed since the last flush: the database needs a tombstone. */
struct cfs_removal {
	uint64_t inode;
	uint64_t version;
};

struct cfs_state {
	struct cfs_tree tree;
	struct cfs_vmlist vmlist;
	struct cfs_limits limits;

	bool record_changes; /* collect struct cfs_change records in `changes` */
	struct cfs_change *changes;
	size_t nchanges, changes_cap;

	struct cfs_removal *removed; /* since the last flush */
	size_t nremoved, removed_cap;

	/*
	 * Quorate history. Ops applied while `authoritative` (in cluster mode,
	 * under a real majority) move auth_version to their version; the
	 * history they form is one line, whatever partitions came and went.
	 * A node whose changes lie beyond its auth_version made them alone
	 * (local mode, forced quorum): a sync never lets those win over newer
	 * quorate history. lineage names that history (0: none yet).
	 */
	bool authoritative;
	uint64_t auth_version;
	uint64_t lineage;
};

struct cfs_result {
	uint64_t inode; /* the entry the op created or changed */
	uint64_t version; /* the global version after the op */
};

/*
 * A state holding only the root directory, at version 1, with times now_ns.
 * Returns 0 or -ENOMEM.
 */
int cfs_state_init(struct cfs_state *st, const struct cfs_limits *limits, int64_t now_ns);
void cfs_state_destroy(struct cfs_state *st);

/*
 * Apply one operation. Returns 0 or a negative errno. On success the
 * version grew by exactly one, except for a rename of an entry onto itself,
 * which changes nothing (POSIX). On error nothing changed, except after
 * -ENOMEM, which leaves the state unusable: the caller must reload it.
 */
int cfs_state_apply(struct cfs_state *st, const struct cfs_op *op, struct cfs_result *res);

/*
 * The error a write making file `inode` `new_size` bytes long would get
 * (0, -EFBIG, -ENOSPC, -ENOENT, -EISDIR), for failing write() early.
 * Inode 0: a new file that is not in the tree yet.
 */
int cfs_state_check_size(const struct cfs_state *st, uint64_t inode, uint64_t new_size);

/*
 * Would a CREATE of file `name` in directory `parent` with `size` bytes
 * succeed now? 0 or the error it would give (-ENOENT, -ENOTDIR, -EINVAL,
 * -ENAMETOOLONG, -EEXIST, -ENOSPC, -EFBIG). Changes nothing.
 */
int cfs_state_check_new_file(const struct cfs_state *st, uint64_t parent, const char *name,
			     uint64_t size);

/*
 * Start a change record for entry e (when recording); NULL otherwise. It
 * takes the kind and writer rather than an op, so that changes that are
 * not ops (a state transfer) are recorded the same way.
 */
struct cfs_change *cfs_state_record(struct cfs_state *st, uint8_t kind, uint32_t writer,
				    const struct cfs_entry *e, uint64_t version);

/* Note the removal of an entry for the next flush. Returns 0 or -ENOMEM. */
int cfs_state_note_removal(struct cfs_state *st, uint64_t inode, uint64_t version);

/* Drop the collected change records. */
void cfs_state_clear_changes(struct cfs_state *st);

/* Forget the removals (after they were written to the database). */
void cfs_state_clear_removed(struct cfs_state *st);
