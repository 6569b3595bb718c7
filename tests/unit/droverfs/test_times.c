/* SPDX-License-Identifier: MIT */
/*
 * Times and link counts: directory times set by the ops that change their
 * names, ctime and atime, nanoseconds, subdirectory counts; and the upgrade
 * from whole seconds (ops of codec version 2 in a journal, a database of
 * schema 1) keeping the stored digest valid.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "db_helpers.h"

#include "droverfs/core/journal.h"
#include "droverfs/core/persist.h"
#include "droverfs/core/store.h"
#include "basic/hash.h"
#include "basic/wire.h"

#define T1 (T0_NS + 1 * SEC_NS + 111)
#define T2 (T0_NS + 2 * SEC_NS + 222)
#define T3 (T0_NS + 3 * SEC_NS + 333)

static int apply_at(struct cfs_state *st, struct cfs_op *op, int64_t t)
{
	op->time_ns = t;
	return cfs_state_apply(st, op, NULL);
}

static int named_at(struct cfs_state *st, uint8_t kind, const char *path, int64_t t)
{
	struct cfs_op op = { .kind = kind };

	split(st, path, &op.ino, op.name);
	return apply_at(st, &op, t);
}

static int rename_at(struct cfs_state *st, const char *from, const char *to, int64_t t)
{
	struct cfs_op op = { .kind = CFS_OP_RENAME };

	split(st, from, &op.ino, op.name);
	split(st, to, &op.ino2, op.name2);
	return apply_at(st, &op, t);
}

/* A macro, so that a failure names the line that checked. */
#define assert_times(e, m, c, a)                              \
	do {                                                  \
		const struct cfs_entry *e_ = (e);             \
		assert_non_null(e_);                          \
		assert_true(e_->times.mtime == (int64_t)(m)); \
		assert_true(e_->times.ctime == (int64_t)(c)); \
		assert_true(e_->times.atime == (int64_t)(a)); \
	} while (0)

/* Every op that changes a directory's names sets its mtime and ctime, and its version. */
static void test_directory_times(void **ctx)
{
	struct cfs_state *st = *ctx;

	assert_int_equal(named_at(st, CFS_OP_MKDIR, "a", T0_NS), 0);
	assert_int_equal(named_at(st, CFS_OP_MKDIR, "b", T0_NS), 0);
	assert_times(st->tree.root, T0_NS, T0_NS, T0_NS);
	assert_times(at(st, "a"), T0_NS, T0_NS, T0_NS);

	assert_int_equal(named_at(st, CFS_OP_CREATE, "a/f", T1), 0);
	assert_times(at(st, "a"), T1, T1, T0_NS); /* atime stays */
	assert_times(at(st, "a/f"), T1, T1, T1);
	assert_int_equal(at(st, "a")->version, st->tree.version);
	assert_times(st->tree.root, T0_NS, T0_NS, T0_NS); /* only the parent */

	assert_int_equal(named_at(st, CFS_OP_MKDIR, "a/sub", T2), 0);
	assert_times(at(st, "a"), T2, T2, T0_NS);

	/* rename: both directories, and the entry's ctime (not its mtime) */
	assert_int_equal(rename_at(st, "a/f", "b/g", T3), 0);
	assert_times(at(st, "a"), T3, T3, T0_NS);
	assert_times(at(st, "b"), T3, T3, T0_NS);
	assert_times(at(st, "b/g"), T1, T3, T1);
	assert_int_equal(at(st, "a")->version, st->tree.version);
	assert_int_equal(at(st, "b")->version, st->tree.version);

	assert_int_equal(named_at(st, CFS_OP_RMDIR, "a/sub", T0_NS + 10 * SEC_NS), 0);
	assert_times(at(st, "a"), T0_NS + 10 * SEC_NS, T0_NS + 10 * SEC_NS, T0_NS);
	assert_int_equal(named_at(st, CFS_OP_UNLINK, "b/g", T0_NS + 11 * SEC_NS), 0);
	assert_times(at(st, "b"), T0_NS + 11 * SEC_NS, T0_NS + 11 * SEC_NS, T0_NS);

	/* failures change no time */
	assert_int_equal(named_at(st, CFS_OP_UNLINK, "b/g", T0_NS + 12 * SEC_NS), -ENOENT);
	assert_int_equal(named_at(st, CFS_OP_CREATE, "a", T0_NS + 12 * SEC_NS), -EEXIST);
	assert_times(at(st, "b"), T0_NS + 11 * SEC_NS, T0_NS + 11 * SEC_NS, T0_NS);
	assert_times(st->tree.root, T0_NS, T0_NS, T0_NS);
}

