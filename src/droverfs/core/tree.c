/* SPDX-License-Identifier: MIT */
#include "tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/hash.h"
#include "basic/util.h"
#include "basic/nstime.h"

static uint64_t inode_hash(uint64_t inode)
{
	return hash_mix64(inode);
}

static uint64_t name_hash(uint64_t parent, const char *name)
{
	return hash_str(parent, name);
}

uint64_t cfs_entry_digest(const struct cfs_entry *e)
{
	struct timespec ts = nstime_to_timespec(e->times.mtime);
	uint64_t h = hash_mix64(e->inode);

	h = hash_add64(h, e->version);
	h = hash_add64(h, e->parent ? e->parent->inode : 0);
	h = hash_add64(h, e->type);
	h = hash_add64(h, cfs_blob_size(e->data));
	h = hash_add64(h, e->content_hash);
	h = hash_add64(h, (uint64_t)ts.tv_sec);
	/*
	 * What whole-second times with ctime = atime = mtime lack is hashed
	 * only where it is there: such an entry (all of them, before times
	 * had nanoseconds) keeps the digest it had, so digests stored by older
	 * versions still check.
	 */
	if (ts.tv_nsec)
		h = hash_add64(h, (uint64_t)ts.tv_nsec ^ 0x6e73);
	if (e->times.ctime != e->times.mtime)
		h = hash_add64(h, (uint64_t)e->times.ctime ^ 0x63);
	if (e->times.atime != e->times.mtime)
		h = hash_add64(h, (uint64_t)e->times.atime ^ 0x61);
	h = hash_add64(h, e->writer);
	return hash_str(h, e->name);
}

static void digest_add(struct cfs_tree *t, const struct cfs_entry *e)
{
	uint64_t h = cfs_entry_digest(e);

	t->digest.sum += h;
	t->digest.xor ^= h;
}

static void digest_remove(struct cfs_tree *t, const struct cfs_entry *e)
{
	uint64_t h = cfs_entry_digest(e);

	t->digest.sum -= h;
	t->digest.xor ^= h;
}

struct cfs_entry *cfs_entry_new(uint64_t inode, enum cfs_type type, const char *name)
{
	struct cfs_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->name = strdup(name);
	if (!e->name) {
		free(e);
		return NULL;
	}
	e->inode = inode;
	e->type = (uint8_t)type;
	return e;
}

void cfs_entry_free(struct cfs_entry *e)
{
	if (!e)
		return;
	cfs_blob_unref(e->data);
	free(e->name);
	free(e);
}

int cfs_tree_init(struct cfs_tree *t, uint64_t version, int64_t root_time_ns)
{
	memset(t, 0, sizeof(*t));
	hmap_init(&t->by_inode);
	hmap_init(&t->by_name);
	t->root = cfs_entry_new(CFS_ROOT_INODE, CFS_DIR, "");
	if (!t->root)
		return -ENOMEM;
	t->root->version = version;
	t->root->content_version = version;
	t->root->times = (struct cfs_times){ root_time_ns, root_time_ns, root_time_ns };
	if (hmap_insert(&t->by_inode, &t->root->by_inode, inode_hash(CFS_ROOT_INODE)) < 0) {
		cfs_entry_free(t->root);
		t->root = NULL;
		return -ENOMEM;
	}
	t->version = version;
	t->nentries = 1;
	digest_add(t, t->root);
	return 0;
}

static void entry_free_node(struct hmap_node *n)
{
	cfs_entry_free(container_of(n, struct cfs_entry, by_inode));
}

void cfs_tree_destroy(struct cfs_tree *t)
{
	/* The inode index holds every linked entry. */
	hmap_destroy_all(&t->by_inode, entry_free_node);
	hmap_destroy(&t->by_name);
	memset(t, 0, sizeof(*t));
}

struct cfs_entry *cfs_tree_lookup(const struct cfs_tree *t, uint64_t inode)
{
	struct hmap_node *n;

