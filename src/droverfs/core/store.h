/* SPDX-License-Identifier: MIT */
/*
 * The SQLite database of droverfs (config.db, WAL mode).
 *
 * The database holds the tree as of the last flush; ops since then are in
 * the journal (journal.h). A flush writes every entry changed since the
 * previous flush in one transaction, so the database moves from one
 * consistent version of the tree to a later one and never holds half an
 * operation. Removed entries stay as tombstones (type 0) with the version
 * of their removal, for incremental state transfer between nodes.
 */
#pragma once

#include <stdint.h>

#include "state.h"

struct cfs_store;

/* Why a load failed, for the log and the operator. */
struct cfs_store_problem {
	char text[512];
};

struct cfs_store_info {
	uint64_t db_id; /* random identity of this database file */
	uint64_t version; /* tree version stored */
	uint64_t tombstones; /* tombstones kept */
	uint64_t tombstone_floor; /* removals at or below this version were pruned */
	unsigned vmid_duplicates; /* VMIDs configured twice (kept, reported) */
	uint64_t flushes; /* successful flushes since open */
	uint64_t last_flush_ns; /* duration of the last flush */
};

/*
 * Open (or create) the database at path and load it into st, which must be
 * initialised. Returns:
 *   0          loaded (or created empty: then the state is the fresh root);
 *   -EUCLEAN   the database is damaged (corrupt file, broken schema or a
 *              tree that fails its checks): problem says what; nothing was
 *              changed on disk;
 *   -EPROTONOSUPPORT  written by a newer schema version;
 *   other negative errno: could not open or read (permissions, I/O).
 */
int cfs_store_open(const char *path, struct cfs_state *st, struct cfs_store **out,
		   struct cfs_store_problem *problem);
void cfs_store_close(struct cfs_store *s);

/*
 * Load the tree again into st (re-initialised by the caller), after a
 * failed write left RAM ahead of the disk. Same returns as open.
 */
int cfs_store_reload(struct cfs_store *s, struct cfs_state *st, struct cfs_store_problem *problem);

/*
 * Write every dirty entry and every removal of st in one transaction and
 * clear them in st. Returns 0, -ENOSPC (disk full), -EIO, or -ENOMEM; on
 * error nothing was written and st is unchanged.
 */
int cfs_store_flush(struct cfs_store *s, struct cfs_state *st);

/*
 * Record that the database was closed cleanly (after a final flush); the
 * next open skips the full structural check. Returns 0 or -errno.
 */
int cfs_store_mark_clean(struct cfs_store *s);

/*
 * The tombstones newer than `since` in the database (a new array the
 * caller frees). Returns 0 or -errno.
 */
int cfs_store_tombstones(struct cfs_store *s, uint64_t since, struct cfs_removal **out,
			 size_t *count);

/*
 * After a full state transfer this node knows no removals before
 * `version`: it must not serve incremental updates from before it.
 */
int cfs_store_set_tombstone_floor(struct cfs_store *s, uint64_t version);

/* A consistent copy of the database at `dest` (VACUUM INTO). Returns 0 or -errno. */
int cfs_store_backup(struct cfs_store *s, const char *dest);

/* Copy the WAL into the database file and truncate the WAL. */
int cfs_store_checkpoint(struct cfs_store *s);

const struct cfs_store_info *cfs_store_info(const struct cfs_store *s);

/* Keep at most this many tombstones (default 100000); older ones are pruned at flush. */
void cfs_store_set_tombstone_limit(struct cfs_store *s, uint64_t limit);

/*
 * Move a damaged database (with its -wal, -shm and journal) aside to
 * "<path>.damaged-<timestamp>". Returns 0 or -errno; *aside gets the new
 * name of the database file (the caller frees it).
 */
int cfs_store_move_aside(const char *path, char **aside);
