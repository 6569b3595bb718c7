/* SPDX-License-Identifier: MIT */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "layout.h"
#include "libdrover/cfs/dbfiles.h"
#include "basic/array.h"
#include "basic/log.h"
#include "basic/util.h"
#include "basic/nstime.h"

/* 2: ctime, atime and the nanoseconds of the three times (see migrate()). */
#define SCHEMA_VERSION 2
#define DEFAULT_TOMBSTONE_LIMIT 100000

/* Times are stored as struct stat has them: seconds, and nanoseconds 0..999999999. */
#define SEC_COLUMN(c) c " INTEGER NOT NULL DEFAULT 0 CHECK (typeof(" c ") = 'integer')"
#define NSEC_COLUMN(c)                                                          \
	c " INTEGER NOT NULL DEFAULT 0 CHECK (typeof(" c ") = 'integer' AND " c \
	  " BETWEEN 0 AND 999999999)"

/*
 * The schema keeps itself consistent: every column is type-checked, names
 * are unique per directory, and triggers refuse what would break the tree
 * (a child of a non-directory, content on a non-file, removing a directory
 * that still has entries, deleting a live row). The loader checks the rest
 * (reachability from the root, the stored digest).
 */
/* clang-format off */
static const char schema_sql[] =
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY NOT NULL,"
	"  value INTEGER NOT NULL CHECK (typeof(value) = 'integer')"
	") WITHOUT ROWID;"
	"CREATE TABLE entry ("
	"  inode INTEGER PRIMARY KEY NOT NULL CHECK (inode >= 1),"
	"  parent INTEGER CHECK (parent IS NULL OR (typeof(parent) = 'integer' AND parent >= 1)),"
	"  name TEXT NOT NULL CHECK (typeof(name) = 'text' AND length(CAST(name AS BLOB)) <= 255),"
	"  type INTEGER NOT NULL CHECK (type IN (0, 1, 2)),"
	"  version INTEGER NOT NULL CHECK (typeof(version) = 'integer' AND version >= 1),"
	"  writer INTEGER NOT NULL CHECK (typeof(writer) = 'integer' AND writer BETWEEN 0 AND 4294967295),"
	"  mtime INTEGER NOT NULL CHECK (typeof(mtime) = 'integer'),"
	"  " NSEC_COLUMN("mtime_nsec") ","
	"  " SEC_COLUMN("ctime") ","
	"  " NSEC_COLUMN("ctime_nsec") ","
	"  " SEC_COLUMN("atime") ","
	"  " NSEC_COLUMN("atime_nsec") ","
	"  CHECK (type != 0 OR parent IS NULL),"
	"  CHECK (type = 0 OR inode = 1 OR (length(name) >= 1 AND instr(name, '/') = 0"
	"         AND name != '.' AND name != '..')),"
	"  CHECK (inode != 1 OR (type = 1 AND parent IS NULL)),"
	"  UNIQUE (parent, name)"
	");"
	"CREATE TABLE content ("
	"  inode INTEGER PRIMARY KEY NOT NULL,"
	"  data BLOB NOT NULL CHECK (typeof(data) = 'blob' AND length(data) > 0)"
	");"
	"CREATE TRIGGER entry_parent_is_dir_insert BEFORE INSERT ON entry"
	"  WHEN NEW.parent IS NOT NULL AND"
	"       (SELECT type FROM entry WHERE inode = NEW.parent) IS NOT 1"
	"  BEGIN SELECT RAISE(ABORT, 'parent is not a directory'); END;"
	"CREATE TRIGGER entry_parent_is_dir_update BEFORE UPDATE OF parent ON entry"
	"  WHEN NEW.parent IS NOT NULL AND"
	"       (SELECT type FROM entry WHERE inode = NEW.parent) IS NOT 1"
	"  BEGIN SELECT RAISE(ABORT, 'parent is not a directory'); END;"
	"CREATE TRIGGER entry_dir_in_use BEFORE UPDATE OF type ON entry"
	"  WHEN OLD.type = 1 AND NEW.type != 1 AND"
	"       EXISTS (SELECT 1 FROM entry WHERE parent = OLD.inode)"
	"  BEGIN SELECT RAISE(ABORT, 'directory is not empty'); END;"
	"CREATE TRIGGER entry_keep_content_type BEFORE UPDATE OF type ON entry"
	"  WHEN NEW.type != 2 AND EXISTS (SELECT 1 FROM content WHERE inode = OLD.inode)"
	"  BEGIN SELECT RAISE(ABORT, 'only files have content'); END;"
	"CREATE TRIGGER entry_no_live_delete BEFORE DELETE ON entry WHEN OLD.type != 0"
	"  BEGIN SELECT RAISE(ABORT, 'live entries are removed as tombstones'); END;"
	"CREATE TRIGGER content_of_file BEFORE INSERT ON content"
	"  WHEN (SELECT type FROM entry WHERE inode = NEW.inode) IS NOT 2"
	"  BEGIN SELECT RAISE(ABORT, 'only files have content'); END;";
/* clang-format on */

enum stmt_id {
	STMT_META_SET,
	STMT_DETACH,
	STMT_UPSERT,
	STMT_CONTENT_SET,
	STMT_CONTENT_DELETE,
	STMT_TOMBSTONE,
	STMT_COUNT
};

