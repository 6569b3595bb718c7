/* SPDX-License-Identifier: MIT */
/* The state machine: every operation, every error path, limits, guests, locks, digest. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"

#include "droverfs/core/layout.h"
#include "basic/util.h"

static void test_create_and_versions(void **ctx)
{
	struct cfs_state *st = *ctx;
	struct cfs_entry *e;

	assert_int_equal(st->tree.version, 1);
	assert_int_equal(do_mkdir(st, "nodes"), 0);
	assert_int_equal(st->tree.version, 2);
	e = at(st, "nodes");
	assert_non_null(e);
	assert_int_equal(e->inode, 2); /* a new inode is the version that made it */
	assert_int_equal(e->type, CFS_DIR);
	assert_int_equal(do_create(st, "nodes/a.cfg"), 0);
	e = at(st, "nodes/a.cfg");
	assert_int_equal(e->inode, 3);
	assert_int_equal(e->version, 3);
	assert_int_equal(e->times.mtime, T0_NS);
	assert_int_equal(st->tree.nentries, 3);
	assert_int_equal(st->tree.nbytes, 0);
}

static void test_create_errors(void **ctx)
{
	struct cfs_state *st = *ctx;
	char longname[300];
	uint64_t v;

	assert_int_equal(do_create(st, "f"), 0);
	v = st->tree.version;
	assert_int_equal(do_create(st, "f"), -EEXIST);
	assert_int_equal(do_mkdir(st, "f"), -EEXIST);
	assert_int_equal(do_create(st, "missing/x"), -ENOENT);
	assert_int_equal(do_create(st, "f/x"), -ENOTDIR);
	assert_int_equal(do_mkdir(st, ".."), -EINVAL);
	assert_int_equal(do_create(st, "."), -EINVAL);
	/* names of virtual entries in the root are taken */
	assert_int_equal(do_create(st, ".members"), -EEXIST);
	assert_int_equal(do_mkdir(st, "local"), -EEXIST);
	memset(longname, 'x', 256);
	longname[256] = '\0';
	assert_int_equal(do_create(st, longname), -ENAMETOOLONG);
	longname[255] = '\0';
	assert_int_equal(do_create(st, longname), 0);
	/* failures change nothing */
	assert_int_equal(st->tree.version, v + 1);
}

static void test_write_modes(void **ctx)
{
	struct cfs_state *st = *ctx;
	struct cfs_entry *e;

	assert_int_equal(do_put(st, "f", "hello"), 0);
	assert_string_equal(content(st, "f"), "hello");
	assert_int_equal(do_write_at(st, "f", 0, " world", CFS_WRITE_APPEND), 0);
	assert_string_equal(content(st, "f"), "hello world");
	assert_int_equal(do_write_at(st, "f", 0, "J", 0), 0);
	assert_string_equal(content(st, "f"), "Jello world");
	/* a write past the end fills the gap with zeros */
	assert_int_equal(do_write_at(st, "f", 13, "!", 0), 0);
	e = at(st, "f");
	assert_int_equal(cfs_blob_size(e->data), 14);
	assert_int_equal(e->data->data[11], 0);
	assert_int_equal(e->data->data[12], 0);
	assert_int_equal(e->data->data[13], '!');
	assert_int_equal(st->tree.nbytes, 14);
	assert_int_equal(e->content_version, e->version);
	assert_int_equal(do_write(st, "f", ""), 0);
	assert_null(at(st, "f")->data);
	assert_int_equal(st->tree.nbytes, 0);
}

static void test_write_errors(void **ctx)
{
	struct cfs_state *st = *ctx;
	struct cfs_op op = { .kind = CFS_OP_WRITE, .flags = CFS_WRITE_REPLACE };

	assert_int_equal(do_mkdir(st, "d"), 0);
	assert_int_equal(do_write(st, "d", "x"), -EISDIR);
	op.ino = 424242;
	assert_int_equal(cfs_state_apply(st, &op, NULL), -ENOENT);
	assert_int_equal(do_create(st, "f"), 0);
	op.ino = ino_of(st, "f");
	op.flags |= CFS_WRITE_APPEND;
	assert_int_equal(cfs_state_apply(st, &op, NULL), -EINVAL);
}