/* Releasing a lock is a change of priv/lock like any rmdir. */
static void test_unlock_touches_lock_area(void **ctx)
{
	struct cfs_state *st = *ctx;
	struct cfs_op op = { .kind = CFS_OP_UNLOCK };

	assert_int_equal(named_at(st, CFS_OP_MKDIR, "priv", T0_NS), 0);
	assert_int_equal(named_at(st, CFS_OP_MKDIR, "priv/lock", T0_NS), 0);
	assert_int_equal(named_at(st, CFS_OP_MKDIR, "priv/lock/x", T1), 0);
	assert_times(at(st, "priv/lock"), T1, T1, T0_NS);
	op.ino = ino_of(st, "priv/lock/x");
	op.arg = at(st, "priv/lock/x")->version;
	assert_int_equal(apply_at(st, &op, T2), 0);
	assert_times(at(st, "priv/lock"), T2, T2, T0_NS);
}

/* Content changes set mtime and ctime; explicit times set what they name, ctime is the op's. */
static void test_file_times(void **ctx)
{
	struct cfs_state *st = *ctx;
	struct cfs_op op = {
		.kind = CFS_OP_WRITE, .flags = CFS_WRITE_REPLACE, .data = "x", .size = 1
	};

	assert_int_equal(named_at(st, CFS_OP_CREATE, "f", T0_NS), 0);
	op.ino = ino_of(st, "f");
	assert_int_equal(apply_at(st, &op, T1), 0);
	assert_times(at(st, "f"), T1, T1, T0_NS);
	assert_times(st->tree.root, T0_NS, T0_NS, T0_NS); /* content is no name change */

	op = (struct cfs_op){ .kind = CFS_OP_TRUNCATE, .ino = ino_of(st, "f"), .arg = 0 };
	assert_int_equal(apply_at(st, &op, T2), 0);
	assert_times(at(st, "f"), T2, T2, T0_NS);

	/* touch -a: only the atime */
	op = (struct cfs_op){ .kind = CFS_OP_MTIME,
			      .flags = CFS_OP_SET_ATIME,
			      .ino = ino_of(st, "f"),
			      .atime_ns = 5 * SEC_NS };
	assert_int_equal(apply_at(st, &op, T3), 0);
	assert_times(at(st, "f"), T2, T3, 5 * SEC_NS);
	/* touch -m -d: only the mtime, nanoseconds and before 1970 included */
	op.flags = CFS_OP_SET_MTIME;
	op.mtime_ns = -SEC_NS / 2;
	assert_int_equal(apply_at(st, &op, T3 + 1), 0);
	assert_times(at(st, "f"), -SEC_NS / 2, T3 + 1, 5 * SEC_NS);

	/* a new file whose times were set before its create was sent */
	op = (struct cfs_op){ .kind = CFS_OP_CREATE,
			      .flags = CFS_CREATE_DATA | CFS_OP_SET_MTIME | CFS_OP_SET_ATIME,
			      .ino = CFS_ROOT_INODE,
			      .mtime_ns = 7,
			      .atime_ns = 9,
			      .data = "y",
			      .size = 1 };
	strcpy(op.name, "g");
	assert_int_equal(apply_at(st, &op, T1), 0);
	assert_times(at(st, "g"), 7, T1, 9);
	assert_times(st->tree.root, T1, T1, T0_NS); /* the directory gets the op's time */
	/* ... and when the name existed meanwhile, the content replaces the old with those times */
	op.atime_ns = 11;
	assert_int_equal(apply_at(st, &op, T2), 0);
	assert_times(at(st, "g"), 7, T2, 11);
}