static const char *const stmt_sql[STMT_COUNT] = {
	[STMT_META_SET] = "INSERT INTO meta(key, value) VALUES (?1, ?2)"
			  " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	[STMT_DETACH] = "UPDATE entry SET parent = NULL WHERE inode = ?1",
	[STMT_UPSERT] = "INSERT INTO entry(inode, parent, name, type, version, writer, mtime,"
			" mtime_nsec, ctime, ctime_nsec, atime, atime_nsec)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
			" ON CONFLICT(inode) DO UPDATE SET"
			" parent = excluded.parent, name = excluded.name, type = excluded.type,"
			" version = excluded.version, writer = excluded.writer,"
			" mtime = excluded.mtime, mtime_nsec = excluded.mtime_nsec,"
			" ctime = excluded.ctime, ctime_nsec = excluded.ctime_nsec,"
			" atime = excluded.atime, atime_nsec = excluded.atime_nsec",
	[STMT_CONTENT_SET] = "INSERT OR REPLACE INTO content(inode, data) VALUES (?1, ?2)",
	[STMT_CONTENT_DELETE] = "DELETE FROM content WHERE inode = ?1",
	[STMT_TOMBSTONE] = "INSERT INTO entry(inode, parent, name, type, version, writer, mtime)"
			   " VALUES (?1, NULL, '', 0, ?2, 0, 0) ON CONFLICT(inode) DO UPDATE SET"
			   " parent = NULL, name = '', type = 0, version = excluded.version,"
			   " writer = 0, mtime = 0, mtime_nsec = 0, ctime = 0, ctime_nsec = 0,"
			   " atime = 0, atime_nsec = 0",
};

struct cfs_store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[STMT_COUNT];
	uint64_t tombstone_limit;
	struct cfs_store_info info;
};

static int errno_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_FORMAT:
		return -EUCLEAN;
	default:
		return -EIO;
	}
}

static int problem(struct cfs_store_problem *p, const char *fmt, ...) PRINTF_FMT(2, 3);
static int problem(struct cfs_store_problem *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->text, sizeof(p->text), fmt, ap);
	va_end(ap);
	return -EUCLEAN;
}

static int exec(struct cfs_store *s, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &err);

	if (rc != SQLITE_OK) {
		log_err("database %s: %s: %s", s->path, sql, err ? err : sqlite3_errstr(rc));
		sqlite3_free(err);
	}
	return errno_of(rc);
}

/* SQLite rolls back by itself after some errors (SQLITE_FULL at commit): only roll back what is open. */
static void rollback(struct cfs_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		exec(s, "ROLLBACK");
}

static int meta_set(struct cfs_store *s, const char *key, int64_t value)
{
	sqlite3_stmt *st = s->stmt[STMT_META_SET];
	int rc;

	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, value);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : errno_of(rc);
}

/* Read one meta value; 0 and *found=false when missing. */
static int meta_get(struct cfs_store *s, const char *key, int64_t *value, bool *found)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return errno_of(rc);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	*value = *found ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? 0 : errno_of(rc);
}

static int prepare_all(struct cfs_store *s)
{
	for (int i = 0; i < STMT_COUNT; i++) {
		int rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					    &s->stmt[i], NULL);

		if (rc != SQLITE_OK) {
			log_err("database %s: %s", s->path, sqlite3_errmsg(s->db));
			return errno_of(rc);
		}
	}
	return 0;
}