static void test_truncate(void **ctx)
{
	struct cfs_state *st = *ctx;
	struct cfs_op op = { .kind = CFS_OP_TRUNCATE };

	assert_int_equal(do_put(st, "f", "abcdef"), 0);
	op.ino = ino_of(st, "f");
	op.arg = 3;
	assert_int_equal(cfs_state_apply(st, &op, NULL), 0);
	assert_string_equal(content(st, "f"), "abc");
	op.arg = 5;
	assert_int_equal(cfs_state_apply(st, &op, NULL), 0);
	assert_int_equal(cfs_blob_size(at(st, "f")->data), 5);
	assert_int_equal(at(st, "f")->data->data[4], 0);
	op.arg = 0;
	assert_int_equal(cfs_state_apply(st, &op, NULL), 0);
	assert_int_equal(st->tree.nbytes, 0);
	op.ino = ino_of(st, "");
	assert_int_equal(cfs_state_apply(st, &op, NULL), -EISDIR);
}

static void test_limits(void **ctx)
{
	struct cfs_state *st = *ctx;
	struct cfs_op op = { .kind = CFS_OP_TRUNCATE };
	char *big;

	st->limits.max_file_size = 10;
	st->limits.max_total_bytes = 15;
	st->limits.max_entries = 4;
	assert_int_equal(do_put(st, "a", "0123456789"), 0);
	assert_int_equal(do_write(st, "a", "0123456789X"), -EFBIG);
	assert_int_equal(cfs_state_check_size(st, ino_of(st, "a"), 11), -EFBIG);
	op.ino = ino_of(st, "a");
	op.arg = 11;
	assert_int_equal(cfs_state_apply(st, &op, NULL), -EFBIG);
	assert_int_equal(do_put(st, "b", "01234"), 0);
	assert_int_equal(do_write_at(st, "b", 0, "5", CFS_WRITE_APPEND), -ENOSPC);
	assert_int_equal(cfs_state_check_size(st, ino_of(st, "b"), 6), -ENOSPC);
	assert_int_equal(cfs_state_check_size(st, ino_of(st, "b"), 5), 0);
	/* shrinking is always allowed */
	assert_int_equal(do_write(st, "b", "0"), 0);
	assert_int_equal(do_mkdir(st, "c"), 0); /* root, a, b, c */
	assert_int_equal(do_create(st, "d"), -ENOSPC);
	assert_int_equal(do_mkdir(st, "d"), -ENOSPC);
	assert_int_equal(do_rmdir(st, "c"), 0);
	assert_int_equal(do_create(st, "d"), 0);
	/* a write whose data alone is over the limit is refused before copying */
	big = calloc(1, 100);
	memset(big, 'x', 99);
	assert_int_equal(do_write(st, "d", big), -EFBIG);
	free(big);
	assert_string_equal(content(st, "a"), "0123456789");
}

static void test_unlink_rmdir(void **ctx)
{
	struct cfs_state *st = *ctx;
	uint64_t ino;

	assert_int_equal(do_mkdir(st, "d"), 0);
	assert_int_equal(do_put(st, "d/f", "x"), 0);
	ino = ino_of(st, "d/f");
	assert_int_equal(do_unlink(st, "d"), -EISDIR);
	assert_int_equal(do_rmdir(st, "d/f"), -ENOTDIR);
	assert_int_equal(do_rmdir(st, "d"), -ENOTEMPTY);
	assert_int_equal(do_unlink(st, "d/nope"), -ENOENT);
	assert_int_equal(do_unlink(st, "d/f"), 0);
	assert_null(at(st, "d/f"));
	assert_null(cfs_tree_lookup(&st->tree, ino));
	assert_int_equal(st->nremoved, 1);
	assert_int_equal(st->removed[0].inode, ino);
	assert_int_equal(st->removed[0].version, st->tree.version);
	assert_int_equal(st->tree.nbytes, 0);
	assert_int_equal(do_rmdir(st, "d"), 0);
	assert_int_equal(st->tree.nentries, 1);
}

