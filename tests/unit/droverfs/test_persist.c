/* SPDX-License-Identifier: MIT */
/*
 * Persistence on a real SQLite file and a real journal: round trips, a
 * crash (a child process that dies without closing), torn and foreign
 * journals, damaged databases, direct writes, flush ordering, tombstones.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db_helpers.h"
#include "xfer_helpers.h"

#include "droverfs/core/persist.h"
#include "droverfs/core/store.h"
#include "basic/log.h"

/* Remove the database files, not the journal. */
static void remove_db(struct db_dir *f)
{
	char path[200];

	unlink(f->db);
	snprintf(path, sizeof(path), "%s-wal", f->db);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", f->db);
	unlink(path);
}

/* Apply and commit one op given by path helpers, as its own batch. */
#define COMMIT(p, expr)                                     \
	do {                                                \
		assert_int_equal((expr), 0);                \
		assert_int_equal(cfs_persist_commit(p), 0); \
	} while (0)

/* The helpers apply to a bare state; route them through persist instead. */
static int p_op(struct cfs_persist *p, struct cfs_op *op)
{
	return cfs_persist_apply(p, op, NULL);
}

static int p_named(struct cfs_persist *p, uint8_t kind, const char *path)
{
	struct cfs_op op = { .kind = kind, .time_ns = T0_NS };

	split(&p->state, path, &op.ino, op.name);
	return p_op(p, &op);
}

static int p_write(struct cfs_persist *p, const char *path, const void *data, size_t size)
{
	struct cfs_op op = { .kind = CFS_OP_WRITE, .flags = CFS_WRITE_REPLACE, .time_ns = T0_NS };

	op.ino = ino_of(&p->state, path);
	op.data = data;
	op.size = size;
	return p_op(p, &op);
}

static int p_rename(struct cfs_persist *p, const char *from, const char *to)
{
	struct cfs_op op = { .kind = CFS_OP_RENAME, .time_ns = T0_NS };

	split(&p->state, from, &op.ino, op.name);
	split(&p->state, to, &op.ino2, op.name2);
	return p_op(p, &op);
}

static void p_put(struct cfs_persist *p, const char *path, const char *data)
{
	COMMIT(p, p_named(p, CFS_OP_CREATE, path));
	COMMIT(p, p_write(p, path, data, strlen(data)));
}

struct snapshot {
	uint64_t version, nentries, nbytes;
	struct cfs_digest digest;
};

static struct snapshot snap(struct cfs_persist *p)
{
	return (struct snapshot){ p->state.tree.version, p->state.tree.nentries,
				  p->state.tree.nbytes, p->state.tree.digest };
}

static void assert_same(struct snapshot a, struct snapshot b)
{
	assert_int_equal(a.version, b.version);
	assert_int_equal(a.nentries, b.nentries);
	assert_int_equal(a.nbytes, b.nbytes);
	assert_true(a.digest.sum == b.digest.sum && a.digest.xor == b.digest.xor);
}

static void build_tree(struct cfs_persist *p)
{
	COMMIT(p, p_named(p, CFS_OP_MKDIR, "nodes"));
	COMMIT(p, p_named(p, CFS_OP_MKDIR, "nodes/n1"));
	COMMIT(p, p_named(p, CFS_OP_MKDIR, "nodes/n1/qemu-server"));
	p_put(p, "nodes/n1/qemu-server/100.conf", "memory: 512\n");
	p_put(p, "storage.cfg", "dir: local\n\tpath /var/lib/vz\n");
	p_put(p, "x.tmp", "new");
	p_put(p, "x", "old");
	COMMIT(p, p_rename(p, "x.tmp", "x"));
	COMMIT(p, p_named(p, CFS_OP_MKDIR, "gone"));
	COMMIT(p, p_named(p, CFS_OP_RMDIR, "gone"));
}

static void test_roundtrip(void **ctx)
{
	struct db_dir *f = *ctx;
	struct cfs_persist *p = db_open(f);
	struct snapshot s;

	assert_int_equal(p->state.tree.version, 1);
	assert_null(p->recovered_from);
	build_tree(p);
	s = snap(p);
	cfs_persist_close(p);
	p = db_open(f);
	assert_same(snap(p), s);
	assert_string_equal(content(&p->state, "x"), "new");
	assert_non_null(cfs_vmlist_get(&p->state.vmlist, 100));
	assert_int_equal(p->stats.replayed, 0); /* a clean close flushed everything */
	assert_int_equal(cfs_persist_journal_size(p), 0);
	cfs_persist_close(p);
}