static bool has_table(struct cfs_store *s, const char *name)
{
	sqlite3_stmt *st;
	bool found = false;

	if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1",
			       -1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/* Bind an entry's times to the UPSERT's parameters 7 to 12. */
static void bind_times(sqlite3_stmt *up, const struct cfs_times *t)
{
	const int64_t ns[3] = { t->mtime, t->ctime, t->atime };

	for (int i = 0; i < 3; i++) {
		struct timespec ts = nstime_to_timespec(ns[i]);

		sqlite3_bind_int64(up, 7 + 2 * i, (int64_t)ts.tv_sec);
		sqlite3_bind_int64(up, 8 + 2 * i, ts.tv_nsec);
	}
}

/* The times in columns `col` to `col` + 5 of a row (mtime, ctime, atime; seconds, nanoseconds). */
static struct cfs_times column_times(sqlite3_stmt *q, int col)
{
	int64_t ns[3];

	for (int i = 0; i < 3; i++) {
		struct timespec ts = {
			.tv_sec = (time_t)sqlite3_column_int64(q, col + 2 * i),
			.tv_nsec = (long)sqlite3_column_int64(q, col + 2 * i + 1),
		};

		ns[i] = nstime_from_timespec(&ts);
	}
	return (struct cfs_times){ .mtime = ns[0], .ctime = ns[1], .atime = ns[2] };
}

static int write_root_and_meta(struct cfs_store *s, const struct cfs_state *st)
{
	const struct cfs_entry *root = st->tree.root;
	sqlite3_stmt *up = s->stmt[STMT_UPSERT];
	uint64_t id;
	int rc, r;

	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = now_monotonic_ns() ^ ((uint64_t)getpid() << 32);
	id &= INT64_MAX;
	sqlite3_bind_int64(up, 1, CFS_ROOT_INODE);
	sqlite3_bind_null(up, 2);
	sqlite3_bind_text(up, 3, "", -1, SQLITE_STATIC);
	sqlite3_bind_int(up, 4, CFS_DIR);
	sqlite3_bind_int64(up, 5, (int64_t)root->version);
	sqlite3_bind_int64(up, 6, root->writer);
	bind_times(up, &root->times);
	rc = sqlite3_step(up);
	sqlite3_reset(up);
	if (rc != SQLITE_DONE)
		return errno_of(rc);
	if ((r = meta_set(s, "schema", SCHEMA_VERSION)) < 0 ||
	    (r = meta_set(s, "db_id", (int64_t)id)) < 0 ||
	    (r = meta_set(s, "version", (int64_t)st->tree.version)) < 0 ||
	    (r = meta_set(s, "tombstone_floor", 0)) < 0 ||
	    (r = meta_set(s, "digest_sum", (int64_t)st->tree.digest.sum)) < 0 ||
	    (r = meta_set(s, "digest_xor", (int64_t)st->tree.digest.xor)) < 0 ||
	    (r = meta_set(s, "auth_version", (int64_t)st->auth_version)) < 0 ||
	    (r = meta_set(s, "lineage", (int64_t)st->lineage)) < 0)
		return r;
	s->info.db_id = id;
	return 0;
}

static int create_schema(struct cfs_store *s, const struct cfs_state *st)
{
	int r = exec(s, "BEGIN IMMEDIATE");

	if (r < 0)
		return r;
	r = exec(s, schema_sql);
	if (r == 0)
		r = prepare_all(s);
	if (r == 0)
		r = write_root_and_meta(s, st);
	if (r == 0)
		r = exec(s, "COMMIT");
	if (r < 0)
		rollback(s);
	return r;
}

/* One loaded row: the entry and the parent it names. */
struct load_row {
	uint64_t parent;
	struct cfs_entry *e;
};

struct loader {
	struct load_row *rows;
	size_t n, cap;
};

static void loader_free(struct loader *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->rows[i].e && !l->rows[i].e->parent)
			cfs_entry_free(l->rows[i].e);
	free(l->rows);
}

static int cmp_parent(const void *a, const void *b)
{
	const struct load_row *ra = a, *rb = b;

	return ra->parent < rb->parent ? -1 : ra->parent > rb->parent;
}

static int check_name(const char *name, size_t len)
{
	if (len == 0 || len > CFS_NAME_MAX || memchr(name, '/', len) || memchr(name, '\0', len) ||
	    streq(name, ".") || streq(name, ".."))
		return -1;
	return 0;
}

/* Columns of the loader's query (load_rows()). */
enum { COL_TIMES = 6, COL_DATA = 12 };

static int read_row(sqlite3_stmt *q, struct load_row *row, const struct cfs_limits *limits,
		    struct cfs_store_problem *p)
{
	uint64_t inode = (uint64_t)sqlite3_column_int64(q, 0);
	const char *name = (const char *)sqlite3_column_text(q, 2);
	size_t len = (size_t)sqlite3_column_bytes(q, 2);
	int type = sqlite3_column_int(q, 3);
	const void *data = sqlite3_column_blob(q, COL_DATA);
	size_t size = (size_t)sqlite3_column_bytes(q, COL_DATA);
	struct cfs_entry *e;

	if (!name || check_name(name, len) < 0)
		return problem(p, "entry %" PRIu64 ": invalid name", inode);
	if (type != CFS_DIR && type != CFS_FILE)
		return problem(p, "entry %" PRIu64 " '%s': invalid type %d", inode, name, type);
	if (type == CFS_DIR && sqlite3_column_type(q, COL_DATA) != SQLITE_NULL)
		return problem(p, "directory %" PRIu64 " '%s' has content", inode, name);
	if (sqlite3_column_type(q, 1) == SQLITE_NULL)
		return problem(p, "entry %" PRIu64 " '%s' has no parent", inode, name);
	if (size > limits->max_file_size)
		log_warn("file %" PRIu64 " '%s' (%zu bytes) is over the file size limit", inode,
			 name, size);
	e = cfs_entry_new(inode, (enum cfs_type)type, name);
	if (!e)
		return -ENOMEM;
	e->version = (uint64_t)sqlite3_column_int64(q, 4);
	e->content_version = e->version;
	e->writer = (uint32_t)sqlite3_column_int64(q, 5);
	e->times = column_times(q, COL_TIMES);
	if (size) {
		e->data = cfs_blob_new(data, size);
		if (!e->data) {
			cfs_entry_free(e);
			return -ENOMEM;
		}
		e->content_hash = cfs_blob_hash(e->data);
	}
	row->e = e;
	row->parent = (uint64_t)sqlite3_column_int64(q, 1);
	return 0;
}