static void test_rename(void **ctx)
{
	struct cfs_state *st = *ctx;
	uint64_t src, old, v;

	assert_int_equal(do_put(st, "x", "old"), 0);
	assert_int_equal(do_put(st, "x.tmp.123", "new"), 0);
	src = ino_of(st, "x.tmp.123");
	old = ino_of(st, "x");
	/* the Proxmox save pattern: rename the temporary file over the target */
	assert_int_equal(do_rename(st, "x.tmp.123", "x"), 0);
	assert_string_equal(content(st, "x"), "new");
	assert_int_equal(ino_of(st, "x"), src);
	assert_null(at(st, "x.tmp.123"));
	assert_null(cfs_tree_lookup(&st->tree, old));
	assert_int_equal(st->tree.nbytes, 3);
	assert_int_equal(at(st, "x")->times.mtime, T0_NS + SEC_NS); /* rename keeps the mtime */
	/* onto itself: nothing happens, not even a version */
	v = st->tree.version;
	assert_int_equal(do_rename(st, "x", "x"), 0);
	assert_int_equal(st->tree.version, v);
	assert_int_equal(do_rename_flags(st, "x", "x", CFS_RENAME_NOREPLACE), -EEXIST);

	assert_int_equal(do_put(st, "y", "y"), 0);
	assert_int_equal(do_rename_flags(st, "y", "x", CFS_RENAME_NOREPLACE), -EEXIST);
	assert_int_equal(do_mkdir(st, "d"), 0);
	assert_int_equal(do_mkdir(st, "e"), 0);
	assert_int_equal(do_put(st, "e/in", "1"), 0);
	assert_int_equal(do_rename(st, "d", "x"), -ENOTDIR);
	assert_int_equal(do_rename(st, "x", "d"), -EISDIR);
	assert_int_equal(do_rename(st, "d", "e"), -ENOTEMPTY);
	assert_int_equal(do_rename(st, "e", "e/sub"), -EINVAL);
	assert_int_equal(do_rename(st, "nope", "z"), -ENOENT);
	assert_int_equal(do_rename(st, "x", "nodir/z"), -ENOENT);
	assert_int_equal(do_rename(st, "x", ".vmlist"), -EACCES);
	/* an empty directory can be replaced; a full one moves with its content */
	assert_int_equal(do_rename(st, "e", "d"), 0);
	assert_string_equal(content(st, "d/in"), "1");
	assert_null(at(st, "e"));
}

static void test_rename_records_paths(void **ctx)
{
	struct cfs_state *st = *ctx;
	struct cfs_change *c;

	assert_int_equal(do_mkdir(st, "a"), 0);
	assert_int_equal(do_put(st, "a/f", "1"), 0);
	assert_int_equal(do_put(st, "g", "2"), 0);
	st->record_changes = true;
	assert_int_equal(do_rename(st, "a/f", "g"), 0);
	assert_int_equal(st->nchanges, 1);
	c = &st->changes[0];
	assert_int_equal(c->kind, CFS_OP_RENAME);
	assert_string_equal(c->path, "g");
	assert_string_equal(c->old_path, "a/f");
	assert_int_equal(c->old_parent, ino_of(st, "a"));
	assert_int_equal(c->parent, CFS_ROOT_INODE);
	assert_true(c->replaced != 0);
	assert_int_equal(c->version, st->tree.version);
	assert_int_equal(do_unlink(st, "g"), 0);
	assert_int_equal(st->nchanges, 2);
	assert_string_equal(st->changes[1].path, "g");
	cfs_state_clear_changes(st);
	assert_int_equal(st->nchanges, 0);
}

static void make_guest_dirs(struct cfs_state *st)
{
	const char *dirs[] = { "nodes",	       "nodes/n1",	"nodes/n1/qemu-server",
			       "nodes/n1/lxc", "nodes/n2",	"nodes/n2/qemu-server",
			       "nodes/n2/lxc", "nodes/n2/stash" };

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		assert_int_equal(do_mkdir(st, dirs[i]), 0);
}

