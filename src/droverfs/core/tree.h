/* SPDX-License-Identifier: MIT */
/*
 * The in-RAM tree of droverfs: entries, their indexes (by inode, by parent
 * and name), the global counters and an order-independent digest.
 *
 * This file has no policy: it does not know about limits, guests or locks
 * (state.c decides those). Every mutation goes through the primitives
 * below, which keep the indexes, counters and digest right.
 *
 * Inode numbers are never reused: a new entry's inode is the global version
 * of the change that created it, so inodes are identical on every node.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "blob.h"
#include "basic/hmap.h"

#define CFS_ROOT_INODE 1
#define CFS_NAME_MAX 255

/* The values are stored in the database's `type` column. */
enum cfs_type {
	CFS_DIR = 1,
	CFS_FILE = 2,
};

enum cfs_entry_flags {
	CFS_ENTRY_DIRTY = 1 << 0, /* changed since the last flush to the database */
	CFS_ENTRY_MOVED = 1 << 1, /* new, or parent/name changed since the last flush */
	CFS_ENTRY_CONTENT_DIRTY = 1 << 2, /* content changed since the last flush */
};

/*
 * An entry's times, in nanoseconds since the epoch, all from the clocks of
 * the nodes that made the changes (they travel in the ops).
 */
struct cfs_times {
	int64_t mtime; /* content (directories: names) last changed, or set */
	int64_t ctime; /* the entry last changed in any way */
	int64_t atime; /* set at creation and by utimensat(); reads do not change it */
};

struct cfs_entry {
	struct hmap_node by_inode;
	struct hmap_node by_name;
	struct cfs_entry *parent; /* NULL for the root and for unlinked entries */
	struct cfs_entry *children; /* directories: first child */
	struct cfs_entry *prev, *next; /* siblings */
	struct cfs_entry *dirty_prev, *dirty_next; /* list of entries to flush */
	uint64_t inode;
	uint64_t version; /* global version of the entry's last change */
	uint64_t content_version; /* global version of the last change of the content */
	uint64_t content_hash; /* cfs_blob_hash(data): content is part of the digest */
	struct cfs_times times;
	uint32_t writer; /* node id of the last writer (0: local mode) */
	uint32_t nchildren;
	uint32_t nsubdirs; /* directories among the children (link count - 2) */
	uint8_t type;
	uint8_t flags;
	char *name;
	struct cfs_blob *data; /* files: content, NULL when empty */
	/*
	 * For the FUSE layer: the content_version whose pages the kernel may
	 * cache. Not part of the state (not persisted, not in the digest).
	 */
	uint64_t kernel_cached;
};

/* Order-independent digest: equal trees have equal digests, whatever their history. */
struct cfs_digest {
	uint64_t sum;
	uint64_t xor ;
};

struct cfs_tree {
	struct cfs_entry *root;
	struct hmap by_inode;
	struct hmap by_name;
	uint64_t version; /* global version: of the last change */
	uint64_t nentries; /* including the root */
	uint64_t nbytes; /* sum of file sizes */
	struct cfs_digest digest;
	struct cfs_entry *dirty; /* entries changed since the last flush */
};

/*
 * Empty tree with a root directory at version `version`, all its times
 * `root_time_ns`. Returns 0 or -ENOMEM.
 */
int cfs_tree_init(struct cfs_tree *t, uint64_t version, int64_t root_time_ns);
void cfs_tree_destroy(struct cfs_tree *t);

struct cfs_entry *cfs_tree_lookup(const struct cfs_tree *t, uint64_t inode);
struct cfs_entry *cfs_tree_child(const struct cfs_tree *t, const struct cfs_entry *dir,
				 const char *name);

/* Resolve a relative path ("a/b/c"; "" is the root). NULL if missing. */
struct cfs_entry *cfs_tree_resolve(const struct cfs_tree *t, const char *path);

/*
 * A new, unlinked entry; the caller sets its fields and links it, or frees
 * it with cfs_entry_free(). NULL on ENOMEM.
 */
struct cfs_entry *cfs_entry_new(uint64_t inode, enum cfs_type type, const char *name);
void cfs_entry_free(struct cfs_entry *e);

/* Link an entry under dir. The name must be free. Returns 0 or -ENOMEM. */
int cfs_tree_link(struct cfs_tree *t, struct cfs_entry *dir, struct cfs_entry *e);

/* Unlink an entry (a file or an empty directory). The entry is not freed. */
void cfs_tree_unlink(struct cfs_tree *t, struct cfs_entry *e);

/* Move an entry to dir/name. The target name must be free. Returns 0 or -ENOMEM. */
int cfs_tree_move(struct cfs_tree *t, struct cfs_entry *e, struct cfs_entry *dir, const char *name);

/*
 * Replace the content as change `version` (takes over the caller's
 * reference to data).
 */
void cfs_tree_set_content(struct cfs_tree *t, struct cfs_entry *e, struct cfs_blob *data,
			  uint64_t version);

/* Stamp an entry as changed by the change `version` (also sets tree->version). */
void cfs_tree_stamp(struct cfs_tree *t, struct cfs_entry *e, uint64_t version, uint32_t writer,
		    const struct cfs_times *times);

/* Digest contribution of one entry; exposed for the tests. */
uint64_t cfs_entry_digest(const struct cfs_entry *e);

/* Path relative to the root, into buf; returns the length or -ENAMETOOLONG. */
int cfs_entry_path(const struct cfs_entry *e, char *buf, size_t len);

/* Depth below the root (root = 0). */
unsigned cfs_entry_depth(const struct cfs_entry *e);

/* Is `e` equal to `ancestor` or below it? */
bool cfs_entry_within(const struct cfs_entry *e, const struct cfs_entry *ancestor);

/* Dirty list: entries the next flush writes to the database. */
void cfs_tree_mark_dirty(struct cfs_tree *t, struct cfs_entry *e);
void cfs_tree_clear_dirty(struct cfs_tree *t);

/* Iterate over all entries (any order); the tree must not change meanwhile. */
struct cfs_tree_iter {
	struct hmap_iter it;
};
struct cfs_entry *cfs_tree_iter_first(struct cfs_tree_iter *it, const struct cfs_tree *t);
struct cfs_entry *cfs_tree_iter_next(struct cfs_tree_iter *it);

#define CFS_PATH_MAX 4096