static int load_rows(struct cfs_store *s, struct cfs_state *st, struct loader *l,
		     struct cfs_store_problem *p)
{
	sqlite3_stmt *q;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(
		s->db,
		"SELECT e.inode, e.parent, e.name, e.type, e.version, e.writer,"
		" e.mtime, e.mtime_nsec, e.ctime, e.ctime_nsec, e.atime, e.atime_nsec,"
		" c.data FROM entry e LEFT JOIN content c USING (inode)"
		" WHERE e.type != 0 ORDER BY e.parent",
		-1, &q, NULL);
	if (rc != SQLITE_OK)
		return errno_of(rc) == -EIO ? problem(p, "%s", sqlite3_errmsg(s->db))
					    : errno_of(rc);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		uint64_t inode = (uint64_t)sqlite3_column_int64(q, 0);

		if (inode == CFS_ROOT_INODE) {
			struct cfs_entry *root = st->tree.root;
			struct cfs_times times = column_times(q, COL_TIMES);

			if (sqlite3_column_int(q, 3) != CFS_DIR)
				r = problem(p, "the root is not a directory");
			cfs_tree_stamp(&st->tree, root, (uint64_t)sqlite3_column_int64(q, 4),
				       (uint32_t)sqlite3_column_int64(q, 5), &times);
			if (r < 0)
				break;
			continue;
		}
		if (ARRAY_GROW(l->rows, l->cap, l->n + 1) < 0) {
			r = -ENOMEM;
			break;
		}
		r = read_row(q, &l->rows[l->n], &st->limits, p);
		if (r < 0)
			break;
		l->n++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = errno_of(rc) == -EIO ? problem(p, "%s", sqlite3_errmsg(s->db)) : errno_of(rc);
	sqlite3_finalize(q);
	return r;
}

/* Link the rows breadth-first from the root; anything not reached is an orphan. */
static int link_rows(struct cfs_state *st, struct loader *l, struct cfs_store_problem *p)
{
	struct cfs_entry **queue;
	size_t head = 0, tail = 0;
	int r = 0;

	queue = malloc((l->n + 1) * sizeof(*queue));
	if (!queue)
		return -ENOMEM;
	qsort(l->rows, l->n, sizeof(*l->rows), cmp_parent);
	queue[tail++] = st->tree.root;
	while (head < tail && r == 0) {
		struct cfs_entry *dir = queue[head++];
		struct load_row key = { .parent = dir->inode };
		struct load_row *first = bsearch(&key, l->rows, l->n, sizeof(*l->rows), cmp_parent);

		if (!first)
			continue;
		while (first > l->rows && first[-1].parent == dir->inode)
			first--;
		for (struct load_row *row = first;
		     row < l->rows + l->n && row->parent == dir->inode && r == 0; row++) {
			if (dir->type != CFS_DIR) {
				r = problem(p,
					    "entry %" PRIu64 " '%s': parent %" PRIu64
					    " is not a directory",
					    row->e->inode, row->e->name, dir->inode);
				break;
			}
			if (cfs_tree_child(&st->tree, dir, row->e->name)) {
				r = problem(p, "entry %" PRIu64 ": duplicate name '%s'",
					    row->e->inode, row->e->name);
				break;
			}
			r = cfs_tree_link(&st->tree, dir, row->e);
			if (r < 0)
				break;
			row->e->flags = 0;
			queue[tail++] = row->e;
		}
	}
	free(queue);
	if (r == 0 && tail != l->n + 1) {
		for (size_t i = 0; i < l->n; i++)
			if (!l->rows[i].e->parent)
				return problem(p,
					       "entry %" PRIu64 " '%s' is not reachable from the "
					       "root (parent %" PRIu64 ")",
					       l->rows[i].e->inode, l->rows[i].e->name,
					       l->rows[i].parent);
	}
	return r;
}

static int check_versions(const struct cfs_state *st, uint64_t version, struct cfs_store_problem *p)
{
	struct cfs_tree_iter it;

	for (struct cfs_entry *e = cfs_tree_iter_first(&it, &st->tree); e;
	     e = cfs_tree_iter_next(&it)) {
		if (e->version > version || e->inode > version)
			return problem(p,
				       "entry %" PRIu64 " '%s' has version %" PRIu64
				       ", newer than the database (%" PRIu64 ")",
				       e->inode, e->name, e->version, version);
	}
	return 0;
}

static int load_meta(struct cfs_store *s, struct cfs_store_problem *p, int64_t values[6])
{
	static const char *const keys[] = { "schema",	       "db_id",	     "version",
					    "tombstone_floor", "digest_sum", "digest_xor" };

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		bool found;
		int r = meta_get(s, keys[i], &values[i], &found);

		if (r == -EIO || r == -EUCLEAN)
			return problem(p, "reading meta '%s': %s", keys[i], sqlite3_errmsg(s->db));
		if (r < 0)
			return r;
		if (!found)
			return problem(p, "meta '%s' is missing", keys[i]);
	}
	if (values[0] > SCHEMA_VERSION)
		return -EPROTONOSUPPORT;
	if (values[0] < 1 || values[2] < 1)
		return problem(p, "meta holds an invalid schema or version");
	return 0;
}