static void test_vmid_rules(void **ctx)
{
	struct cfs_state *st = *ctx;
	struct cfs_vmlist_guest *g;

	make_guest_dirs(st);
	assert_int_equal(do_put(st, "nodes/n1/qemu-server/100.conf", "memory: 512\n"), 0);
	g = cfs_vmlist_get(&st->vmlist, 100);
	assert_non_null(g);
	assert_string_equal(g->nodename, "n1");
	assert_int_equal(g->type, GUEST_QEMU);
	assert_int_equal(g->version, st->tree.version);

	/* the VMID exists elsewhere: refused on any node, as any type */
	assert_int_equal(do_create(st, "nodes/n2/qemu-server/100.conf"), -EEXIST);
	assert_int_equal(do_create(st, "nodes/n2/lxc/100.conf"), -EEXIST);
	assert_int_equal(do_create(st, "nodes/n1/lxc/100.conf"), -EEXIST);
	/* not a guest config name: an ordinary file */
	assert_int_equal(do_create(st, "nodes/n2/qemu-server/0100.conf"), 0);
	assert_int_equal(do_create(st, "nodes/n2/qemu-server/100.conf.tmp.1"), 0);
	assert_null(cfs_vmlist_get(&st->vmlist, 0));
	/* ... and renaming it into a taken VMID is refused */
	assert_int_equal(do_rename(st, "nodes/n2/qemu-server/100.conf.tmp.1",
				   "nodes/n2/qemu-server/100.conf"),
			 -EEXIST);
	/* saving the config in place (temp file renamed over it) is fine */
	assert_int_equal(do_put(st, "nodes/n1/qemu-server/100.conf.tmp.2", "memory: 1024\n"), 0);
	assert_int_equal(do_rename(st, "nodes/n1/qemu-server/100.conf.tmp.2",
				   "nodes/n1/qemu-server/100.conf"),
			 0);
	g = cfs_vmlist_get(&st->vmlist, 100);
	assert_int_equal(g->inode, ino_of(st, "nodes/n1/qemu-server/100.conf"));
	/* moving the guest to another node (recovery from a dead node) is allowed */
	assert_int_equal(
		do_rename(st, "nodes/n1/qemu-server/100.conf", "nodes/n2/qemu-server/100.conf"), 0);
	g = cfs_vmlist_get(&st->vmlist, 100);
	assert_string_equal(g->nodename, "n2");
	/* writing bumps the guest's version */
	assert_int_equal(do_write(st, "nodes/n2/qemu-server/100.conf", "memory: 2048\n"), 0);
	assert_int_equal(cfs_vmlist_get(&st->vmlist, 100)->version, st->tree.version);
	/* moving it out of the guest place unregisters it */
	assert_int_equal(do_rename(st, "nodes/n2/qemu-server/100.conf", "nodes/n2/stash/100.conf"),
			 0);
	assert_null(cfs_vmlist_get(&st->vmlist, 100));
	assert_int_equal(do_put(st, "nodes/n1/lxc/100.conf", "arch: amd64\n"), 0);
	assert_int_equal(cfs_vmlist_get(&st->vmlist, 100)->type, GUEST_LXC);
	assert_int_equal(do_unlink(st, "nodes/n1/lxc/100.conf"), 0);
	assert_null(cfs_vmlist_get(&st->vmlist, 100));
}

static void test_vmid_directory_moves(void **ctx)
{
	struct cfs_state *st = *ctx;

	make_guest_dirs(st);
	assert_int_equal(do_put(st, "nodes/n1/qemu-server/100.conf", "a"), 0);
	/* a directory full of configs that would clash when it becomes a guest directory */
	assert_int_equal(do_put(st, "nodes/n2/stash/100.conf", "b"), 0);
	assert_int_equal(do_put(st, "nodes/n2/stash/101.conf", "c"), 0);
	assert_int_equal(do_rmdir(st, "nodes/n2/lxc"), 0);
	assert_int_equal(do_rename(st, "nodes/n2/stash", "nodes/n2/lxc"), -EEXIST);
	assert_int_equal(do_unlink(st, "nodes/n2/stash/100.conf"), 0);
	assert_int_equal(do_rename(st, "nodes/n2/stash", "nodes/n2/lxc"), 0);
	assert_non_null(cfs_vmlist_get(&st->vmlist, 101));
	assert_string_equal(cfs_vmlist_get(&st->vmlist, 101)->nodename, "n2");
	/* renaming a node's directory moves its guests */
	assert_int_equal(do_rename(st, "nodes/n1", "nodes/n3"), 0);
	assert_string_equal(cfs_vmlist_get(&st->vmlist, 100)->nodename, "n3");
	/* node names follow the host name rules; others hold no guests */
	assert_int_equal(do_mkdir(st, "nodes/-bad"), 0);
	assert_int_equal(do_mkdir(st, "nodes/-bad/qemu-server"), 0);
	assert_int_equal(do_create(st, "nodes/-bad/qemu-server/100.conf"), 0);
}

