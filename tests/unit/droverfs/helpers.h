/* SPDX-License-Identifier: MIT */
/* Shared helpers for the cmocka unit tests: building and applying ops by path. */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "droverfs/core/op.h"
#include "droverfs/core/state.h"

#define T0 1700000000
#define T0_NS (T0 * 1000000000LL) /* ops carry times in nanoseconds */
#define SEC_NS 1000000000LL

static inline struct cfs_entry *at(struct cfs_state *st, const char *path)
{
	return cfs_tree_resolve(&st->tree, path);
}

static inline uint64_t ino_of(struct cfs_state *st, const char *path)
{
	struct cfs_entry *e = at(st, path);

	return e ? e->inode : 999999999;
}

/* Split "a/b/c" into the inode of "a/b" and "c". */
static inline void split(struct cfs_state *st, const char *path, uint64_t *dir, char *name)
{
	const char *slash = strrchr(path, '/');
	char parent[CFS_PATH_MAX];

	if (!slash) {
		*dir = CFS_ROOT_INODE;
		strcpy(name, path);
		return;
	}
	memcpy(parent, path, (size_t)(slash - path));
	parent[slash - path] = '\0';
	*dir = ino_of(st, parent);
	strcpy(name, slash + 1);
}

static inline int op_named(struct cfs_state *st, uint8_t kind, const char *path, uint32_t writer)
{
	struct cfs_op op = { .kind = kind, .writer = writer, .time_ns = T0_NS };

	split(st, path, &op.ino, op.name);
	return cfs_state_apply(st, &op, NULL);
}

static inline int do_create(struct cfs_state *st, const char *path)
{
	return op_named(st, CFS_OP_CREATE, path, 0);
}

static inline int do_mkdir(struct cfs_state *st, const char *path)
{
	return op_named(st, CFS_OP_MKDIR, path, 0);
}

static inline int do_unlink(struct cfs_state *st, const char *path)
{
	return op_named(st, CFS_OP_UNLINK, path, 0);
}

static inline int do_rmdir(struct cfs_state *st, const char *path)
{
	return op_named(st, CFS_OP_RMDIR, path, 0);
}

static inline int do_write_at(struct cfs_state *st, const char *path, uint64_t off,
			      const char *data, uint32_t flags)
{
	struct cfs_op op = { .kind = CFS_OP_WRITE, .time_ns = T0_NS + SEC_NS, .flags = flags };

	op.ino = ino_of(st, path);
	op.arg = off;
	op.data = data;
	op.size = strlen(data);
	return cfs_state_apply(st, &op, NULL);
}

static inline int do_write(struct cfs_state *st, const char *path, const char *data)
{
	return do_write_at(st, path, 0, data, CFS_WRITE_REPLACE);
}

static inline int do_put(struct cfs_state *st, const char *path, const char *data)
{
	int r = do_create(st, path);

	return r < 0 ? r : do_write(st, path, data);
}

static inline int do_rename_flags(struct cfs_state *st, const char *from, const char *to,
				  uint32_t flags)
{
	struct cfs_op op = { .kind = CFS_OP_RENAME, .time_ns = T0_NS, .flags = flags };

	split(st, from, &op.ino, op.name);
	split(st, to, &op.ino2, op.name2);
	return cfs_state_apply(st, &op, NULL);
}

static inline int do_rename(struct cfs_state *st, const char *from, const char *to)
{
	return do_rename_flags(st, from, to, 0);
}

/* Content of a file as a string (static buffer; tests only). */
static inline const char *content(struct cfs_state *st, const char *path)
{
	static char buf[65536];
	struct cfs_entry *e = at(st, path);
	size_t n;

	if (!e)
		return NULL;
	n = cfs_blob_size(e->data);
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if (n)
		memcpy(buf, e->data->data, n);
	buf[n] = '\0';
	return buf;
}

static inline void init_state(struct cfs_state *st)
{
	struct cfs_limits l;

	cfs_limits_default(&l);
	assert_int_equal(cfs_state_init(st, &l, T0_NS), 0);
}

/* cmocka fixtures: a fresh state in *ctx, destroyed after the test. */
static inline int state_setup(void **ctx)
{
	struct cfs_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -1;
	init_state(st);
	*ctx = st;
	return 0;
}

static inline int state_teardown(void **ctx)
{
	cfs_state_destroy(*ctx);
	free(*ctx);
	return 0;
}