	hmap_for_each_hash (n, &t->by_inode, inode_hash(inode)) {
		struct cfs_entry *e = container_of(n, struct cfs_entry, by_inode);

		if (e->inode == inode)
			return e;
	}
	return NULL;
}

struct cfs_entry *cfs_tree_child(const struct cfs_tree *t, const struct cfs_entry *dir,
				 const char *name)
{
	struct hmap_node *n;

	if (dir->type != CFS_DIR)
		return NULL;
	hmap_for_each_hash (n, &t->by_name, name_hash(dir->inode, name)) {
		struct cfs_entry *e = container_of(n, struct cfs_entry, by_name);

		if (e->parent == dir && streq(e->name, name))
			return e;
	}
	return NULL;
}

struct cfs_entry *cfs_tree_resolve(const struct cfs_tree *t, const char *path)
{
	struct cfs_entry *e = t->root;
	char name[CFS_NAME_MAX + 1];

	while (*path == '/')
		path++;
	while (*path && e) {
		size_t len = strcspn(path, "/");

		if (len > CFS_NAME_MAX)
			return NULL;
		memcpy(name, path, len);
		name[len] = '\0';
		e = cfs_tree_child(t, e, name);
		path += len;
		while (*path == '/')
			path++;
	}
	return e;
}

static void sibling_insert(struct cfs_entry *dir, struct cfs_entry *e)
{
	e->prev = NULL;
	e->next = dir->children;
	if (dir->children)
		dir->children->prev = e;
	dir->children = e;
	dir->nchildren++;
	if (e->type == CFS_DIR)
		dir->nsubdirs++;
	e->parent = dir;
}

static void sibling_remove(struct cfs_entry *e)
{
	struct cfs_entry *dir = e->parent;

	if (e->prev)
		e->prev->next = e->next;
	else
		dir->children = e->next;
	if (e->next)
		e->next->prev = e->prev;
	dir->nchildren--;
	if (e->type == CFS_DIR)
		dir->nsubdirs--;
	e->prev = e->next = NULL;
	e->parent = NULL;
}

int cfs_tree_link(struct cfs_tree *t, struct cfs_entry *dir, struct cfs_entry *e)
{
	int r;

	r = hmap_insert(&t->by_inode, &e->by_inode, inode_hash(e->inode));
	if (r < 0)
		return r;
	r = hmap_insert(&t->by_name, &e->by_name, name_hash(dir->inode, e->name));
	if (r < 0) {
		hmap_remove(&t->by_inode, &e->by_inode);
		return r;
	}
	sibling_insert(dir, e);
	e->flags |= CFS_ENTRY_MOVED | CFS_ENTRY_CONTENT_DIRTY;
	t->nentries++;
	t->nbytes += cfs_blob_size(e->data);
	digest_add(t, e);
	return 0;
}

void cfs_tree_unlink(struct cfs_tree *t, struct cfs_entry *e)
{
	digest_remove(t, e);
	hmap_remove(&t->by_inode, &e->by_inode);
	hmap_remove(&t->by_name, &e->by_name);
	sibling_remove(e);
	t->nentries--;
	t->nbytes -= cfs_blob_size(e->data);
	if (e->flags & CFS_ENTRY_DIRTY) {
		if (e->dirty_prev)
			e->dirty_prev->dirty_next = e->dirty_next;
		else
			t->dirty = e->dirty_next;
		if (e->dirty_next)
			e->dirty_next->dirty_prev = e->dirty_prev;
		e->dirty_prev = e->dirty_next = NULL;
		e->flags &= (uint8_t)~CFS_ENTRY_DIRTY;
	}
}

int cfs_tree_move(struct cfs_tree *t, struct cfs_entry *e, struct cfs_entry *dir, const char *name)
{
	char *copy = strdup(name);
	int r;

	if (!copy)
		return -ENOMEM;
	digest_remove(t, e);
	hmap_remove(&t->by_name, &e->by_name);
	sibling_remove(e);
	free(e->name);
	e->name = copy;
	r = hmap_insert(&t->by_name, &e->by_name, name_hash(dir->inode, e->name));
	sibling_insert(dir, e);
	e->flags |= CFS_ENTRY_MOVED;
	digest_add(t, e);
	return r;
}