/* A guest config name is a file's: no directory is made or moved there. */
static void test_guest_names_are_files(void **ctx)
{
	struct cfs_state *st = *ctx;
	uint64_t v;

	make_guest_dirs(st);
	assert_int_equal(do_put(st, "nodes/n1/qemu-server/100.conf", "a"), 0);
	v = st->tree.version;
	assert_int_equal(do_mkdir(st, "nodes/n2/qemu-server/100.conf"), -EINVAL);
	assert_int_equal(do_mkdir(st, "nodes/n2/qemu-server/101.conf"), -EINVAL);
	assert_int_equal(do_mkdir(st, "nodes/n1/lxc/102.conf"), -EINVAL);
	assert_int_equal(do_mkdir(st, "nodes/n1/qemu-server/100.conf"), -EEXIST);
	assert_int_equal(st->tree.version, v);
	/* not guest config names: ordinary directories */
	assert_int_equal(do_mkdir(st, "nodes/n2/qemu-server/0100.conf"), 0);
	assert_int_equal(do_mkdir(st, "nodes/n2/qemu-server/snapshots"), 0);
	/* nor renamed there, alone or inside a directory that moves */
	assert_int_equal(
		do_rename(st, "nodes/n2/qemu-server/snapshots", "nodes/n2/qemu-server/103.conf"),
		-EINVAL);
	assert_int_equal(do_mkdir(st, "stash"), 0);
	assert_int_equal(do_mkdir(st, "stash/qemu-server"), 0);
	assert_int_equal(do_mkdir(st, "stash/qemu-server/104.conf"), 0);
	assert_int_equal(do_rename(st, "stash", "nodes/n3"), -EINVAL);
	assert_int_equal(do_rmdir(st, "stash/qemu-server/104.conf"), 0);
	assert_int_equal(do_rename(st, "stash", "nodes/n3"), 0);
	/* the guest itself still moves between nodes */
	assert_int_equal(
		do_rename(st, "nodes/n1/qemu-server/100.conf", "nodes/n3/qemu-server/100.conf"), 0);
	assert_string_equal(cfs_vmlist_get(&st->vmlist, 100)->nodename, "n3");
}

static void test_locks(void **ctx)
{
	struct cfs_state *st = *ctx;
	struct cfs_op op = { .kind = CFS_OP_MTIME, .flags = CFS_OP_SET_MTIME, .time_ns = T0_NS };
	struct cfs_entry *lock;

	assert_int_equal(do_mkdir(st, "priv"), 0);
	assert_int_equal(do_mkdir(st, "priv/lock"), 0);
	assert_int_equal(op_named(st, CFS_OP_MKDIR, "priv/lock/file-storage_cfg", 7), 0);
	assert_int_equal(op_named(st, CFS_OP_MKDIR, "priv/lock/file-storage_cfg", 8), -EEXIST);
	lock = at(st, "priv/lock/file-storage_cfg");
	assert_true(layout_is_lock_dir(lock));
	assert_true(layout_is_private(lock));
	/* locks cannot be renamed, nor anything into or above them */
	assert_int_equal(do_rename(st, "priv/lock/file-storage_cfg", "priv/lock/other"), -EACCES);
	assert_int_equal(do_rename(st, "priv/lock/file-storage_cfg", "stolen"), -EACCES);
	assert_int_equal(do_mkdir(st, "elsewhere"), 0);
	assert_int_equal(do_rename(st, "elsewhere", "priv/lock/elsewhere"), -EACCES);
	assert_int_equal(do_rename(st, "priv", "private"), -EACCES);
	assert_int_equal(do_rename(st, "priv/lock", "priv/locks"), -EACCES);
	/* a lock holds nothing, so its release never fails for what is in it */
	assert_int_equal(do_create(st, "priv/lock/file-storage_cfg/f"), -EACCES);
	assert_int_equal(do_mkdir(st, "priv/lock/file-storage_cfg/d"), -EACCES);
	assert_int_equal(
		cfs_state_check_new_file(st, ino_of(st, "priv/lock/file-storage_cfg"), "f", 0),
		-EACCES);
	assert_null(lock->children);
	/* (files beside the locks are allowed, as before) */
	assert_int_equal(cfs_state_check_new_file(st, ino_of(st, "priv/lock"), "f", 0), 0);
	/* refresh: only the holder, only forward in time */
	op.ino = lock->inode;
	op.writer = 7;
	op.mtime_ns = T0_NS + 10;
	assert_int_equal(cfs_state_apply(st, &op, NULL), 0);
	assert_int_equal(lock->times.mtime, T0_NS + 10);
	op.mtime_ns = T0_NS + 5;
	assert_int_equal(cfs_state_apply(st, &op, NULL), -EACCES);
	/* setting only the atime is no refresh */
	op.flags = CFS_OP_SET_ATIME;
	op.atime_ns = T0_NS + 30;
	assert_int_equal(cfs_state_apply(st, &op, NULL), -EACCES);
	op.flags = CFS_OP_SET_MTIME;
	op.mtime_ns = T0_NS + 20;
	op.writer = 8;
	assert_int_equal(cfs_state_apply(st, &op, NULL), -EACCES);
	/* release: only if unchanged since the decision */
	op = (struct cfs_op){ .kind = CFS_OP_UNLOCK, .ino = lock->inode, .arg = lock->version - 1 };
	assert_int_equal(cfs_state_apply(st, &op, NULL), -ESTALE);
	op.arg = lock->version;
	assert_int_equal(cfs_state_apply(st, &op, NULL), 0);
	assert_null(at(st, "priv/lock/file-storage_cfg"));
	op.ino = ino_of(st, "elsewhere");
	op.arg = at(st, "elsewhere")->version;
	assert_int_equal(cfs_state_apply(st, &op, NULL), -EINVAL);
	/* other directories' mtime can be set freely */
	op = (struct cfs_op){ .kind = CFS_OP_MTIME,
			      .flags = CFS_OP_SET_MTIME,
			      .ino = ino_of(st, "elsewhere"),
			      .mtime_ns = 5 };
	assert_int_equal(cfs_state_apply(st, &op, NULL), 0);
	assert_int_equal(at(st, "elsewhere")->times.mtime, 5);
}

