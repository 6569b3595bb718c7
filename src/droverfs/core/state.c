/* SPDX-License-Identifier: MIT */
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "basic/array.h"
#include "basic/hash.h"
#include "basic/util.h"
#include "basic/nstime.h"

void cfs_limits_default(struct cfs_limits *l)
{
	l->max_file_size = CFS_DEFAULT_MAX_FILE_SIZE;
	l->max_total_bytes = CFS_DEFAULT_MAX_TOTAL_BYTES;
	l->max_entries = CFS_DEFAULT_MAX_ENTRIES;
}

int cfs_state_init(struct cfs_state *st, const struct cfs_limits *limits, int64_t now_ns)
{
	memset(st, 0, sizeof(*st));
	st->limits = *limits;
	cfs_vmlist_init(&st->vmlist);
	return cfs_tree_init(&st->tree, 1, now_ns);
}

void cfs_state_destroy(struct cfs_state *st)
{
	cfs_state_clear_changes(st);
	free(st->changes);
	free(st->removed);
	cfs_vmlist_clear(&st->vmlist);
	cfs_tree_destroy(&st->tree);
	memset(st, 0, sizeof(*st));
}

void cfs_state_clear_changes(struct cfs_state *st)
{
	for (size_t i = 0; i < st->nchanges; i++) {
		free(st->changes[i].path);
		free(st->changes[i].old_path);
	}
	st->nchanges = 0;
}

void cfs_state_clear_removed(struct cfs_state *st)
{
	st->nremoved = 0;
}

static char *path_of(const struct cfs_entry *e)
{
	char buf[CFS_PATH_MAX];

	if (cfs_entry_path(e, buf, sizeof(buf)) < 0)
		return strdup("?");
	return strdup(buf);
}

struct cfs_change *cfs_state_record(struct cfs_state *st, uint8_t kind, uint32_t writer,
				    const struct cfs_entry *e, uint64_t version)
{
	struct cfs_change *c;

	if (!st->record_changes)
		return NULL;
	/* Out of memory drops the record: observers then miss one change, nothing else. */
	if (ARRAY_GROW(st->changes, st->changes_cap, st->nchanges + 1) < 0)
		return NULL;
	c = &st->changes[st->nchanges++];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->type = e->type;
	c->writer = writer;
	c->version = version;
	c->inode = e->inode;
	c->parent = e->parent ? e->parent->inode : 0;
	c->path = path_of(e);
	return c;
}

static struct cfs_change *record(struct cfs_state *st, const struct cfs_op *op,
				 const struct cfs_entry *e, uint64_t version)
{
	return cfs_state_record(st, op->kind, op->writer, e, version);
}

int cfs_state_note_removal(struct cfs_state *st, uint64_t inode, uint64_t version)
{
	if (ARRAY_GROW(st->removed, st->removed_cap, st->nremoved + 1) < 0)
		return -ENOMEM;
	st->removed[st->nremoved++] = (struct cfs_removal){ inode, version };
	return 0;
}

static int get_dir(const struct cfs_state *st, uint64_t inode, struct cfs_entry **dir)
{
	*dir = cfs_tree_lookup(&st->tree, inode);
	if (!*dir)
		return -ENOENT;
	if ((*dir)->type != CFS_DIR)
		return -ENOTDIR;
	return 0;
}

