/* SPDX-License-Identifier: MIT */
/*
 * The op journal (config.db.journal): operations applied since the last
 * flush of the tree into the database, as checksummed records of their
 * encoding. A batch of operations is made durable against a crash of the
 * process by one write() before their replies are sent; the database
 * absorbs them later in one transaction, after which the journal is
 * truncated. At start, records newer than the database are applied again.
 *
 * Layout (little-endian):
 *   header  64 bytes: "DRVJRNL\0", u32 format, u32 crc, u64 db_id,
 *           u64 base_version, 32 reserved bytes
 *   record  u32 magic "JREC", u32 length, u64 version, u32 crc, u32 flags,
 *           then `length` bytes: one encoded operation (op.h)
 * The crc of a record covers its first 16 bytes and the payload. Replay
 * stops at the first record that is torn, fails its crc or does not
 * continue the version sequence: what follows it was never acknowledged.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/buf.h"

#define CFS_JOURNAL_HEADER_SIZE 64
#define CFS_JOURNAL_RECORD_HEADER_SIZE 24
#define CFS_JOURNAL_MAX_RECORD (64u << 20)

struct cfs_journal;

/* Open or create the journal file. Does not read it. Returns 0 or -errno. */
int cfs_journal_open(const char *path, struct cfs_journal **out);
void cfs_journal_close(struct cfs_journal *j);

struct cfs_journal_replay {
	uint64_t records; /* records applied */
	uint64_t skipped; /* records already in the database */
	uint64_t last; /* version of the last valid record (0: none) */
	size_t torn_bytes; /* bytes after the last valid record */
	char problem[256]; /* why the journal was not usable, if it was not */
};

/*
 * Call apply for every record newer than db_version, in order. Returns 0,
 * -EUCLEAN when the journal does not belong to this database or does not
 * fit it (problem says why; nothing was applied), or the first error apply
 * returned.
 */
int cfs_journal_replay(struct cfs_journal *j, uint64_t db_id, uint64_t db_version,
		       int (*apply)(void *ctx, const void *op, size_t len, uint64_t version,
				    uint32_t flags),
		       void *ctx, struct cfs_journal_replay *info);

/* Record flags (the u32 after the crc). */
#define CFS_JOURNAL_AUTHORITATIVE 1u /* the op was applied under real quorum */

/* Append one framed record to a batch buffer. Returns 0 or -ENOMEM. */
int cfs_journal_frame(struct buf *batch, uint64_t version, uint32_t flags, const void *op,
		      size_t len);

/*
 * Make sure `bytes` more can be written without running out of disk space
 * (preallocates ahead). Returns 0 or -ENOSPC / -EIO.
 */
int cfs_journal_reserve(struct cfs_journal *j, size_t bytes);

/* Write framed records at the end. On error the journal is cut back to where it was. */
int cfs_journal_write(struct cfs_journal *j, const void *records, size_t len);

/* Start a new generation after the database absorbed everything up to base_version. */
int cfs_journal_reset(struct cfs_journal *j, uint64_t db_id, uint64_t base_version);

/* fdatasync: make the written records survive a power cut. */
int cfs_journal_sync(struct cfs_journal *j);

/* Has the journal a valid header (records can be appended)? */
bool cfs_journal_ready(const struct cfs_journal *j);

/* Bytes of records in the current generation. */
size_t cfs_journal_size(const struct cfs_journal *j);

/* Rename the journal file aside (a damaged or foreign one). */
int cfs_journal_move_aside(struct cfs_journal *j);