static void test_private_paths(void **ctx)
{
	struct cfs_state *st = *ctx;

	make_guest_dirs(st);
	assert_int_equal(do_mkdir(st, "priv"), 0);
	assert_int_equal(do_mkdir(st, "nodes/n1/priv"), 0);
	assert_int_equal(do_mkdir(st, "nodes/n1/priv/deep"), 0);
	assert_int_equal(do_mkdir(st, "other"), 0);
	assert_int_equal(do_mkdir(st, "other/priv"), 0);
	assert_true(layout_is_private(at(st, "priv")));
	assert_true(layout_is_private(at(st, "nodes/n1/priv/deep")));
	assert_false(layout_is_private(at(st, "nodes/n1")));
	assert_false(layout_is_private(at(st, "other/priv")));
	assert_false(layout_is_private(st->tree.root));
}

static struct cfs_digest digest_from_scratch(const struct cfs_state *st)
{
	struct cfs_digest d = { 0, 0 };
	struct cfs_tree_iter it;

	for (struct cfs_entry *e = cfs_tree_iter_first(&it, &st->tree); e;
	     e = cfs_tree_iter_next(&it)) {
		uint64_t h = cfs_entry_digest(e);

		d.sum += h;
		d.xor ^= h;
	}
	return d;
}

static void run_history(struct cfs_state *st)
{
	assert_int_equal(do_mkdir(st, "d"), 0);
	assert_int_equal(do_put(st, "d/a", "1"), 0);
	assert_int_equal(do_put(st, "d/b", "22"), 0);
	assert_int_equal(do_rename(st, "d/a", "d/b"), 0);
	assert_int_equal(do_mkdir(st, "e"), 0);
	assert_int_equal(do_rename(st, "d", "e/d"), 0);
	assert_int_equal(do_write_at(st, "e/d/b", 0, "x", CFS_WRITE_APPEND), 0);
}

static void test_digest(void **ctx)
{
	struct cfs_state *st = *ctx, other;
	struct cfs_digest d;

	run_history(st);
	d = digest_from_scratch(st);
	/* kept incrementally, equal to the digest computed from scratch */
	assert_true(d.sum == st->tree.digest.sum && d.xor == st->tree.digest.xor);
	/* the same operations give the same digest on another node */
	init_state(&other);
	run_history(&other);
	assert_true(other.tree.digest.sum == st->tree.digest.sum);
	assert_true(other.tree.digest.xor == st->tree.digest.xor);
	/* any further change shows */
	assert_int_equal(do_write(&other, "e/d/b", "y"), 0);
	assert_false(other.tree.digest.sum == st->tree.digest.sum);
	cfs_state_destroy(&other);
}

static int do_create_data(struct cfs_state *st, const char *path, const char *data, uint32_t flags)
{
	struct cfs_op op = { .kind = CFS_OP_CREATE, .time_ns = T0_NS + 2 * SEC_NS, .writer = 7 };

	split(st, path, &op.ino, op.name);
	op.flags = CFS_CREATE_DATA | flags;
	op.data = data;
	op.size = strlen(data);
	return cfs_state_apply(st, &op, NULL);
}