/* A child builds a tree and dies without closing: the journal has it all. */
static struct snapshot crash_child(struct db_dir *f)
{
	int pipefd[2];
	struct snapshot s;
	pid_t pid;
	int status;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct cfs_persist *p = db_open(f);

		build_tree(p);
		s = snap(p);
		if (write(pipefd[1], &s, sizeof(s)) != sizeof(s))
			_exit(2);
		_exit(0); /* no close: like kill -9 after the last reply */
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &s, sizeof(s)), sizeof(s));
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return s;
}

static void test_crash_replay(void **ctx)
{
	struct db_dir *f = *ctx;
	struct snapshot s = crash_child(f);
	struct cfs_persist *p = db_open(f);

	assert_same(snap(p), s);
	assert_true(p->stats.replayed > 10);
	assert_string_equal(content(&p->state, "storage.cfg"), "dir: local\n\tpath /var/lib/vz\n");
	cfs_persist_close(p);
	/* replayed once, then folded in: a second open replays nothing */
	p = db_open(f);
	assert_int_equal(p->stats.replayed, 0);
	assert_same(snap(p), s);
	cfs_persist_close(p);
}

static void test_torn_journal(void **ctx)
{
	struct db_dir *f = *ctx;
	struct snapshot s = crash_child(f);
	struct cfs_persist *p;
	struct stat sb;
	int fd;

	/* half a record after the last one: an unfinished write */
	fd = open(f->journal, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "JREC\x40\0\0\0garbage", 15), 15);
	close(fd);
	p = db_open(f);
	assert_same(snap(p), s);
	cfs_persist_close(p);

	/* a damaged last record: everything before it survives */
	remove_db(f);
	s = crash_child(f);
	assert_int_equal(stat(f->journal, &sb), 0);
	fd = open(f->journal, O_RDWR);
	assert_int_equal(pwrite(fd, "X", 1, sb.st_size - 2), 1);
	close(fd);
	p = db_open(f);
	assert_int_equal(p->state.tree.version, s.version - 1);
	cfs_persist_close(p);
}

static void test_foreign_journal(void **ctx)
{
	struct db_dir *f = *ctx;
	struct cfs_persist *p;
	char other[200];

	crash_child(f);
	/* the database (with its WAL) is replaced by another one: its journal must not be applied */
	snprintf(other, sizeof(other), "%s/other.db", f->dir);
	{
		struct cfs_persist_config cfg;

		cfs_persist_config_default(&cfg, other);
		assert_int_equal(cfs_persist_open(&cfg, T0_NS, &p), 0);
		cfs_persist_close(p);
	}
	remove_db(f);
	assert_int_equal(rename(other, f->db), 0);
	p = db_open(f);
	assert_int_equal(p->state.tree.version, 1);
	assert_int_equal(p->state.tree.nentries, 1);
	cfs_persist_close(p);
	snprintf(other, sizeof(other), "ls %s/config.db.journal.damaged-* >/dev/null", f->dir);
	assert_int_equal(system(other), 0);
}

static void corrupt_file(const char *path)
{
	int fd = open(path, O_WRONLY);
	char junk[4096];

	memset(junk, 0x5a, sizeof(junk));
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 0), sizeof(junk));
	close(fd);
}

static void test_damaged_database(void **ctx)
{
	struct db_dir *f = *ctx;
	struct cfs_persist *p = db_open(f);
	struct stat sb;

	build_tree(p);
	cfs_persist_close(p);
	corrupt_file(f->db);
	p = db_open(f);
	assert_non_null(p->recovered_from);
	/* kept, untouched, for the operator */
	assert_int_equal(stat(p->recovered_from, &sb), 0);
	assert_true(sb.st_size >= 4096);
	assert_int_equal(p->state.tree.nentries, 1);
	cfs_persist_close(p);
}

static void test_tree_checks(void **ctx)
{
	struct db_dir *f = *ctx;
	struct cfs_persist *p = db_open(f);

	build_tree(p);
	cfs_persist_close(p);
	/* the schema itself refuses a child of a file */
	{
		sqlite3 *h;

		assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
		assert_int_not_equal(
			sqlite3_exec(h,
				     "UPDATE entry SET parent = (SELECT inode FROM entry WHERE "
				     "name = 'storage.cfg') WHERE name = 'x'",
				     NULL, NULL, NULL),
			SQLITE_OK);
		assert_int_not_equal(
			sqlite3_exec(h, "DELETE FROM entry WHERE name = 'x'", NULL, NULL, NULL),
			SQLITE_OK);
		assert_int_not_equal(sqlite3_exec(h,
						  "INSERT INTO entry VALUES (9999, 1, 'a/b', 2, 5, "
						  "0, 0, 0, 0, 0, 0, 0)",
						  NULL, NULL, NULL),
				     SQLITE_OK);
		sqlite3_close(h);
	}
	/* a change behind drover's back shows in the digest */
	sql(f->db, "UPDATE entry SET mtime = mtime + 1 WHERE name = 'storage.cfg'");
	p = db_open(f);
	assert_non_null(p->recovered_from);
	cfs_persist_close(p);
}