/* The quorate history's marks; absent in a database never in a cluster. */
static int load_history(struct cfs_store *s, struct cfs_state *st, struct cfs_store_problem *p)
{
	int64_t auth = 0, lineage = 0;
	bool found;
	int r = meta_get(s, "auth_version", &auth, &found);

	if (r == 0)
		r = meta_get(s, "lineage", &lineage, &found);
	if (r == -EIO || r == -EUCLEAN)
		return problem(p, "reading meta: %s", sqlite3_errmsg(s->db));
	if (r < 0)
		return r;
	if (auth < 0 || (uint64_t)auth > st->tree.version)
		return problem(p, "meta 'auth_version' %lld is beyond the tree's version",
			       (long long)auth);
	st->auth_version = (uint64_t)auth;
	st->lineage = (uint64_t)lineage;
	return 0;
}

static int count_tombstones(struct cfs_store *s)
{
	sqlite3_stmt *q;
	int rc = sqlite3_prepare_v2(s->db, "SELECT count(*) FROM entry WHERE type = 0", -1, &q,
				    NULL);

	if (rc != SQLITE_OK)
		return errno_of(rc);
	if (sqlite3_step(q) == SQLITE_ROW)
		s->info.tombstones = (uint64_t)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return 0;
}

static int load(struct cfs_store *s, struct cfs_state *st, struct cfs_store_problem *p)
{
	struct loader l = { 0 };
	int64_t meta[6];
	int r;

	r = load_meta(s, p, meta);
	if (r < 0)
		return r;
	r = exec(s, "BEGIN");
	if (r < 0)
		return r;
	r = load_rows(s, st, &l, p);
	if (r == 0)
		r = link_rows(st, &l, p);
	exec(s, "COMMIT");
	loader_free(&l);
	if (r < 0)
		return r;
	cfs_tree_clear_dirty(&st->tree);
	st->tree.root->flags = 0;
	st->tree.version = (uint64_t)meta[2];
	r = check_versions(st, st->tree.version, p);
	if (r == 0)
		r = load_history(s, st, p);
	if (r < 0)
		return r;
	if ((int64_t)st->tree.digest.sum != meta[4] || (int64_t)st->tree.digest.xor != meta[5])
		return problem(p, "the tree does not match the digest stored with it");
	r = cfs_vmlist_rebuild(&st->vmlist, &st->tree, &s->info.vmid_duplicates);
	if (r < 0)
		return r;
	s->info.db_id = (uint64_t)meta[1];
	s->info.version = st->tree.version;
	s->info.tombstone_floor = (uint64_t)meta[3];
	return count_tombstones(s);
}

static int integrity_check(struct cfs_store *s, struct cfs_store_problem *p)
{
	sqlite3_stmt *q;
	int rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check", -1, &q, NULL);
	int r = 0;

	if (rc != SQLITE_OK)
		return errno_of(rc) == -EIO
			       ? problem(p, "%s", sqlite3_errmsg(s->db))
			       : (errno_of(rc) == -EUCLEAN ? problem(p, "%s", sqlite3_errmsg(s->db))
							   : errno_of(rc));
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		const char *res = (const char *)sqlite3_column_text(q, 0);

		if (!res || !streq(res, "ok"))
			r = problem(p, "integrity check: %s", res ? res : "(null)");
	} else {
		r = errno_of(rc);
		if (r == -EUCLEAN || r == -EIO)
			r = problem(p, "integrity check: %s", sqlite3_errmsg(s->db));
	}
	sqlite3_finalize(q);
	return r;
}