/* CREATE with data: create, write and close as one operation, one version. */
static void test_create_with_data(void **ctx)
{
	struct cfs_state *st = *ctx;
	struct cfs_entry *e;
	uint64_t v;

	assert_int_equal(do_mkdir(st, "d"), 0);
	v = st->tree.version;
	assert_int_equal(do_create_data(st, "d/f", "hello", CFS_CREATE_EXCL), 0);
	e = at(st, "d/f");
	assert_non_null(e);
	assert_string_equal(content(st, "d/f"), "hello");
	assert_int_equal(st->tree.version, v + 1);
	assert_int_equal(e->version, v + 1);
	assert_int_equal(e->content_version, v + 1);
	assert_int_equal(e->inode, v + 1);
	assert_int_equal(e->writer, 7);
	assert_int_equal(st->tree.nbytes, 5);
	assert_true(st->tree.digest.sum == digest_from_scratch(st).sum);
	/* exists: EEXIST with O_EXCL, else the content is replaced (O_TRUNC) */
	assert_int_equal(do_create_data(st, "d/f", "other", CFS_CREATE_EXCL), -EEXIST);
	assert_string_equal(content(st, "d/f"), "hello");
	assert_int_equal(do_create_data(st, "d/f", "again", 0), 0);
	assert_string_equal(content(st, "d/f"), "again");
	assert_int_equal(at(st, "d/f")->inode, e->inode);
	/* O_APPEND: appended to what another creator made meanwhile */
	assert_int_equal(do_create_data(st, "d/f", "+more", CFS_CREATE_APPEND), 0);
	assert_string_equal(content(st, "d/f"), "again+more");
	assert_int_equal(do_create_data(st, "d/g", "first", CFS_CREATE_APPEND), 0);
	assert_string_equal(content(st, "d/g"), "first");
	assert_int_equal(do_create_data(st, "d", "x", 0), -EISDIR);
	/* empty content */
	assert_int_equal(do_create_data(st, "d/empty", "", 0), 0);
	assert_null(at(st, "d/empty")->data);
	/* limits, checked before anything is made */
	st->limits.max_file_size = 4;
	v = st->tree.version;
	assert_int_equal(do_create_data(st, "d/big", "12345", 0), -EFBIG);
	st->limits.max_file_size = 100;
	st->limits.max_total_bytes = st->tree.nbytes + 3;
	assert_int_equal(do_create_data(st, "d/big", "1234", 0), -ENOSPC);
	st->limits.max_entries = st->tree.nentries;
	assert_int_equal(do_create_data(st, "d/big", "1", 0), -ENOSPC);
	assert_null(at(st, "d/big"));
	assert_int_equal(st->tree.version, v);
	assert_true(st->tree.digest.sum == digest_from_scratch(st).sum);
}

/* A guest config made in one operation: registered, VMID rules as for CREATE. */
static void test_create_with_data_guest(void **ctx)
{
	struct cfs_state *st = *ctx;

	make_guest_dirs(st);
	assert_int_equal(do_create_data(st, "nodes/n1/qemu-server/100.conf", "memory: 1\n", 0), 0);
	assert_non_null(cfs_vmlist_get(&st->vmlist, 100));
	assert_int_equal(cfs_vmlist_get(&st->vmlist, 100)->version, st->tree.version);
	assert_int_equal(do_create_data(st, "nodes/n2/lxc/100.conf", "arch: amd64\n", 0), -EEXIST);
	/* the same place again: its content is replaced */
	assert_int_equal(do_create_data(st, "nodes/n1/qemu-server/100.conf", "memory: 2\n", 0), 0);
	assert_string_equal(content(st, "nodes/n1/qemu-server/100.conf"), "memory: 2\n");
	assert_int_equal(cfs_vmlist_get(&st->vmlist, 100)->version, st->tree.version);
}