static void test_orphan_detected(void **ctx)
{
	struct db_dir *f = *ctx;
	struct cfs_persist *p = db_open(f);

	build_tree(p);
	cfs_persist_close(p);
	/* an entry whose parent went away (triggers removed first: a foreign tool) */
	sql(f->db, "DROP TRIGGER entry_dir_in_use; UPDATE entry SET type = 0, parent = NULL, "
		   "name = '' WHERE name = 'n1'");
	p = db_open(f);
	assert_non_null(p->recovered_from);
	cfs_persist_close(p);
}

static void test_newer_schema(void **ctx)
{
	struct db_dir *f = *ctx;
	struct cfs_persist_config cfg;
	struct cfs_persist *p = db_open(f);

	cfs_persist_close(p);
	sql(f->db, "UPDATE meta SET value = 99 WHERE key = 'schema'");
	cfs_persist_config_default(&cfg, f->db);
	assert_int_equal(cfs_persist_open(&cfg, T0_NS, &p), -EPROTONOSUPPORT);
}

static void test_direct_write(void **ctx)
{
	struct db_dir *f = *ctx;
	struct cfs_persist *p = db_open(f);
	size_t size = 300 * 1024;
	char *big = malloc(size);
	struct snapshot s;

	for (size_t i = 0; i < size; i++)
		big[i] = (char)(i * 7);
	COMMIT(p, p_named(p, CFS_OP_CREATE, "big"));
	assert_true(cfs_persist_journal_size(p) > 0);
	COMMIT(p, p_write(p, "big", big, size));
	/* written through the database: the journal starts over */
	assert_int_equal(cfs_persist_journal_size(p), 0);
	assert_int_equal(p->stats.direct_writes, 1);
	assert_int_equal(cfs_persist_flush_deadline(p), 0);
	s = snap(p);
	cfs_persist_close(p);
	p = db_open(f);
	assert_same(snap(p), s);
	assert_memory_equal(at(&p->state, "big")->data->data, big, size);
	cfs_persist_close(p);
	free(big);
}

static void test_flush_ordering(void **ctx)
{
	struct db_dir *f = *ctx;
	struct cfs_persist *p = db_open(f);
	struct snapshot s;

	p_put(p, "a", "A");
	p_put(p, "b", "B");
	COMMIT(p, p_named(p, CFS_OP_MKDIR, "d"));
	COMMIT(p, p_named(p, CFS_OP_MKDIR, "d/e"));
	p_put(p, "d/e/f", "F");
	assert_int_equal(cfs_persist_flush(p), 0);
	assert_int_equal(cfs_persist_flush_deadline(p), 0);
	/* a swap and a move under a new directory within one flush window */
	COMMIT(p, p_rename(p, "a", "t"));
	COMMIT(p, p_rename(p, "b", "a"));
	COMMIT(p, p_rename(p, "t", "b"));
	COMMIT(p, p_named(p, CFS_OP_MKDIR, "new"));
	COMMIT(p, p_rename(p, "d", "new/d"));
	COMMIT(p, p_named(p, CFS_OP_MKDIR, "d"));
	COMMIT(p, p_rename(p, "new", "d/new"));
	assert_true(cfs_persist_flush_deadline(p) > 0);
	assert_int_equal(cfs_persist_flush(p), 0);
	s = snap(p);
	cfs_persist_close(p);
	p = db_open(f);
	assert_same(snap(p), s);
	assert_string_equal(content(&p->state, "a"), "B");
	assert_string_equal(content(&p->state, "b"), "A");
	assert_string_equal(content(&p->state, "d/new/d/e/f"), "F");
	cfs_persist_close(p);
}