static int open_db(struct cfs_store *s, struct cfs_store_problem *p)
{
	int rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	int r;

	if (rc != SQLITE_OK) {
		log_err("database %s: %s", s->path,
			s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		return errno_of(rc);
	}
	sqlite3_extended_result_codes(s->db, 1);
	/*
	 * Flushes are rare (the journal absorbs single operations), so each
	 * may afford a full sync: a flush is only followed by a journal reset
	 * once it is on disk.
	 */
	r = exec(s, "PRAGMA journal_mode = WAL");
	if (r == -EUCLEAN || r == -EIO)
		return problem(p, "%s", sqlite3_errmsg(s->db));
	if (r == 0)
		r = exec(s, "PRAGMA synchronous = FULL");
	if (r == 0)
		r = exec(s, "PRAGMA foreign_keys = OFF");
	if (r == 0)
		r = exec(s, "PRAGMA cache_size = -8192");
	/*
	 * Debian builds SQLite with SECURE_DELETE on: every page freed is
	 * overwritten with zeros. Replacing a big file frees its old overflow
	 * pages only after the new ones are allocated, so the zeros were one
	 * more copy of the file into the WAL and another at the checkpoint
	 * (4.7x the file's size per overwrite instead of 2.1x). FAST still
	 * zeroes what is deleted from pages that are written anyway.
	 */
	if (r == 0)
		r = exec(s, "PRAGMA secure_delete = FAST");
	/*
	 * A statement that may abort (the triggers) keeps the pages it
	 * overwrites in a statement journal, a temporary file once it passes
	 * 64 KiB: a file's new content reusing the pages its old content just
	 * freed wrote the old content there once more. In memory it is one
	 * statement's pages at most (a file is at most a few MiB).
	 */
	if (r == 0)
		r = exec(s, "PRAGMA temp_store = MEMORY");
	return r;
}

static void close_db(struct cfs_store *s)
{
	for (int i = 0; i < STMT_COUNT; i++) {
		sqlite3_finalize(s->stmt[i]);
		s->stmt[i] = NULL;
	}
	if (s->db)
		sqlite3_close(s->db);
	s->db = NULL;
}

/*
 * Was the database closed cleanly (meta 'clean' = 1)? Then the full
 * structural check can be skipped; the digest is still checked.
 */
static bool closed_cleanly(struct cfs_store *s)
{
	int64_t clean = 0;
	bool found = false;

	return meta_get(s, "clean", &clean, &found) == 0 && found && clean == 1;
}

/*
 * Schema 1 had only mtime, in seconds. Version 2 adds the nanoseconds,
 * ctime and atime; an old entry gets ctime = atime = mtime, which keeps
 * its digest (cfs_entry_digest()), so the stored digest still checks the
 * migrated tree.
 */
/* clang-format off */
static const char migrate_1_to_2_sql[] =
	"ALTER TABLE entry ADD COLUMN " NSEC_COLUMN("mtime_nsec") ";"
	"ALTER TABLE entry ADD COLUMN " SEC_COLUMN("ctime") ";"
	"ALTER TABLE entry ADD COLUMN " NSEC_COLUMN("ctime_nsec") ";"
	"ALTER TABLE entry ADD COLUMN " SEC_COLUMN("atime") ";"
	"ALTER TABLE entry ADD COLUMN " NSEC_COLUMN("atime_nsec") ";"
	"UPDATE entry SET ctime = mtime, atime = mtime;"
	"UPDATE meta SET value = 2 WHERE key = 'schema';";
/* clang-format on */

/* Bring an older schema up to date, in one transaction. Newer ones are left to load_meta(). */
static int migrate(struct cfs_store *s, struct cfs_store_problem *p)
{
	int64_t schema = 0;
	bool found = false;
	int r = meta_get(s, "schema", &schema, &found);

	if (r == -EIO || r == -EUCLEAN)
		return problem(p, "reading meta 'schema': %s", sqlite3_errmsg(s->db));
	if (r < 0 || !found || schema != 1)
		return r;
	r = exec(s, "BEGIN IMMEDIATE");
	if (r == 0)
		r = exec(s, migrate_1_to_2_sql);
	if (r == 0)
		r = exec(s, "COMMIT");
	if (r < 0) {
		rollback(s);
		return r == -EIO || r == -EUCLEAN
			       ? problem(p, "migrating schema 1 to 2: %s", sqlite3_errmsg(s->db))
			       : r;
	}
	log_notice("database %s: schema 1 migrated to 2 (times with nanoseconds, ctime, atime)",
		   s->path);
	return 0;
}

static int open_and_load(struct cfs_store *s, struct cfs_state *st, struct cfs_store_problem *p)
{
	bool clean;
	int r = open_db(s, p);

	if (r < 0)
		return r;
	if (!has_table(s, "meta")) {
		if (has_table(s, "entry"))
			return problem(p, "table 'meta' is missing");
		log_notice("database %s: new, creating the schema", s->path);
		return create_schema(s, st);
	}
	clean = closed_cleanly(s);
	if (!clean) {
		r = integrity_check(s, p);
		if (r < 0)
			return r;
	}
	r = migrate(s, p);
	if (r < 0)
		return r;
	r = prepare_all(s);
	if (r == -EIO || r == -EUCLEAN)
		return problem(p, "schema: %s", sqlite3_errmsg(s->db));
	if (r < 0)
		return r;
	r = load(s, st, p);
	/* From now on, until a clean close, a crash means: check it all next time. */
	if (r == 0 && clean)
		r = meta_set(s, "clean", 0);
	return r;
}

int cfs_store_open(const char *path, struct cfs_state *st, struct cfs_store **out,
		   struct cfs_store_problem *p)
{
	struct cfs_store *s = calloc(1, sizeof(*s));
	int r;

	p->text[0] = '\0';
	if (!s)
		return -ENOMEM;
	s->path = strdup(path);
	s->tombstone_limit = DEFAULT_TOMBSTONE_LIMIT;
	if (!s->path) {
		free(s);
		return -ENOMEM;
	}
	r = open_and_load(s, st, p);
	if (r < 0) {
		cfs_store_close(s);
		return r;
	}
	*out = s;
	return 0;
}

int cfs_store_reload(struct cfs_store *s, struct cfs_state *st, struct cfs_store_problem *p)
{
	p->text[0] = '\0';
	rollback(s);
	return load(s, st, p);
}

void cfs_store_close(struct cfs_store *s)
{
	if (!s)
		return;
	close_db(s);
	free(s->path);
	free(s);
}

const struct cfs_store_info *cfs_store_info(const struct cfs_store *s)
{
	return &s->info;
}

void cfs_store_set_tombstone_limit(struct cfs_store *s, uint64_t limit)
{
	s->tombstone_limit = limit;
}

static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : errno_of(rc);
}

static int run1(struct cfs_store *s, enum stmt_id id, int64_t a)
{
	sqlite3_bind_int64(s->stmt[id], 1, a);
	return step_done(s->stmt[id]);
}

