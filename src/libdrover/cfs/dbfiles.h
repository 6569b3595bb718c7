/* SPDX-License-Identifier: MIT */
/*
 * The files of droverfs's database, which only make sense together: the
 * SQLite file, its WAL and shared memory, and droverfs's op journal (a
 * journal left beside another database would be refused as damaged).
 * Everything that moves a database moves the whole set.
 */
#pragma once

#include <stddef.h>

#include "libdrover/error.h"

/* "" (the database itself), "-wal", "-shm", ".journal". */
extern const char *const db_file_suffixes[];
extern const size_t db_file_suffix_count;

/*
 * Rename every file of the set at `from` (from + suffix) to to + suffix.
 * Files that do not exist are skipped. Stops at the first other failure:
 * -errno, err naming both paths.
 */
int db_files_move(const char *from, const char *to, struct drover_err *err);