static void test_subdirectory_count(void **ctx)
{
	struct cfs_state *st = *ctx;

	assert_int_equal(named_at(st, CFS_OP_MKDIR, "d", T0_NS), 0);
	assert_int_equal(at(st, "d")->nsubdirs, 0);
	assert_int_equal(named_at(st, CFS_OP_MKDIR, "d/x", T0_NS), 0);
	assert_int_equal(named_at(st, CFS_OP_MKDIR, "d/y", T0_NS), 0);
	assert_int_equal(named_at(st, CFS_OP_CREATE, "d/f", T0_NS), 0);
	assert_int_equal(at(st, "d")->nsubdirs, 2);
	assert_int_equal(at(st, "d")->nchildren, 3);
	assert_int_equal(rename_at(st, "d/x", "x", T0_NS), 0);
	assert_int_equal(at(st, "d")->nsubdirs, 1);
	assert_int_equal(st->tree.root->nsubdirs, 2);
	/* a directory renamed over an empty one: one goes, one comes */
	assert_int_equal(rename_at(st, "x", "d/y", T0_NS), 0);
	assert_int_equal(at(st, "d")->nsubdirs, 1);
	assert_int_equal(st->tree.root->nsubdirs, 1);
	assert_int_equal(named_at(st, CFS_OP_RMDIR, "d/y", T0_NS), 0);
	assert_int_equal(at(st, "d")->nsubdirs, 0);
}

/*
 * The digest of an entry with whole-second times and ctime = atime = mtime
 * is what it was before times had nanoseconds: databases of schema 1 keep
 * their stored digest valid.
 */
static void test_digest_compatible(void **ctx)
{
	struct cfs_state *st = *ctx;
	struct cfs_entry *e;
	uint64_t h;

	assert_int_equal(named_at(st, CFS_OP_MKDIR, "d", T0_NS), 0);
	assert_int_equal(named_at(st, CFS_OP_CREATE, "d/f", T0_NS), 0);
	e = at(st, "d/f");
	/* the formula of schema 1, seconds only */
	h = hash_mix64(e->inode);
	h = hash_add64(h, e->version);
	h = hash_add64(h, e->parent->inode);
	h = hash_add64(h, e->type);
	h = hash_add64(h, 0);
	h = hash_add64(h, e->content_hash);
	h = hash_add64(h, (uint64_t)T0);
	h = hash_add64(h, e->writer);
	h = hash_str(h, e->name);
	assert_true(cfs_entry_digest(e) == h);
	/* and every part of the new times counts */
	e->times.mtime++;
	assert_false(cfs_entry_digest(e) == h);
	e->times.mtime--;
	e->times.ctime++;
	assert_false(cfs_entry_digest(e) == h);
	e->times.ctime--;
	e->times.atime++;
	assert_false(cfs_entry_digest(e) == h);
	e->times.atime--;
	assert_true(cfs_entry_digest(e) == h);
}

/* Encode an op as version 2 did: times in seconds, an MTIME's time in `arg`. */
static void encode_v2(struct buf *b, uint8_t kind, int64_t time_s, uint64_t ino, uint64_t arg,
		      const char *name, uint32_t flags, const char *data)
{
	struct wire_writer w;

	wire_writer_init(&w, b);
	wire_put_u8(&w, 2);
	wire_put_u8(&w, kind);
	wire_put_u32(&w, flags);
	wire_put_u32(&w, 0);
	wire_put_u64(&w, (uint64_t)time_s);
	wire_put_u64(&w, ino);
	wire_put_u64(&w, 0);
	wire_put_u64(&w, arg);
	wire_put_str(&w, name);
	wire_put_str(&w, "");
	wire_put_blob(&w, data, data ? strlen(data) : 0);
	assert_int_equal(w.error, 0);
}

