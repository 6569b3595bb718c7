/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers for the unit tests of persistence: a database and journal
 * in a fresh temporary folder, opened with the default settings, and SQL run
 * on the database file behind persist's back (to damage or age it).
 */
#pragma once

#include <sqlite3.h>
#include <stdio.h>

#include "helpers.h"
#include "tmpdir.h"

#include "droverfs/core/persist.h"

struct db_dir {
	char dir[64];
	char db[128];
	char journal[160];
};

/* cmocka setup: a temporary folder naming config.db and its journal. */
static inline int db_dir_setup(void **ctx)
{
	struct db_dir *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/drover-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/config.db", f->dir);
	snprintf(f->journal, sizeof(f->journal), "%s/config.db.journal", f->dir);
	*ctx = f;
	return 0;
}

static inline int db_dir_teardown(void **ctx)
{
	struct db_dir *f = *ctx;

	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

static inline struct cfs_persist *db_open(struct db_dir *f)
{
	struct cfs_persist_config cfg;
	struct cfs_persist *p = NULL;

	cfs_persist_config_default(&cfg, f->db);
	assert_int_equal(cfs_persist_open(&cfg, T0_NS, &p), 0);
	return p;
}

static inline void sql(const char *db, const char *statement)
{
	sqlite3 *h;
	char *err = NULL;

	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	if (sqlite3_exec(h, statement, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", statement, err);
	sqlite3_close(h);
}

static inline int64_t sql_int(const char *db, const char *query)
{
	sqlite3 *h;
	sqlite3_stmt *q;
	int64_t v;

	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, query, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(h);
	return v;
}