static int write_entry(struct cfs_store *s, const struct cfs_entry *e)
{
	sqlite3_stmt *up = s->stmt[STMT_UPSERT];
	int r;

	/*
	 * A new entry may take over the row of another with the same inode
	 * (after a full state transfer): drop content a directory cannot have.
	 */
	if (e->type != CFS_FILE && (e->flags & CFS_ENTRY_MOVED)) {
		r = run1(s, STMT_CONTENT_DELETE, (int64_t)e->inode);
		if (r < 0)
			return r;
	}
	sqlite3_bind_int64(up, 1, (int64_t)e->inode);
	if (e->parent)
		sqlite3_bind_int64(up, 2, (int64_t)e->parent->inode);
	else
		sqlite3_bind_null(up, 2);
	sqlite3_bind_text(up, 3, e->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(up, 4, e->type);
	sqlite3_bind_int64(up, 5, (int64_t)e->version);
	sqlite3_bind_int64(up, 6, e->writer);
	bind_times(up, &e->times);
	r = step_done(up);
	if (r < 0 || e->type != CFS_FILE || !(e->flags & CFS_ENTRY_CONTENT_DIRTY))
		return r;
	if (!e->data)
		return run1(s, STMT_CONTENT_DELETE, (int64_t)e->inode);
	sqlite3_bind_int64(s->stmt[STMT_CONTENT_SET], 1, (int64_t)e->inode);
	sqlite3_bind_blob64(s->stmt[STMT_CONTENT_SET], 2, e->data->data, e->data->size,
			    SQLITE_STATIC);
	return step_done(s->stmt[STMT_CONTENT_SET]);
}

struct dirty_ref {
	unsigned depth;
	struct cfs_entry *e;
};

static int cmp_depth(const void *a, const void *b)
{
	const struct dirty_ref *da = a, *db = b;

	/*
	 * Parents first; within a depth by inode, so rows arrive in key
	 * order and B-tree pages fill up instead of splitting half empty.
	 */
	if (da->depth != db->depth)
		return da->depth < db->depth ? -1 : 1;
	return da->e->inode < db->e->inode ? -1 : da->e->inode > db->e->inode;
}

/* Dirty entries, parents before children, so that each row's parent already exists. */
static struct dirty_ref *dirty_by_depth(const struct cfs_tree *t, size_t *count)
{
	size_t n = 0, i = 0;
	struct dirty_ref *refs;

	for (struct cfs_entry *e = t->dirty; e; e = e->dirty_next)
		n++;
	refs = malloc((n ? n : 1) * sizeof(*refs));
	if (!refs)
		return NULL;
	for (struct cfs_entry *e = t->dirty; e; e = e->dirty_next)
		refs[i++] = (struct dirty_ref){ cfs_entry_depth(e), e };
	qsort(refs, n, sizeof(*refs), cmp_depth);
	*count = n;
	return refs;
}

/* Drop the oldest tombstones beyond the limit; record up to where they are gone. */
static int prune_tombstones(struct cfs_store *s, uint64_t excess)
{
	sqlite3_stmt *q;
	int64_t floor = 0;
	int rc, r;

	rc = sqlite3_prepare_v2(s->db,
				"SELECT max(version) FROM (SELECT version FROM entry WHERE type = 0"
				" ORDER BY version LIMIT ?1)",
				-1, &q, NULL);
	if (rc != SQLITE_OK)
		return errno_of(rc);
	sqlite3_bind_int64(q, 1, (int64_t)excess);
	if (sqlite3_step(q) == SQLITE_ROW)
		floor = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	rc = sqlite3_prepare_v2(s->db, "DELETE FROM entry WHERE type = 0 AND version <= ?1", -1, &q,
				NULL);
	if (rc != SQLITE_OK)
		return errno_of(rc);
	sqlite3_bind_int64(q, 1, floor);
	r = step_done(q);
	sqlite3_finalize(q);
	if (r == 0)
		r = meta_set(s, "tombstone_floor", floor);
	if (r == 0)
		s->info.tombstone_floor = (uint64_t)floor;
	return r;
}

static int write_tombstone(struct cfs_store *s, const struct cfs_removal *rm)
{
	sqlite3_bind_int64(s->stmt[STMT_TOMBSTONE], 1, (int64_t)rm->inode);
	sqlite3_bind_int64(s->stmt[STMT_TOMBSTONE], 2, (int64_t)rm->version);
	return step_done(s->stmt[STMT_TOMBSTONE]);
}

static int flush_rows(struct cfs_store *s, struct cfs_state *st)
{
	struct dirty_ref *refs;
	size_t n;
	int r = 0;

	refs = dirty_by_depth(&st->tree, &n);
	if (!refs)
		return -ENOMEM;
	/*
	 * Detach what moved or went away first: names are unique per
	 * directory, and moves within one flush (a swap, say) could clash
	 * if rows were written one by one in their final places.
	 */
	for (size_t i = 0; i < n && r == 0; i++)
		if (refs[i].e->flags & CFS_ENTRY_MOVED)
			r = run1(s, STMT_DETACH, (int64_t)refs[i].e->inode);
	for (size_t i = 0; i < st->nremoved && r == 0; i++)
		r = run1(s, STMT_DETACH, (int64_t)st->removed[i].inode);
	/*
	 * Content that went away before the new content comes in: the pages
	 * it frees take the new rows. The other way round (a save replaces
	 * files by new inodes), the new rows grew the table at its end and
	 * the old ones left holes in pages that were written again: 1.4x the
	 * data into the WAL per fold instead of 2.1x for 1 KiB saves.
	 */
	for (size_t i = 0; i < st->nremoved && r == 0; i++)
		r = run1(s, STMT_CONTENT_DELETE, (int64_t)st->removed[i].inode);
	for (size_t i = 0; i < n && r == 0; i++)
		r = write_entry(s, refs[i].e);
	for (size_t i = 0; i < st->nremoved && r == 0; i++)
		r = write_tombstone(s, &st->removed[i]);
	free(refs);
	return r;
}

int cfs_store_flush(struct cfs_store *s, struct cfs_state *st)
{
	uint64_t start = now_monotonic_ns();
	uint64_t tombstones = s->info.tombstones + st->nremoved;
	uint64_t floor = s->info.tombstone_floor;
	int r;

	if (!st->tree.dirty && st->nremoved == 0 && s->info.version == st->tree.version)
		return 0;
	r = exec(s, "BEGIN IMMEDIATE");
	if (r < 0)
		return r;
	r = flush_rows(s, st);
	if (r == 0)
		r = meta_set(s, "version", (int64_t)st->tree.version);
	if (r == 0)
		r = meta_set(s, "digest_sum", (int64_t)st->tree.digest.sum);
	if (r == 0)
		r = meta_set(s, "digest_xor", (int64_t)st->tree.digest.xor);
	if (r == 0)
		r = meta_set(s, "auth_version", (int64_t)st->auth_version);
	if (r == 0)
		r = meta_set(s, "lineage", (int64_t)st->lineage);
	/* Prune in bulk, 10% past the limit, not a few rows at every flush. */
	if (r == 0 && tombstones > s->tombstone_limit + s->tombstone_limit / 10) {
		r = prune_tombstones(s, tombstones - s->tombstone_limit);
		tombstones = s->tombstone_limit;
	}
	if (r == 0)
		r = exec(s, "COMMIT");
	if (r < 0) {
		log_err("database %s: flush failed: %s", s->path, strerror(-r));
		rollback(s);
		s->info.tombstone_floor = floor;
		return r;
	}
	s->info.tombstones = tombstones;
	s->info.version = st->tree.version;
	s->info.flushes++;
	s->info.last_flush_ns = now_monotonic_ns() - start;
	cfs_tree_clear_dirty(&st->tree);
	cfs_state_clear_removed(st);
	return 0;
}

int cfs_store_mark_clean(struct cfs_store *s)
{
	return meta_set(s, "clean", 1);
}

int cfs_store_checkpoint(struct cfs_store *s)
{
	int log_frames = 0, done = 0;
	int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log_frames,
					   &done);

	return errno_of(rc);
}