static void test_decode_v2(void **ctx)
{
	struct buf b = BUF_INIT;
	struct cfs_op op;

	(void)ctx;
	encode_v2(&b, CFS_OP_MTIME, T0, 5, 1600000000, "", 0, NULL);
	assert_int_equal(cfs_op_decode(b.data, b.len, &op), 0);
	assert_true(op.time_ns == T0_NS);
	assert_int_equal(op.flags, CFS_OP_SET_MTIME);
	assert_true(op.mtime_ns == 1600000000 * SEC_NS);
	assert_int_equal(op.arg, 0);
	b.len = 0;
	encode_v2(&b, CFS_OP_CREATE, -3, 1, 0, "f", CFS_CREATE_DATA, "abc");
	assert_int_equal(cfs_op_decode(b.data, b.len, &op), 0);
	assert_true(op.time_ns == -3 * SEC_NS);
	assert_int_equal(op.flags, CFS_CREATE_DATA);
	assert_int_equal(op.size, 3);
	/* version 2 had no time flags */
	b.len = 0;
	encode_v2(&b, CFS_OP_MTIME, T0, 5, 0, "", CFS_OP_SET_MTIME, NULL);
	assert_int_equal(cfs_op_decode(b.data, b.len, &op), -EBADMSG);
	buf_free(&b);
}

/* Version 3 round trip: the time fields are there exactly when flagged. */
static void test_codec_times(void **ctx)
{
	struct cfs_op op = { .kind = CFS_OP_MTIME,
			     .flags = CFS_OP_SET_ATIME,
			     .time_ns = T1,
			     .ino = 9,
			     .atime_ns = -1 };
	struct buf b = BUF_INIT;
	struct cfs_op out;
	size_t without;

	(void)ctx;
	assert_int_equal(cfs_op_encode(&op, &b), 0);
	assert_int_equal(b.len, cfs_op_encoded_size(&op));
	assert_int_equal(cfs_op_decode(b.data, b.len, &out), 0);
	assert_true(out.time_ns == T1);
	assert_true(out.atime_ns == -1);
	assert_true(out.mtime_ns == 0);
	/* a flag without its field: the op is short of 8 bytes */
	b.data[2] |= CFS_OP_SET_MTIME;
	assert_int_equal(cfs_op_decode(b.data, b.len, &out), -EBADMSG);
	without = b.len;
	op.flags |= CFS_OP_SET_MTIME;
	op.mtime_ns = T2;
	b.len = 0;
	assert_int_equal(cfs_op_encode(&op, &b), 0);
	assert_int_equal(b.len, without + 8);
	assert_int_equal(cfs_op_decode(b.data, b.len, &out), 0);
	assert_true(out.mtime_ns == T2 && out.atime_ns == -1);
	buf_free(&b);
}

/* --- the upgrade of a database and journal written before times had nanoseconds --- */

static void p_named(struct cfs_persist *p, uint8_t kind, const char *path)
{
	struct cfs_op op = { .kind = kind, .time_ns = T0_NS };

	split(&p->state, path, &op.ino, op.name);
	assert_int_equal(cfs_persist_apply(p, &op, NULL), 0);
	assert_int_equal(cfs_persist_commit(p), 0);
}

/* Append version-2 ops to the journal, as a node that stopped before the upgrade left it. */
static void write_v2_journal(struct db_dir *f, uint64_t db_id, uint64_t base, uint64_t ino_d,
			     uint64_t ino_f)
{
	struct cfs_journal *j;
	struct buf op = BUF_INIT, batch = BUF_INIT;

	assert_int_equal(cfs_journal_open(f->journal, &j), 0);
	assert_int_equal(cfs_journal_reset(j, db_id, base), 0);
	encode_v2(&op, CFS_OP_MTIME, T0 + 5, ino_f, 1600000000, "", 0, NULL);
	assert_int_equal(cfs_journal_frame(&batch, base + 1, 0, op.data, op.len), 0);
	op.len = 0;
	encode_v2(&op, CFS_OP_CREATE, T0 + 6, ino_d, 0, "new", CFS_CREATE_DATA, "n\n");
	assert_int_equal(cfs_journal_frame(&batch, base + 2, 0, op.data, op.len), 0);
	assert_int_equal(cfs_journal_write(j, batch.data, batch.len), 0);
	assert_int_equal(cfs_journal_sync(j), 0);
	cfs_journal_close(j);
	buf_free(&op);
	buf_free(&batch);
}