static void test_tombstones(void **ctx)
{
	struct db_dir *f = *ctx;
	struct cfs_persist_config cfg;
	struct cfs_persist *p;
	const struct cfs_store_info *info;
	char name[16];

	cfs_persist_config_default(&cfg, f->db);
	cfg.tombstone_limit = 10;
	assert_int_equal(cfs_persist_open(&cfg, T0_NS, &p), 0);
	for (int i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		COMMIT(p, p_named(p, CFS_OP_CREATE, name));
		COMMIT(p, p_named(p, CFS_OP_UNLINK, name));
	}
	assert_int_equal(cfs_persist_flush(p), 0);
	info = cfs_store_info(p->store);
	assert_int_equal(info->tombstones, 10);
	assert_true(info->tombstone_floor > 1);
	cfs_persist_close(p);
	p = db_open(f);
	assert_int_equal(cfs_store_info(p->store)->tombstones, 10);
	cfs_persist_close(p);
}

/* The quorate-history marks come back from the journal after a crash. */
static void test_authoritative_history(void **ctx)
{
	struct db_dir *f = *ctx;
	struct cfs_persist *p;
	uint64_t auth, lineage;
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		p = db_open(f);
		COMMIT(p, p_named(p, CFS_OP_MKDIR, "local-only"));
		p->state.authoritative = true;
		COMMIT(p, p_named(p, CFS_OP_MKDIR, "quorate"));
		p_put(p, "quorate/x", "1");
		p->state.authoritative = false;
		COMMIT(p, p_named(p, CFS_OP_MKDIR, "after"));
		_exit(p->state.auth_version == p->state.tree.version - 1 ? 0 : 3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	p = db_open(f);
	assert_true(p->stats.replayed > 0);
	assert_int_equal(p->state.auth_version, p->state.tree.version - 1);
	assert_true(p->state.lineage != 0);
	auth = p->state.auth_version;
	lineage = p->state.lineage;
	cfs_persist_close(p);
	/* and from the database after a clean close */
	p = db_open(f);
	assert_int_equal(p->stats.replayed, 0);
	assert_int_equal(p->state.auth_version, auth);
	assert_true(p->state.lineage == lineage);
	cfs_persist_close(p);
}

/* A full state transfer into a persisted node survives a flush and a reopen. */
static void test_transfer_then_reopen(void **ctx)
{
	struct db_dir *f = *ctx;
	struct cfs_persist *p = db_open(f);
	struct cfs_state leader;
	struct cfs_xfer_out out;
	struct cfs_xfer_in in = { 0 };
	char err[256];
	struct snapshot s;

	/* The follower wrote alone: a file where the leader will have a directory. */
	p_put(p, "mine", "local");
	COMMIT(p, p_named(p, CFS_OP_MKDIR, "dir-here"));
	p_put(p, "dir-here/f", "x");
	assert_int_equal(cfs_persist_flush(p), 0);
	init_state(&leader);
	assert_int_equal(do_mkdir(&leader, "a"), 0);
	assert_int_equal(do_mkdir(&leader, "a/b"), 0); /* same inodes, other types */
	assert_int_equal(do_put(&leader, "a/b/c", "leader"), 0);
	assert_int_equal(do_put(&leader, "dir-here", "now a file"), 0);
	assert_int_equal(do_unlink(&leader, "a/b/c"), 0);
	assert_int_equal(cfs_xfer_build(&leader, NULL, 0, 0, true, 1, 1 << 20, &out), 0);
	xfer_deliver(&out, 1, &in);
	if (cfs_xfer_apply(&p->state, &in, &out.end, err, sizeof(err)) != 0)
		fail_msg("apply: %s", err);
	assert_int_equal(cfs_persist_flush(p), 0);
	s = snap(p);
	cfs_persist_close(p);
	p = db_open(f);
	assert_null(p->recovered_from);
	assert_same(snap(p), s);
	assert_true(p->state.tree.digest.sum == leader.tree.digest.sum);
	assert_string_equal(content(&p->state, "dir-here"), "now a file");
	assert_null(at(&p->state, "mine"));
	cfs_persist_close(p);
	cfs_xfer_in_free(&in);
	cfs_xfer_out_free(&out);
	cfs_state_destroy(&leader);
}

/* Bytes in the WAL now: what the transactions since the last checkpoint wrote. */
static off_t wal_size(const struct db_dir *f)
{
	char path[200];
	struct stat st;

	snprintf(path, sizeof(path), "%s-wal", f->db);
	return stat(path, &st) == 0 ? st.st_size : 0;
}

static char *pattern(size_t size, unsigned seed)
{
	char *d = malloc(size);

	assert_non_null(d);
	for (size_t i = 0; i < size; i++)
		d[i] = (char)(i * 7 + seed);
	return d;
}

/*
 * Replacing a big file writes its new content once into the WAL: the old
 * content's pages are freed, not overwritten with zeros (SQLite's
 * SECURE_DELETE, on in Debian's build, wrote them a second time).
 */
static void test_overwrite_writes_once(void **ctx)
{
	struct db_dir *f = *ctx;
	struct cfs_persist *p = db_open(f);
	size_t size = 1 << 20;
	char *v1 = pattern(size, 1), *v2 = pattern(size, 2);
	off_t wal;

	COMMIT(p, p_named(p, CFS_OP_CREATE, "big"));
	COMMIT(p, p_write(p, "big", v1, size));
	assert_int_equal(cfs_persist_flush_all(p), 0);
	assert_int_equal(wal_size(f), 0);
	COMMIT(p, p_write(p, "big", v2, size));
	assert_int_equal(p->stats.direct_writes, 2);
	wal = wal_size(f);
	assert_true(wal > (off_t)size);
	if (wal > (off_t)size * 11 / 10)
		fail_msg("overwrite of %zu bytes wrote %lld bytes into the WAL", size,
			 (long long)wal);
	cfs_persist_close(p);
	p = db_open(f);
	assert_memory_equal(at(&p->state, "big")->data->data, v2, size);
	cfs_persist_close(p);
	free(v1);
	free(v2);
}

/*
 * The save pattern over many small files: the fold that replaces the old
 * files by the new ones puts the new rows into the pages the old ones
 * free, instead of growing the table and rewriting the pages with holes.
 */
static void test_save_reuses_pages(void **ctx)
{
	struct db_dir *f = *ctx;
	struct cfs_persist *p = db_open(f);
	enum { FILES = 300, SIZE = 1024 };
	char name[32], tmp[32], *data = pattern(SIZE, 3);
	off_t wal;

	for (int i = 0; i < FILES; i++) {
		snprintf(name, sizeof(name), "f%04d", i);
		COMMIT(p, p_named(p, CFS_OP_CREATE, name));
		COMMIT(p, p_write(p, name, data, SIZE));
	}
	assert_int_equal(cfs_persist_flush_all(p), 0);
	for (int i = 0; i < FILES; i++) {
		snprintf(name, sizeof(name), "f%04d", i);
		snprintf(tmp, sizeof(tmp), "f%04d.tmp", i);
		data[0] = (char)i;
		COMMIT(p, p_named(p, CFS_OP_CREATE, tmp));
		COMMIT(p, p_write(p, tmp, data, SIZE));
		COMMIT(p, p_rename(p, tmp, name));
	}
	assert_int_equal(cfs_persist_flush(p), 0);
	wal = wal_size(f);
	/* Measured: 1.5x (3 rows of 1 KiB per 4 KiB page); new rows at the table's end: 2.2x */
	if (wal > FILES * SIZE * 18 / 10)
		fail_msg("%d saves of %d bytes wrote %lld bytes into the WAL", FILES, SIZE,
			 (long long)wal);
	cfs_persist_close(p);
	p = db_open(f);
	assert_int_equal(p->state.tree.nentries, FILES + 1);
	assert_int_equal(content(&p->state, "f0299")[0], (char)299);
	cfs_persist_close(p);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, db_dir_setup, db_dir_teardown),
		cmocka_unit_test_setup_teardown(test_crash_replay, db_dir_setup, db_dir_teardown),
		cmocka_unit_test_setup_teardown(test_torn_journal, db_dir_setup, db_dir_teardown),
		cmocka_unit_test_setup_teardown(test_foreign_journal, db_dir_setup,
						db_dir_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_database, db_dir_setup,
						db_dir_teardown),
		cmocka_unit_test_setup_teardown(test_tree_checks, db_dir_setup, db_dir_teardown),
		cmocka_unit_test_setup_teardown(test_orphan_detected, db_dir_setup,
						db_dir_teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema, db_dir_setup, db_dir_teardown),
		cmocka_unit_test_setup_teardown(test_direct_write, db_dir_setup, db_dir_teardown),
		cmocka_unit_test_setup_teardown(test_flush_ordering, db_dir_setup, db_dir_teardown),
		cmocka_unit_test_setup_teardown(test_tombstones, db_dir_setup, db_dir_teardown),
		cmocka_unit_test_setup_teardown(test_authoritative_history, db_dir_setup,
						db_dir_teardown),
		cmocka_unit_test_setup_teardown(test_transfer_then_reopen, db_dir_setup,
						db_dir_teardown),
		cmocka_unit_test_setup_teardown(test_overwrite_writes_once, db_dir_setup,
						db_dir_teardown),
		cmocka_unit_test_setup_teardown(test_save_reuses_pages, db_dir_setup,
						db_dir_teardown),
	};

	log_setup("test_persist", LOG_TARGET_STDERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