void cfs_tree_set_content(struct cfs_tree *t, struct cfs_entry *e, struct cfs_blob *data,
			  uint64_t version)
{
	bool linked = e->parent != NULL;

	if (linked) {
		digest_remove(t, e);
		t->nbytes -= cfs_blob_size(e->data);
	}
	cfs_blob_unref(e->data);
	e->flags |= CFS_ENTRY_CONTENT_DIRTY;
	e->data = cfs_blob_size(data) ? data : NULL;
	if (data && !e->data)
		cfs_blob_unref(data);
	e->content_version = version;
	e->content_hash = cfs_blob_hash(e->data);
	if (linked) {
		t->nbytes += cfs_blob_size(e->data);
		digest_add(t, e);
	}
}

void cfs_tree_stamp(struct cfs_tree *t, struct cfs_entry *e, uint64_t version, uint32_t writer,
		    const struct cfs_times *times)
{
	bool linked = e->parent != NULL || e == t->root;

	if (linked)
		digest_remove(t, e);
	e->version = version;
	e->writer = writer;
	e->times = *times;
	if (linked)
		digest_add(t, e);
	t->version = version;
	cfs_tree_mark_dirty(t, e);
}

int cfs_entry_path(const struct cfs_entry *e, char *buf, size_t len)
{
	size_t pos = len;
	const struct cfs_entry *p;

	if (len == 0)
		return -ENAMETOOLONG;
	buf[--pos] = '\0';
	for (p = e; p && p->parent; p = p->parent) {
		size_t n = strlen(p->name);

		if (n + (p != e) > pos)
			return -ENAMETOOLONG;
		if (p != e)
			buf[--pos] = '/';
		pos -= n;
		memcpy(buf + pos, p->name, n);
	}
	memmove(buf, buf + pos, len - pos);
	return (int)(len - pos - 1);
}

unsigned cfs_entry_depth(const struct cfs_entry *e)
{
	unsigned d = 0;

	for (; e && e->parent; e = e->parent)
		d++;
	return d;
}

bool cfs_entry_within(const struct cfs_entry *e, const struct cfs_entry *ancestor)
{
	for (; e; e = e->parent)
		if (e == ancestor)
			return true;
	return false;
}

void cfs_tree_mark_dirty(struct cfs_tree *t, struct cfs_entry *e)
{
	if (e->flags & CFS_ENTRY_DIRTY)
		return;
	e->flags |= CFS_ENTRY_DIRTY;
	e->dirty_prev = NULL;
	e->dirty_next = t->dirty;
	if (t->dirty)
		t->dirty->dirty_prev = e;
	t->dirty = e;
}

void cfs_tree_clear_dirty(struct cfs_tree *t)
{
	struct cfs_entry *e = t->dirty;

	while (e) {
		struct cfs_entry *next = e->dirty_next;

		e->flags &=
			(uint8_t) ~(CFS_ENTRY_DIRTY | CFS_ENTRY_MOVED | CFS_ENTRY_CONTENT_DIRTY);
		e->dirty_prev = e->dirty_next = NULL;
		e = next;
	}
	t->dirty = NULL;
}

struct cfs_entry *cfs_tree_iter_first(struct cfs_tree_iter *it, const struct cfs_tree *t)
{
	struct hmap_node *n = hmap_iter_first(&it->it, &t->by_inode);

	return n ? container_of(n, struct cfs_entry, by_inode) : NULL;
}

struct cfs_entry *cfs_tree_iter_next(struct cfs_tree_iter *it)
{
	struct hmap_node *n = hmap_iter_next(&it->it);

	return n ? container_of(n, struct cfs_entry, by_inode) : NULL;
}