static int check_new_name(const struct cfs_entry *dir, const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
		return -EINVAL;
	if (len > CFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (dir->inode == CFS_ROOT_INODE && layout_is_reserved_root_name(name))
		return -EEXIST;
	return 0;
}

/* Would a new guest config dir/name clash with a VMID configured elsewhere? */
static int check_guest_free(const struct cfs_state *st, const struct cfs_entry *dir,
			    const char *name, uint64_t allowed1, uint64_t allowed2)
{
	struct cfs_guest_ref ref;
	const struct cfs_vmlist_guest *g;

	if (!layout_guest_position(dir, name, &ref))
		return 0;
	g = cfs_vmlist_get(&st->vmlist, ref.vmid);
	if (g && g->inode != allowed1 && g->inode != allowed2)
		return -EEXIST;
	return 0;
}

/*
 * May an entry of this type be made as dir/name? A lock directory holds
 * nothing (its release, rmdir, would fail): EACCES, as for renames into
 * the lock area. A guest config name is a file's, never a directory's: a
 * directory there is no guest, and it would block the guest's move to
 * that node later (EINVAL).
 */
static int check_place(const struct cfs_entry *dir, const char *name, enum cfs_type type)
{
	if (layout_in_lock_area(dir) && !layout_is_lock_root(dir))
		return -EACCES;
	if (type == CFS_DIR && layout_guest_position(dir, name, NULL))
		return -EINVAL;
	return 0;
}

static int apply_write(struct cfs_state *st, const struct cfs_op *op, struct cfs_result *res);

/*
 * A directory whose names an op changed: its mtime and ctime become the
 * op's time, and it is part of the change (a sync carries it).
 */
static void touch_dir(struct cfs_state *st, struct cfs_entry *dir, uint64_t version,
		      const struct cfs_op *op)
{
	struct cfs_times times = dir->times;

	times.mtime = times.ctime = op->time_ns;
	cfs_tree_stamp(&st->tree, dir, version, op->writer, &times);
}

/* The times an op gives to what it writes: now, or what utimensat() asked for. */
static struct cfs_times written_times(const struct cfs_op *op, const struct cfs_times *old)
{
	struct cfs_times times = { op->time_ns, op->time_ns, old ? old->atime : op->time_ns };

	if (op->flags & CFS_OP_SET_MTIME)
		times.mtime = op->mtime_ns;
	if (op->flags & CFS_OP_SET_ATIME)
		times.atime = op->atime_ns;
	return times;
}

/* Room for one more entry of `size` bytes, and no VMID clash for a file. */
static int check_new_entry(const struct cfs_state *st, const struct cfs_entry *dir,
			   const char *name, enum cfs_type type, uint64_t size)
{
	if (st->tree.nentries + 1 > st->limits.max_entries)
		return -ENOSPC;
	if (size > st->limits.max_file_size)
		return -EFBIG;
	if (st->tree.nbytes + size > st->limits.max_total_bytes)
		return -ENOSPC;
	return type == CFS_FILE ? check_guest_free(st, dir, name, 0, 0) : 0;
}

int cfs_state_check_new_file(const struct cfs_state *st, uint64_t parent, const char *name,
			     uint64_t size)
{
	struct cfs_entry *dir;
	int r = get_dir(st, parent, &dir);

	if (r == 0)
		r = check_new_name(dir, name);
	if (r == 0 && cfs_tree_child(&st->tree, dir, name))
		r = -EEXIST;
	if (r == 0)
		r = check_place(dir, name, CFS_FILE);
	if (r == 0)
		r = check_new_entry(st, dir, name, CFS_FILE, size);
	return r;
}

/* CREATE with data of a name that exists (no O_EXCL): as if opened with O_TRUNC or O_APPEND. */
static int replace_existing(struct cfs_state *st, const struct cfs_op *op, struct cfs_entry *e,
			    struct cfs_result *res)
{
	struct cfs_op w = *op;

	if (e->type != CFS_FILE)
		return -EISDIR;
	w.kind = CFS_OP_WRITE;
	w.flags = ((op->flags & CFS_CREATE_APPEND) ? CFS_WRITE_APPEND : CFS_WRITE_REPLACE) |
		  (op->flags & (CFS_OP_SET_MTIME | CFS_OP_SET_ATIME));
	w.ino = e->inode;
	w.arg = 0;
	return apply_write(st, &w, res);
}

static int apply_create(struct cfs_state *st, const struct cfs_op *op, enum cfs_type type,
			struct cfs_result *res)
{
	uint64_t version = st->tree.version + 1;
	struct cfs_entry *dir, *e;
	struct cfs_guest_ref ref;
	int r;

	bool with_data = type == CFS_FILE && (op->flags & CFS_CREATE_DATA);
	struct cfs_times times = written_times(op, NULL);
	struct cfs_change *c;
	struct cfs_blob *data = NULL;

	r = get_dir(st, op->ino, &dir);
	if (r < 0)
		return r;
	r = check_new_name(dir, op->name);
	if (r < 0)
		return r;
	e = cfs_tree_child(&st->tree, dir, op->name);
	if (e && with_data && !(op->flags & CFS_CREATE_EXCL))
		return replace_existing(st, op, e, res);
	if (e)
		return -EEXIST;
	r = check_place(dir, op->name, type);
	if (r == 0)
		r = check_new_entry(st, dir, op->name, type, with_data ? op->size : 0);
	if (r < 0)
		return r;
	if (with_data && op->size) {
		data = cfs_blob_new(op->data, op->size);
		if (!data)
			return -ENOMEM;
	}
	e = cfs_entry_new(version, type, op->name);
	if (!e) {
		cfs_blob_unref(data);
		return -ENOMEM;
	}
	cfs_tree_set_content(&st->tree, e, data, version);
	e->version = e->content_version = version;
	e->writer = op->writer;
	e->times = times;
	r = cfs_tree_link(&st->tree, dir, e);
	if (r < 0) {
		cfs_entry_free(e);
		return r;
	}
	cfs_tree_stamp(&st->tree, e, version, op->writer, &times);
	touch_dir(st, dir, version, op);
	if (type == CFS_FILE && layout_guest_position(dir, op->name, &ref)) {
		r = cfs_vmlist_set(&st->vmlist, &ref, e->inode, version);
		if (r < 0)
			return r;
	}
	c = record(st, op, e, version);
	if (c && with_data)
		c->content = true;
	res->inode = e->inode;
	return 0;
}

/* Keep the guest registry's per-guest version current. */
static void touch_guest(struct cfs_state *st, const struct cfs_entry *e)
{
	struct cfs_guest_ref ref;
	struct cfs_vmlist_guest *g;

	if (!layout_guest_position(e->parent, e->name, &ref))
		return;
	g = cfs_vmlist_get(&st->vmlist, ref.vmid);
	if (g && g->inode == e->inode)
		g->version = e->version;
}

static int get_file(const struct cfs_state *st, uint64_t inode, struct cfs_entry **e)
{
	*e = cfs_tree_lookup(&st->tree, inode);
	if (!*e)
		return -ENOENT;
	if ((*e)->type != CFS_FILE)
		return -EISDIR;
	return 0;
}

static int check_size(const struct cfs_state *st, const struct cfs_entry *e, uint64_t size)
{
	uint64_t old = cfs_blob_size(e->data);

	if (size > st->limits.max_file_size)
		return -EFBIG;
	if (size > old && st->tree.nbytes + (size - old) > st->limits.max_total_bytes)
		return -ENOSPC;
	return 0;
}

int cfs_state_check_size(const struct cfs_state *st, uint64_t inode, uint64_t new_size)
{
	struct cfs_entry *e;
	int r;

	if (inode == 0) {
		if (new_size > st->limits.max_file_size)
			return -EFBIG;
		return st->tree.nbytes + new_size > st->limits.max_total_bytes ? -ENOSPC : 0;
	}
	r = get_file(st, inode, &e);
	return r < 0 ? r : check_size(st, e, new_size);
}

/* The content after a WRITE, as a new blob (or NULL for empty content). */
static int written_content(const struct cfs_entry *e, const struct cfs_op *op, uint64_t *size,
			   struct cfs_blob **out)
{
	size_t old = cfs_blob_size(e->data);
	const unsigned char *olddata = e->data ? e->data->data : NULL;
	uint64_t off = op->arg;
	struct cfs_blob *b;

	if (op->flags & CFS_WRITE_REPLACE)
		off = 0;
	else if (op->flags & CFS_WRITE_APPEND)
		off = old;
	if (off > UINT64_MAX - op->size)
		return -EFBIG;
	*size = (op->flags & CFS_WRITE_REPLACE) ? op->size : MAX(old, off + op->size);
	if (*size > SIZE_MAX)
		return -EFBIG;
	*out = NULL;
	if (*size == 0)
		return 0;
	b = cfs_blob_new_resized(olddata, (op->flags & CFS_WRITE_REPLACE) ? 0 : old, *size);
	if (!b)
		return -ENOMEM;
	if (op->size)
		memcpy(b->data + off, op->data, op->size);
	*out = b;
	return 0;
}

static void set_content(struct cfs_state *st, const struct cfs_op *op, struct cfs_entry *e,
			struct cfs_blob *data, struct cfs_result *res)
{
	uint64_t version = st->tree.version + 1;
	struct cfs_change *c = record(st, op, e, version);
	struct cfs_times times = written_times(op, &e->times);

	cfs_tree_set_content(&st->tree, e, data, version);
	cfs_tree_stamp(&st->tree, e, version, op->writer, &times);
	touch_guest(st, e);
	if (c)
		c->content = true;
	res->inode = e->inode;
}

static int apply_write(struct cfs_state *st, const struct cfs_op *op, struct cfs_result *res)
{
	struct cfs_entry *e;
	struct cfs_blob *data;
	uint64_t size;
	int r;

	if ((op->flags & CFS_WRITE_REPLACE) && (op->flags & CFS_WRITE_APPEND))
		return -EINVAL;
	r = get_file(st, op->ino, &e);
	if (r < 0)
		return r;
	if (op->size > st->limits.max_file_size)
		return -EFBIG;
	r = written_content(e, op, &size, &data);
	if (r < 0)
		return r;
	r = check_size(st, e, size);
	if (r < 0) {
		cfs_blob_unref(data);
		return r;
	}
	set_content(st, op, e, data, res);
	return 0;
}

static int apply_truncate(struct cfs_state *st, const struct cfs_op *op, struct cfs_result *res)
{
	struct cfs_entry *e;
	struct cfs_blob *data = NULL;
	int r;

	r = get_file(st, op->ino, &e);
	if (r < 0)
		return r;
	r = check_size(st, e, op->arg);
	if (r < 0)
		return r;
	if (op->arg > 0) {
		data = cfs_blob_new_resized(e->data ? e->data->data : NULL, cfs_blob_size(e->data),
					    op->arg);
		if (!data)
			return -ENOMEM;
	}
	set_content(st, op, e, data, res);
	return 0;
}

/* Unlink and free an entry (a file or an empty directory). */
static void remove_entry(struct cfs_state *st, struct cfs_entry *e)
{
	struct cfs_guest_ref ref;

	if (e->type == CFS_FILE && layout_guest_position(e->parent, e->name, &ref))
		cfs_vmlist_remove_inode(&st->vmlist, ref.vmid, e->inode);
	cfs_tree_unlink(&st->tree, e);
	cfs_entry_free(e);
}

static int apply_remove(struct cfs_state *st, const struct cfs_op *op, struct cfs_result *res)
{
	uint64_t version = st->tree.version + 1;
	struct cfs_entry *dir, *e;
	int r;

	r = get_dir(st, op->ino, &dir);
	if (r < 0)
		return r;
	e = cfs_tree_child(&st->tree, dir, op->name);
	if (!e)
		return -ENOENT;
	if (op->kind == CFS_OP_UNLINK && e->type == CFS_DIR)
		return -EISDIR;
	if (op->kind == CFS_OP_RMDIR) {
		if (e->type != CFS_DIR)
			return -ENOTDIR;
		if (e->nchildren)
			return -ENOTEMPTY;
	}
	r = cfs_state_note_removal(st, e->inode, version);
	if (r < 0)
		return r;
	record(st, op, e, version);
	res->inode = e->inode;
	remove_entry(st, e);
	touch_dir(st, dir, version, op);
	return 0;
}

/* Can a rename touch this entry? Locks and their directories stay where they are. */
static bool rename_protected(const struct cfs_state *st, const struct cfs_entry *e)
{
	const struct cfs_entry *priv = cfs_tree_child(&st->tree, st->tree.root, "priv");
	const struct cfs_entry *lock = priv ? cfs_tree_child(&st->tree, priv, "lock") : NULL;

	if (layout_in_lock_area(e))
		return true;
	/* moving an ancestor of priv/lock would move every lock */
	return lock && cfs_entry_within(lock, e);
}

struct moved_guest {
	uint32_t vmid;
	uint64_t inode;
};

struct guest_scan {
	struct moved_guest *items;
	size_t n, cap;
	int error;
};

static void scan_add(struct guest_scan *s, uint32_t vmid, uint64_t inode)
{
	if (s->error)
		return;
	if (ARRAY_GROW(s->items, s->cap, s->n + 1) < 0) {
		s->error = -ENOMEM;
		return;
	}
	s->items[s->n++] = (struct moved_guest){ vmid, inode };
}

/*
 * Collect the files below `e` that would be guest configs if `e` were at
 * path `where`. Guest configs are exactly 4 levels deep, so the walk stops
 * there.
 */
static void scan_moved(struct guest_scan *s, const struct cfs_entry *e, char *where, size_t len,
		       unsigned depth)
{
	struct cfs_guest_ref ref;

	if (e->type == CFS_FILE) {
		if (depth == 4 && layout_guest_path(where, &ref))
			scan_add(s, ref.vmid, e->inode);
		return;
	}
	if (depth == 4 && layout_guest_path(where, NULL) && !s->error)
		s->error = -EINVAL; /* a directory named as a guest config (check_place) */
	if (depth >= 4)
		return;
	for (const struct cfs_entry *c = e->children; c; c = c->next) {
		size_t n = strlen(c->name);

		if (len + 1 + n + 1 > CFS_PATH_MAX)
			continue;
		where[len] = '/';
		memcpy(where + len + 1, c->name, n + 1);
		scan_moved(s, c, where, len + 1 + n, depth + 1);
		where[len] = '\0';
	}
}

static int check_dir_move_guests(const struct cfs_state *st, const struct cfs_entry *src,
				 const struct cfs_entry *dstdir, const char *name)
{
	char where[CFS_PATH_MAX];
	struct guest_scan s = { 0 };
	int len, r = 0;

	len = cfs_entry_path(dstdir, where, sizeof(where));
	if (len < 0)
		return len;
	if ((size_t)len + strlen(name) + 2 > sizeof(where))
		return -ENAMETOOLONG;
	len = snprintf(where + len, sizeof(where) - (size_t)len, "%s%s", len ? "/" : "", name) +
	      len;
	scan_moved(&s, src, where, (size_t)len, cfs_entry_depth(dstdir) + 1);
	if (s.error)
		r = s.error;
	for (size_t i = 0; i < s.n && r == 0; i++) {
		const struct cfs_vmlist_guest *g = cfs_vmlist_get(&st->vmlist, s.items[i].vmid);

		if (g && g->inode != s.items[i].inode)
			r = -EEXIST;
		for (size_t j = 0; j < i && r == 0; j++)
			if (s.items[j].vmid == s.items[i].vmid)
				r = -EEXIST;
	}
	free(s.items);
	return r;
}

static int check_rename(const struct cfs_state *st, const struct cfs_op *op,
			const struct cfs_entry *src, const struct cfs_entry *dstdir,
			const struct cfs_entry *dst)
{
	int r;

	if (dstdir->inode == CFS_ROOT_INODE && layout_is_reserved_root_name(op->name2))
		return -EACCES;
	r = check_new_name(dstdir, op->name2);
	if (r < 0)
		return r;
	if (rename_protected(st, src) || layout_in_lock_area(dstdir))
		return -EACCES;
	if (src->type == CFS_DIR && cfs_entry_within(dstdir, src))
		return -EINVAL;
	if (dst) {
		if (op->flags & CFS_RENAME_NOREPLACE)
			return -EEXIST;
		if (src->type == CFS_DIR && dst->type != CFS_DIR)
			return -ENOTDIR;
		if (src->type != CFS_DIR && dst->type == CFS_DIR)
			return -EISDIR;
		if (dst->type == CFS_DIR && dst->nchildren)
			return -ENOTEMPTY;
		if (rename_protected(st, dst))
			return -EACCES;
	}
	if (src->type == CFS_FILE)
		return check_guest_free(st, dstdir, op->name2, src->inode, dst ? dst->inode : 0);
	return check_dir_move_guests(st, src, dstdir, op->name2);
}

static int apply_rename(struct cfs_state *st, const struct cfs_op *op, struct cfs_result *res)
{
	uint64_t version = st->tree.version + 1;
	struct cfs_entry *srcdir, *dstdir, *src, *dst;
	struct cfs_change *c;
	struct cfs_times times;
	struct cfs_guest_ref ref;
	uint64_t replaced = 0;
	char *old_path = NULL;
	int r;

	r = get_dir(st, op->ino, &srcdir);
	if (r < 0)
		return r;
	r = get_dir(st, op->ino2, &dstdir);
	if (r < 0)
		return r;
	src = cfs_tree_child(&st->tree, srcdir, op->name);
	if (!src)
		return -ENOENT;
	dst = cfs_tree_child(&st->tree, dstdir, op->name2);
	if (dst == src) {
		/* POSIX: renaming a file onto itself does nothing. */
		res->inode = src->inode;
		return (op->flags & CFS_RENAME_NOREPLACE) ? -EEXIST : 0;
	}
	r = check_rename(st, op, src, dstdir, dst);
	if (r < 0)
		return r;

	if (st->record_changes)
		old_path = path_of(src);
	if (src->type == CFS_FILE && layout_guest_position(srcdir, src->name, &ref))
		cfs_vmlist_remove_inode(&st->vmlist, ref.vmid, src->inode);
	if (dst) {
		replaced = dst->inode;
		r = cfs_state_note_removal(st, dst->inode, version);
		if (r < 0)
			goto fail;
		remove_entry(st, dst);
	}
	r = cfs_tree_move(&st->tree, src, dstdir, op->name2);
	if (r < 0)
		goto fail;
	times = src->times;
	times.ctime = op->time_ns;
	cfs_tree_stamp(&st->tree, src, version, op->writer, &times);
	touch_dir(st, srcdir, version, op);
	if (dstdir != srcdir)
		touch_dir(st, dstdir, version, op);
	if (src->type == CFS_FILE && layout_guest_position(dstdir, src->name, &ref))
		r = cfs_vmlist_set(&st->vmlist, &ref, src->inode, version);
	else if (src->type == CFS_DIR)
		r = cfs_vmlist_rebuild(&st->vmlist, &st->tree, NULL);
	if (r < 0)
		goto fail;

	c = record(st, op, src, version);
	if (c) {
		c->old_parent = srcdir->inode;
		c->old_path = old_path;
		c->replaced = replaced;
		old_path = NULL;
	}
	free(old_path);
	res->inode = src->inode;
	return 0;
fail:
	free(old_path);
	return r;
}

static int apply_mtime(struct cfs_state *st, const struct cfs_op *op, struct cfs_result *res)
{
	struct cfs_entry *e = cfs_tree_lookup(&st->tree, op->ino);
	struct cfs_times times;

	if (!e)
		return -ENOENT;
	/*
	 * A lock is kept alive by its holder touching it: only the node that
	 * holds it may, and its time may not go back (utime(0) is the release
	 * request, handled before an op is made).
	 */
	if (layout_is_lock_dir(e) && (!(op->flags & CFS_OP_SET_MTIME) ||
				      op->mtime_ns < e->times.mtime || op->writer != e->writer))
		return -EACCES;
	times = e->times;
	if (op->flags & CFS_OP_SET_MTIME)
		times.mtime = op->mtime_ns;
	if (op->flags & CFS_OP_SET_ATIME)
		times.atime = op->atime_ns;
	times.ctime = op->time_ns;
	record(st, op, e, st->tree.version + 1);
	cfs_tree_stamp(&st->tree, e, st->tree.version + 1, op->writer, &times);
	touch_guest(st, e);
	res->inode = e->inode;
	return 0;
}

static int apply_unlock(struct cfs_state *st, const struct cfs_op *op, struct cfs_result *res)
{
	uint64_t version = st->tree.version + 1;
	struct cfs_entry *e = cfs_tree_lookup(&st->tree, op->ino), *dir;
	int r;

	if (!e)
		return -ENOENT;
	if (!layout_is_lock_dir(e))
		return -EINVAL;
	/* Taken again or refreshed since the release was decided: keep it. */
	if (e->version != op->arg)
		return -ESTALE;
	if (e->nchildren)
		return -ENOTEMPTY;
	r = cfs_state_note_removal(st, e->inode, version);
	if (r < 0)
		return r;
	record(st, op, e, version);
	res->inode = e->inode;
	dir = e->parent;
	remove_entry(st, e);
	touch_dir(st, dir, version, op);
	return 0;
}

/* The op's time in whole seconds: what names a lineage (as before times had nanoseconds). */
static int64_t op_seconds(const struct cfs_op *op)
{
	return (int64_t)nstime_to_timespec(op->time_ns).tv_sec;
}

int cfs_state_apply(struct cfs_state *st, const struct cfs_op *op, struct cfs_result *res)
{
	struct cfs_result ignored;
	int r;

	if (!res)
		res = &ignored;
	res->inode = 0;
	switch (op->kind) {
	case CFS_OP_CREATE:
		r = apply_create(st, op, CFS_FILE, res);
		break;
	case CFS_OP_MKDIR:
		r = apply_create(st, op, CFS_DIR, res);
		break;
	case CFS_OP_WRITE:
		r = apply_write(st, op, res);
		break;
	case CFS_OP_TRUNCATE:
		r = apply_truncate(st, op, res);
		break;
	case CFS_OP_UNLINK:
	case CFS_OP_RMDIR:
		r = apply_remove(st, op, res);
		break;
	case CFS_OP_RENAME:
		r = apply_rename(st, op, res);
		break;
	case CFS_OP_MTIME:
		r = apply_mtime(st, op, res);
		break;
	case CFS_OP_UNLOCK:
		r = apply_unlock(st, op, res);
		break;
	default:
		r = -EINVAL;
	}
	res->version = st->tree.version;
	if (r == 0 && st->authoritative && st->auth_version != st->tree.version) {
		st->auth_version = st->tree.version;
		/* Named by its first op: the same on every node that applies it. */
		if (st->lineage == 0)
			st->lineage =
				hash_add64(hash_mix64(st->tree.version ^ (uint64_t)op_seconds(op)),
					   ((uint64_t)op->writer << 8) | op->kind) |
				1;
	}
	return r;
}
