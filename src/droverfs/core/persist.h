/* SPDX-License-Identifier: MIT */
/*
 * Persistence of the droverfs state: the state machine in RAM, the op
 * journal in front of the database, and the database itself.
 *
 * Operations are applied in batches:
 *
 *	cfs_persist_apply(p, op1, &res1);   // in RAM, result decided
 *	cfs_persist_apply(p, op2, &res2);
 *	r = cfs_persist_commit(p);          // one journal write for the batch
 *	// only now reply to the writers: with r if it failed, else res1/res2
 *
 * If the commit fails, the state is reloaded from disk (as it was before
 * the batch) and every op of the batch failed with the commit's error.
 * Operations carrying much data skip the journal and are written into the
 * database directly, which writes them once instead of twice.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/buf.h"
#include "state.h"

struct cfs_persist_config {
	const char *db_path;
	struct cfs_limits limits;
	size_t flush_bytes; /* fold the journal into the database at this size */
	uint64_t flush_delay_ns; /* ... or this long after its first record */
	size_t direct_threshold; /* ops with this much data go to the database directly */
	uint64_t tombstone_limit;
};

void cfs_persist_config_default(struct cfs_persist_config *cfg, const char *db_path);

struct cfs_persist_stats {
	uint64_t batches;
	uint64_t ops;
	uint64_t journal_writes;
	uint64_t journal_bytes;
	uint64_t direct_writes;
	uint64_t flushes;
	uint64_t flush_failures;
	uint64_t commit_failures;
	uint64_t reloads;
	uint64_t last_flush_ns;
	uint64_t replayed; /* records applied from the journal at start */
};

struct cfs_persist {
	struct cfs_state state;
	struct cfs_store *store;
	struct cfs_journal *journal;
	struct cfs_persist_config cfg;
	char *db_path;
	char *journal_path;
	char *recovered_from; /* a damaged database was moved here at open */

	struct buf batch; /* framed journal records of the open batch */
	struct buf scratch; /* one encoded op */
	size_t batch_ops;
	bool batch_direct; /* the batch goes to the database directly */
	uint64_t first_unflushed_ns;
	uint64_t flush_retry_ns; /* after a failed flush: not before this */
	uint64_t flush_backoff_ns; /* doubles with each failure, up to 30 s */

	struct cfs_persist_stats stats;
};

/*
 * Open the database (creating it if missing) and the journal, replay the
 * journal. A damaged database is moved aside (logged, named in
 * recovered_from) and a new empty one is used. Returns 0 or -errno for
 * what cannot be handled (I/O, permissions, a database from a newer
 * version: -EPROTONOSUPPORT).
 */
int cfs_persist_open(const struct cfs_persist_config *cfg, int64_t now_ns,
		     struct cfs_persist **out);

/*
 * Flush everything into the database, checkpoint it and close. Returns 0,
 * or the error of the final flush: the last changes are then only in the
 * journal (nothing is lost; the next start applies them).
 */
int cfs_persist_close(struct cfs_persist *p);

/* Apply one op within the open batch. Returns the op's result (0 or -errno). */
int cfs_persist_apply(struct cfs_persist *p, const struct cfs_op *op, struct cfs_result *res);

/* Make the batch durable. 0, or the error every op of the batch failed with. */
int cfs_persist_commit(struct cfs_persist *p);

static inline bool cfs_persist_batch_open(const struct cfs_persist *p)
{
	return p->batch_ops > 0;
}

/* When the journal should next be folded into the database (0: nothing to do). */
uint64_t cfs_persist_flush_deadline(const struct cfs_persist *p);

/* Fold the journal into the database now (outside a batch). */
int cfs_persist_flush(struct cfs_persist *p);

/* Drop the RAM state (and an open batch) and load it again from disk. */
int cfs_persist_reload(struct cfs_persist *p);

/* Flush and checkpoint the database (for backups and measurements). */
int cfs_persist_flush_all(struct cfs_persist *p);

/* Make what was committed survive a power cut (fsync). */
int cfs_persist_sync(struct cfs_persist *p);

size_t cfs_persist_journal_size(const struct cfs_persist *p);