int cfs_store_move_aside(const char *path, char **aside)
{
	struct drover_err err = { 0 };
	char stamp[32], *dst;
	int r;
	struct tm tm;
	time_t now = time(NULL);
	size_t len;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	len = strlen(path) + strlen(stamp) + 32;
	dst = malloc(len);
	if (!dst)
		return -ENOMEM;
	snprintf(dst, len, "%s.damaged-%s", path, stamp);
	for (int i = 1; access(dst, F_OK) == 0; i++)
		snprintf(dst, len, "%s.damaged-%s.%d", path, stamp, i);
	/* db_files_move() skips missing files, but a missing database is an error here */
	r = access(path, F_OK) < 0 ? -errno : db_files_move(path, dst, &err);
	if (r < 0 && access(dst, F_OK) < 0) {
		free(dst); /* the database itself did not move */
		return r;
	}
	if (r < 0) /* the database is aside; a companion file stayed behind */
		log_warn("moving %s aside: %s", path, err.text);
	*aside = dst;
	return 0;
}

int cfs_store_tombstones(struct cfs_store *s, uint64_t since, struct cfs_removal **out,
			 size_t *count)
{
	struct cfs_removal *arr = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *q;
	int rc = sqlite3_prepare_v2(
		s->db, "SELECT inode, version FROM entry WHERE type = 0 AND version > ?1", -1, &q,
		NULL);

	if (rc != SQLITE_OK)
		return errno_of(rc);
	sqlite3_bind_int64(q, 1, (int64_t)since);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (ARRAY_GROW(arr, cap, n + 1) < 0) {
			rc = SQLITE_NOMEM;
			break;
		}
		arr[n].inode = (uint64_t)sqlite3_column_int64(q, 0);
		arr[n].version = (uint64_t)sqlite3_column_int64(q, 1);
		n++;
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		free(arr);
		return errno_of(rc);
	}
	*out = arr;
	*count = n;
	return 0;
}

int cfs_store_set_tombstone_floor(struct cfs_store *s, uint64_t version)
{
	int r;

	if (version <= s->info.tombstone_floor)
		return 0;
	r = meta_set(s, "tombstone_floor", (int64_t)version);
	if (r == 0)
		s->info.tombstone_floor = version;
	return r;
}

int cfs_store_backup(struct cfs_store *s, const char *dest)
{
	sqlite3_stmt *q;
	int rc = sqlite3_prepare_v2(s->db, "VACUUM INTO ?1", -1, &q, NULL);

	if (rc != SQLITE_OK)
		return errno_of(rc);
	sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : errno_of(rc);
}