static void test_authoritative_marks(void **ctx)
{
	struct cfs_state *st = *ctx, other;

	assert_int_equal(do_mkdir(st, "alone"), 0);
	assert_int_equal(st->auth_version, 0);
	assert_int_equal(st->lineage, 0);
	st->authoritative = true;
	assert_int_equal(do_mkdir(st, "together"), 0);
	assert_int_equal(st->auth_version, st->tree.version);
	assert_true(st->lineage != 0);
	/* a failed op marks nothing */
	assert_int_equal(do_mkdir(st, "together"), -EEXIST);
	assert_int_equal(st->auth_version, st->tree.version);
	/* the same ops give the same lineage elsewhere */
	init_state(&other);
	assert_int_equal(do_mkdir(&other, "alone"), 0);
	other.authoritative = true;
	assert_int_equal(do_mkdir(&other, "together"), 0);
	assert_true(other.lineage == st->lineage);
	cfs_state_destroy(&other);
}

static void test_paths(void **ctx)
{
	struct cfs_state *st = *ctx;
	char buf[CFS_PATH_MAX];

	assert_int_equal(do_mkdir(st, "a"), 0);
	assert_int_equal(do_mkdir(st, "a/b"), 0);
	assert_int_equal(do_create(st, "a/b/c"), 0);
	assert_int_equal(cfs_entry_path(at(st, "a/b/c"), buf, sizeof(buf)), 5);
	assert_string_equal(buf, "a/b/c");
	assert_int_equal(cfs_entry_path(st->tree.root, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(cfs_entry_path(at(st, "a/b/c"), buf, 4), -ENAMETOOLONG);
	assert_ptr_equal(cfs_tree_resolve(&st->tree, "/a//b/"), at(st, "a/b"));
	assert_int_equal(cfs_entry_depth(at(st, "a/b/c")), 3);
}

static void test_guest_path_parsing(void **ctx)
{
	struct cfs_guest_ref ref;

	(void)ctx;
	assert_true(layout_guest_path("nodes/pve1/qemu-server/100.conf", &ref));
	assert_int_equal(ref.vmid, 100);
	assert_string_equal(ref.node, "pve1");
	assert_int_equal(ref.type, GUEST_QEMU);
	assert_true(layout_guest_path("nodes/a/lxc/4294967295.conf", &ref));
	assert_false(layout_guest_path("nodes/a/lxc/4294967296.conf", &ref));
	assert_false(layout_guest_path("nodes/a/lxc/0.conf", &ref));
	assert_false(layout_guest_path("nodes/a/lxc/100.conf.tmp", &ref));
	assert_false(layout_guest_path("nodes/a/openvz/100.conf", &ref));
	assert_false(layout_guest_path("nodes/a-/lxc/100.conf", &ref));
	assert_false(layout_guest_path("nodes/a/lxc/100.conf/x", &ref));
	assert_false(layout_guest_path("node/a/lxc/100.conf", &ref));
	assert_false(layout_guest_path("nodes/a/lxc", &ref));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_and_versions, state_setup,
						state_teardown),
		cmocka_unit_test_setup_teardown(test_create_errors, state_setup, state_teardown),
		cmocka_unit_test_setup_teardown(test_write_modes, state_setup, state_teardown),
		cmocka_unit_test_setup_teardown(test_write_errors, state_setup, state_teardown),
		cmocka_unit_test_setup_teardown(test_truncate, state_setup, state_teardown),
		cmocka_unit_test_setup_teardown(test_limits, state_setup, state_teardown),
		cmocka_unit_test_setup_teardown(test_create_with_data, state_setup, state_teardown),
		cmocka_unit_test_setup_teardown(test_create_with_data_guest, state_setup,
						state_teardown),
		cmocka_unit_test_setup_teardown(test_unlink_rmdir, state_setup, state_teardown),
		cmocka_unit_test_setup_teardown(test_rename, state_setup, state_teardown),
		cmocka_unit_test_setup_teardown(test_rename_records_paths, state_setup,
						state_teardown),
		cmocka_unit_test_setup_teardown(test_vmid_rules, state_setup, state_teardown),
		cmocka_unit_test_setup_teardown(test_vmid_directory_moves, state_setup,
						state_teardown),
		cmocka_unit_test_setup_teardown(test_guest_names_are_files, state_setup,
						state_teardown),
		cmocka_unit_test_setup_teardown(test_locks, state_setup, state_teardown),
		cmocka_unit_test_setup_teardown(test_private_paths, state_setup, state_teardown),
		cmocka_unit_test_setup_teardown(test_digest, state_setup, state_teardown),
		cmocka_unit_test_setup_teardown(test_authoritative_marks, state_setup,
						state_teardown),
		cmocka_unit_test_setup_teardown(test_paths, state_setup, state_teardown),
		cmocka_unit_test(test_guest_path_parsing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