static void test_schema_1_upgrade(void **ctx)
{
	struct db_dir *f = *ctx;
	struct cfs_persist *p = db_open(f);
	uint64_t version, ino_d, ino_f, db_id;
	struct cfs_digest digest;

	/* a tree whose times are all one whole second: what schema 1 could hold */
	p_named(p, CFS_OP_MKDIR, "d");
	p_named(p, CFS_OP_CREATE, "d/f");
	p_named(p, CFS_OP_MKDIR, "d/sub");
	version = p->state.tree.version;
	digest = p->state.tree.digest;
	ino_d = ino_of(&p->state, "d");
	ino_f = ino_of(&p->state, "d/f");
	assert_int_equal(cfs_persist_close(p), 0);
	/* make it schema 1, as the version before wrote it */
	sql(f->db, "ALTER TABLE entry DROP COLUMN mtime_nsec; ALTER TABLE entry DROP COLUMN ctime;"
		   "ALTER TABLE entry DROP COLUMN ctime_nsec; ALTER TABLE entry DROP COLUMN atime;"
		   "ALTER TABLE entry DROP COLUMN atime_nsec;"
		   "UPDATE meta SET value = 1 WHERE key = 'schema'");
	db_id = (uint64_t)sql_int(f->db, "SELECT value FROM meta WHERE key = 'db_id'");
	write_v2_journal(f, db_id, version, ino_d, ino_f);

	p = db_open(f);
	assert_null(p->recovered_from); /* the stored digest checked the migrated tree */
	assert_int_equal(sql_int(f->db, "SELECT value FROM meta WHERE key = 'schema'"), 2);
	assert_int_equal(p->state.tree.version, version + 2);
	/* the old ops mean what they meant, in nanoseconds now */
	assert_times(at(&p->state, "d/f"), 1600000000 * SEC_NS, (T0 + 5) * SEC_NS, T0_NS);
	assert_times(at(&p->state, "d/new"), (T0 + 6) * SEC_NS, (T0 + 6) * SEC_NS,
		     (T0 + 6) * SEC_NS);
	assert_times(at(&p->state, "d"), (T0 + 6) * SEC_NS, (T0 + 6) * SEC_NS, T0_NS);
	assert_string_equal(content(&p->state, "d/new"), "n\n");
	/* what was in the database is unchanged, with its digest */
	assert_times(at(&p->state, "d/sub"), T0_NS, T0_NS, T0_NS);
	assert_false(p->state.tree.digest.sum == digest.sum); /* the journal changed it */
	assert_int_equal(cfs_persist_close(p), 0);

	/* times with nanoseconds are stored from now on */
	p = db_open(f);
	{
		struct cfs_op op = { .kind = CFS_OP_MTIME,
				     .flags = CFS_OP_SET_MTIME | CFS_OP_SET_ATIME,
				     .time_ns = T3,
				     .ino = ino_f,
				     .mtime_ns = T1,
				     .atime_ns = -T2 };

		assert_int_equal(cfs_persist_apply(p, &op, NULL), 0);
		assert_int_equal(cfs_persist_commit(p), 0);
	}
	assert_int_equal(cfs_persist_flush_all(p), 0);
	digest = p->state.tree.digest;
	assert_int_equal(cfs_persist_close(p), 0);
	p = db_open(f);
	assert_null(p->recovered_from);
	assert_times(at(&p->state, "d/f"), T1, T3, -T2);
	assert_true(p->state.tree.digest.sum == digest.sum);
	assert_true(p->state.tree.digest.xor == digest.xor);
	assert_int_equal(cfs_persist_close(p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_directory_times, state_setup, state_teardown),
		cmocka_unit_test_setup_teardown(test_unlock_touches_lock_area, state_setup,
						state_teardown),
		cmocka_unit_test_setup_teardown(test_file_times, state_setup, state_teardown),
		cmocka_unit_test_setup_teardown(test_subdirectory_count, state_setup,
						state_teardown),
		cmocka_unit_test_setup_teardown(test_digest_compatible, state_setup,
						state_teardown),
		cmocka_unit_test(test_decode_v2),
		cmocka_unit_test(test_codec_times),
		cmocka_unit_test_setup_teardown(test_schema_1_upgrade, db_dir_setup,
						db_dir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
