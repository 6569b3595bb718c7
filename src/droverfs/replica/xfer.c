/* SPDX-License-Identifier: MIT */
#include "xfer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/array.h"
#include "basic/hash.h"
#include "basic/util.h"
#include "basic/wire.h"

/* ---- the leader's side ---- */

struct ordered {
	unsigned depth;
	const struct cfs_entry *e;
};

static int cmp_ordered(const void *a, const void *b)
{
	const struct ordered *x = a, *y = b;

	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	return x->e->inode < y->e->inode ? -1 : x->e->inode > y->e->inode;
}

/* Entries changed after `since`, parents before children. */
static struct ordered *changed_entries(const struct cfs_state *st, uint64_t since, size_t *count)
{
	struct cfs_tree_iter it;
	struct ordered *arr = malloc((st->tree.nentries + 1) * sizeof(*arr));
	size_t n = 0;

	if (!arr)
		return NULL;
	for (struct cfs_entry *e = cfs_tree_iter_first(&it, &st->tree); e;
	     e = cfs_tree_iter_next(&it))
		if (e->version > since)
			arr[n++] = (struct ordered){ cfs_entry_depth(e), e };
	qsort(arr, n, sizeof(*arr), cmp_ordered);
	*count = n;
	return arr;
}

struct stream {
	struct cfs_xfer_out *out;
	uint64_t epoch;
	size_t max_msg;
	struct buf *cur; /* the UPDATE being filled */
	uint32_t count;
};

static int stream_close(struct stream *s)
{
	if (!s->cur)
		return 0;
	/* The item count sits right after the header. */
	le_put32(s->cur->data + CMSG_HEADER_SIZE, s->count);
	s->cur = NULL;
	return 0;
}

static int stream_open(struct stream *s)
{
	int r;

	if (ARRAY_GROW(s->out->msgs, s->out->msgs_cap, s->out->nmsgs + 1) < 0)
		return -ENOMEM;
	s->cur = &s->out->msgs[s->out->nmsgs++];
	memset(s->cur, 0, sizeof(*s->cur));
	s->count = 0;
	r = cmsg_begin(s->cur, CMSG_UPDATE, s->epoch);
	return r < 0 ? r : buf_append(s->cur, "\0\0\0\0", 4);
}

static int stream_put(struct stream *s, const struct cmsg_item *it)
{
	int r;

	if (s->cur && s->cur->len + it->size + CMSG_ITEM_MAX_OVERHEAD > s->max_msg && s->count > 0)
		stream_close(s);
	if (!s->cur) {
		r = stream_open(s);
		if (r < 0)
			return r;
	}
	r = cmsg_put_item(s->cur, it);
	if (r == 0)
		s->count++;
	return r;
}

static void item_of(const struct cfs_entry *e, struct cmsg_item *it)
{
	memset(it, 0, sizeof(*it));
	it->type = e->type;
	it->inode = e->inode;
	it->parent = e->parent ? e->parent->inode : 0;
	it->version = e->version;
	it->writer = e->writer;
	it->times = e->times;
	snprintf(it->name, sizeof(it->name), "%s", e->name);
	it->data = e->data ? e->data->data : NULL;
	it->size = cfs_blob_size(e->data);
}

int cfs_xfer_build(const struct cfs_state *st, const struct cfs_removal *tombstones,
		   size_t ntombstones, uint64_t since, bool full, uint64_t epoch, size_t max_msg,
		   struct cfs_xfer_out *out)
{
	struct stream s = { out, epoch, max_msg, NULL, 0 };
	struct cmsg_item it;
	struct ordered *entries;
	size_t n;
	int r = 0;

	memset(out, 0, sizeof(*out));
	entries = changed_entries(st, full ? 0 : since, &n);
	if (!entries)
		return -ENOMEM;
	for (size_t i = 0; i < n && r == 0; i++) {
		item_of(entries[i].e, &it);
		r = stream_put(&s, &it);
	}
	free(entries);
	for (size_t i = 0; !full && i < ntombstones && r == 0; i++) {
		if (tombstones[i].version <= since)
			continue;
		memset(&it, 0, sizeof(it));
		it.inode = tombstones[i].inode;
		it.version = tombstones[i].version;
		r = stream_put(&s, &it);
		out->end.tombstones_sent++;
	}
	stream_close(&s);
	out->end.full = full;
	out->end.since = full ? 0 : since;
	out->end.version = st->tree.version;
	out->end.auth_version = st->auth_version;
	out->end.lineage = st->lineage;
	out->end.digest = st->tree.digest;
	out->end.nentries = st->tree.nentries;
	out->end.entries_sent = n;
	out->end.limits = st->limits;
	if (r < 0)
		cfs_xfer_out_free(out);
	return r;
}

void cfs_xfer_out_free(struct cfs_xfer_out *out)
{
	for (size_t i = 0; i < out->nmsgs; i++)
		buf_free(&out->msgs[i]);
	free(out->msgs);
	out->msgs = NULL;
	out->nmsgs = out->msgs_cap = 0;
}

/* ---- the receiver's side ---- */

int cfs_xfer_in_add(struct cfs_xfer_in *in, const void *payload, size_t len)
{
	struct buf *b;

	if (ARRAY_GROW(in->payloads, in->cap, in->n + 1) < 0)
		return -ENOMEM;
	b = &in->payloads[in->n];
	memset(b, 0, sizeof(*b));
	if (buf_append(b, payload, len) < 0)
		return -ENOMEM;
	in->n++;
	return 0;
}

void cfs_xfer_in_free(struct cfs_xfer_in *in)
{
	for (size_t i = 0; i < in->n; i++)
		buf_free(&in->payloads[i]);
	free(in->payloads);
	memset(in, 0, sizeof(*in));
}

struct inode_key {
	struct hmap_node node;
	uint64_t inode;
	size_t index;
};

/* One parsed item and the entry it concerns here, if any. */
struct incoming {
	struct cmsg_item item;
	struct cfs_entry *existing;
	char *old_path; /* where it was, when it moves (for the watchers) */
	uint64_t old_parent;
};

struct apply_ctx {
	struct cfs_state *st;
	const struct cmsg_update_end *end;
	struct incoming *items; /* entries, in stream (parent-first) order */
	size_t nitems;
	struct cmsg_item *tombs;
	size_t ntombs;
	struct cfs_entry **removed;
	size_t nremoved;
	struct cfs_entry **replaced; /* same inode, another entry (a diverged history) */
	size_t nreplaced;
	bool detached; /* removed entries are out of the tree (ours to free) */
	struct hmap by_inode; /* inode -> item index + 1, through `keys` */
	struct inode_key *keys;
	char *err;
	size_t errlen;
};

static int fail(struct apply_ctx *a, int r, const char *fmt, ...) PRINTF_FMT(3, 4);
static int fail(struct apply_ctx *a, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->err, a->errlen, fmt, ap);
	va_end(ap);
	return r;
}

static struct incoming *incoming_of(const struct apply_ctx *a, uint64_t inode)
{
	struct hmap_node *n;

	hmap_for_each_hash (n, &a->by_inode, hash_mix64(inode)) {
		struct inode_key *k = container_of(n, struct inode_key, node);

		if (k->inode == inode)
			return &a->items[k->index];
	}
	return NULL;
}

static int parse_stream(struct apply_ctx *a, const struct cfs_xfer_in *in)
{
	size_t cap_items = 0, cap_tombs = 0;

	for (size_t m = 0; m < in->n; m++) {
		struct cmsg_items walk;
		struct cmsg_item item;
		int r = cmsg_items_begin(&walk, in->payloads[m].data, in->payloads[m].len);

		while (r == 0 && (r = cmsg_items_next(&walk, &item)) == 1) {
			if (item.type == 0) {
				if (ARRAY_GROW(a->tombs, cap_tombs, a->ntombs + 1) < 0)
					return -ENOMEM;
				a->tombs[a->ntombs++] = item;
			} else {
				if (ARRAY_GROW(a->items, cap_items, a->nitems + 1) < 0)
					return -ENOMEM;
				memset(&a->items[a->nitems], 0, sizeof(*a->items));
				a->items[a->nitems++].item = item;
			}
			r = 0;
		}
		if (r < 0)
			return fail(a, -EBADMSG, "malformed update message %zu", m);
	}
	if (a->nitems != a->end->entries_sent || a->ntombs != a->end->tombstones_sent)
		return fail(a, -EBADMSG,
			    "got %zu entries and %zu tombstones, the leader sent %" PRIu64
			    " and %" PRIu64,
			    a->nitems, a->ntombs, a->end->entries_sent, a->end->tombstones_sent);
	return 0;
}

static int index_items(struct apply_ctx *a)
{
	a->keys = calloc(a->nitems ? a->nitems : 1, sizeof(*a->keys));
	if (!a->keys)
		return -ENOMEM;
	hmap_init(&a->by_inode);
	for (size_t i = 0; i < a->nitems; i++) {
		a->keys[i].inode = a->items[i].item.inode;
		a->keys[i].index = i;
		if (incoming_of(a, a->keys[i].inode))
			return fail(a, -EBADMSG, "inode %" PRIu64 " sent twice", a->keys[i].inode);
		if (hmap_insert(&a->by_inode, &a->keys[i].node, hash_mix64(a->keys[i].inode)) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int push_removed(struct apply_ctx *a, struct cfs_entry *e, size_t *cap)
{
	if (array_grow((void **)&a->removed, cap, a->nremoved + 1, sizeof(*a->removed)) < 0)
		return -ENOMEM;
	a->removed[a->nremoved++] = e;
	return 0;
}

/* What goes away: the tombstoned entries, or (full) all the leader does not have. */
static int collect_removals(struct apply_ctx *a)
{
	struct cfs_tree *t = &a->st->tree;
	size_t cap = 0;
	int r = 0;

	if (a->end->full) {
		struct cfs_tree_iter it;

		for (struct cfs_entry *e = cfs_tree_iter_first(&it, t); e && r == 0;
		     e = cfs_tree_iter_next(&it))
			if (e != t->root && !incoming_of(a, e->inode))
				r = push_removed(a, e, &cap);
		return r;
	}
	for (size_t i = 0; i < a->ntombs && r == 0; i++) {
		struct cfs_entry *e = cfs_tree_lookup(t, a->tombs[i].inode);

		if (e && e != t->root && !incoming_of(a, e->inode))
			r = push_removed(a, e, &cap);
	}
	return r;
}

/*
 * Take out of the tree everything that moves, changes or goes, so that the
 * final placement cannot clash with a name that is about to be freed.
 */
static void detach(struct apply_ctx *a)
{
	struct cfs_tree *t = &a->st->tree;

	for (size_t i = 0; i < a->nitems; i++) {
		struct incoming *in = &a->items[i];

		in->existing = cfs_tree_lookup(t, in->item.inode);
		if (!in->existing || in->existing == t->root)
			continue;
		/*
		 * Two histories can give one inode number to different entries;
		 * only a full transfer meets that. The old one is dropped (its
		 * row is rewritten, not tombstoned: the inode lives on).
		 */
		if (a->end->full && in->existing->type != in->item.type) {
			cfs_state_record(a->st, CFS_CHANGE_SYNC, 0, in->existing, a->end->version);
			cfs_tree_unlink(t, in->existing);
			a->replaced[a->nreplaced++] = in->existing;
			in->existing = NULL;
			continue;
		}
		in->old_parent = in->existing->parent->inode;
		if (a->st->record_changes) {
			char path[CFS_PATH_MAX];

			if (cfs_entry_path(in->existing, path, sizeof(path)) >= 0)
				in->old_path = strdup(path);
		}
		cfs_tree_unlink(t, in->existing);
	}
	for (size_t i = 0; i < a->nremoved; i++) {
		cfs_state_record(a->st, CFS_CHANGE_SYNC, 0, a->removed[i], a->end->version);
		cfs_tree_unlink(t, a->removed[i]);
	}
	a->detached = true;
}

/*
 * Tombstones of entries this node never had are kept too: it may serve an
 * incremental update itself one day, to a node that did have them.
 */
static int note_foreign_tombstones(struct apply_ctx *a)
{
	for (size_t i = 0; i < a->ntombs; i++) {
		if (cfs_tree_lookup(&a->st->tree, a->tombs[i].inode))
			continue; /* removed with the others, see free_removed() */
		int r = cfs_state_note_removal(a->st, a->tombs[i].inode, a->tombs[i].version);

		if (r < 0)
			return r;
	}
	return 0;
}

static uint64_t tombstone_version(const struct apply_ctx *a, uint64_t inode)
{
	for (size_t i = 0; i < a->ntombs; i++)
		if (a->tombs[i].inode == inode)
			return a->tombs[i].version;
	return a->end->version;
}

static int free_removed(struct apply_ctx *a)
{
	for (size_t i = 0; i < a->nreplaced; i++) {
		if (a->replaced[i]->children)
			return fail(a, -EUCLEAN, "replaced directory %" PRIu64 " still has entries",
				    a->replaced[i]->inode);
		cfs_entry_free(a->replaced[i]);
		a->replaced[i] = NULL;
	}
	for (size_t i = 0; i < a->nremoved; i++) {
		struct cfs_entry *e = a->removed[i];
		int r;

		/* Whatever was below it went too, or moved elsewhere. */
		if (e->children)
			return fail(a, -EUCLEAN,
				    "directory %" PRIu64 " '%s' goes but '%s' stays in it",
				    e->inode, e->name, e->children->name);
		r = cfs_state_note_removal(a->st, e->inode, tombstone_version(a, e->inode));
		if (r < 0)
			return r;
		cfs_entry_free(e);
		a->removed[i] = NULL;
	}
	return 0;
}

/* Give an entry the fields of an item (the entry is unlinked, or the root). */
static int set_fields(struct cfs_state *st, struct cfs_entry *e, const struct cmsg_item *it)
{
	struct cfs_blob *data = NULL;
	char *name;

	if (it->size) {
		data = cfs_blob_new(it->data, it->size);
		if (!data)
			return -ENOMEM;
	}
	if (e != st->tree.root && !streq(e->name, it->name)) {
		name = strdup(it->name);
		if (!name) {
			cfs_blob_unref(data);
			return -ENOMEM;
		}
		free(e->name);
		e->name = name;
	}
	cfs_tree_set_content(&st->tree, e, data, it->version);
	e->version = it->version;
	e->writer = it->writer;
	e->times = it->times;
	e->kernel_cached = 0;
	return 0;
}

static int place(struct apply_ctx *a, struct incoming *in)
{
	struct cfs_state *st = a->st;
	const struct cmsg_item *it = &in->item;
	struct cfs_entry *e = in->existing, *dir;
	struct cfs_change *c;
	int r;

	if (it->inode == CFS_ROOT_INODE) {
		/* The root stays linked: stamp it in place (this keeps the digest right). */
		if (it->type != CFS_DIR)
			return fail(a, -EBADMSG, "the root must be a directory");
		cfs_tree_stamp(&st->tree, st->tree.root, it->version, it->writer, &it->times);
		return 0;
	}
	dir = cfs_tree_lookup(&st->tree, it->parent);
	if (!dir || dir->type != CFS_DIR)
		return fail(a, -EUCLEAN, "entry %" PRIu64 " '%s': parent %" PRIu64 " is missing",
			    it->inode, it->name, it->parent);
	if (cfs_tree_child(&st->tree, dir, it->name))
		return fail(a, -EUCLEAN, "entry %" PRIu64 ": '%s' is taken in directory %" PRIu64,
			    it->inode, it->name, it->parent);
	if (e && e->type != it->type)
		return fail(a, -EUCLEAN, "entry %" PRIu64 " changed its type", it->inode);
	if (!e) {
		e = cfs_entry_new(it->inode, (enum cfs_type)it->type, it->name);
		if (!e)
			return -ENOMEM;
	}
	r = set_fields(st, e, it);
	if (r == 0)
		r = cfs_tree_link(&st->tree, dir, e);
	if (r < 0) {
		if (!in->existing)
			cfs_entry_free(e);
		return r;
	}
	in->existing = NULL; /* linked again: owned by the tree */
	e->flags |= CFS_ENTRY_MOVED | CFS_ENTRY_CONTENT_DIRTY;
	cfs_tree_mark_dirty(&st->tree, e);
	c = cfs_state_record(st, CFS_CHANGE_SYNC, it->writer, e, it->version);
	if (c) {
		c->content = e->type == CFS_FILE;
		c->old_parent = in->old_parent;
		c->old_path = in->old_path;
		in->old_path = NULL;
	}
	return 0;
}

static int check_result(struct apply_ctx *a)
{
	const struct cfs_tree *t = &a->st->tree;
	const struct cmsg_update_end *end = a->end;

	if (t->nentries != end->nentries)
		return fail(a, -EUCLEAN,
			    "%" PRIu64 " entries after the update, the leader has %" PRIu64,
			    t->nentries, end->nentries);
	if (t->digest.sum != end->digest.sum || t->digest.xor != end->digest.xor)
		return fail(a, -EUCLEAN, "the digest after the update differs from the leader's");
	return 0;
}

static void ctx_free(struct apply_ctx *a)
{
	for (size_t i = 0; i < a->nitems; i++) {
		/* Detached but never placed again (an error came first). */
		if (a->items[i].existing && a->items[i].existing != a->st->tree.root &&
		    !a->items[i].existing->parent)
			cfs_entry_free(a->items[i].existing);
		free(a->items[i].old_path);
	}
	for (size_t i = 0; a->detached && i < a->nremoved; i++)
		cfs_entry_free(a->removed[i]);
	for (size_t i = 0; i < a->nreplaced; i++)
		cfs_entry_free(a->replaced[i]);
	free(a->replaced);
	free(a->items);
	free(a->tombs);
	free(a->removed);
	free(a->keys);
	hmap_destroy(&a->by_inode);
}

int cfs_xfer_apply(struct cfs_state *st, const struct cfs_xfer_in *in,
		   const struct cmsg_update_end *end, char *err, size_t errlen)
{
	struct apply_ctx a = { .st = st, .end = end, .err = err, .errlen = errlen };
	unsigned dups;
	int r;

	err[0] = '\0';
	hmap_init(&a.by_inode);
	r = parse_stream(&a, in);
	if (r == 0)
		r = index_items(&a);
	if (r == 0)
		r = collect_removals(&a);
	if (r == 0) {
		a.replaced = calloc(a.nitems ? a.nitems : 1, sizeof(*a.replaced));
		if (!a.replaced)
			r = -ENOMEM;
	}
	if (r == 0)
		r = note_foreign_tombstones(&a);
	if (r == 0) {
		detach(&a);
		r = free_removed(&a);
	}
	for (size_t i = 0; i < a.nitems && r == 0; i++)
		r = place(&a, &a.items[i]);
	if (r == 0) {
		st->tree.version = end->version;
		st->auth_version = end->auth_version;
		st->lineage = end->lineage;
		st->limits = end->limits;
		r = cfs_vmlist_rebuild(&st->vmlist, &st->tree, &dups);
	}
	if (r == 0)
		r = check_result(&a);
	if (r == -ENOMEM && !err[0])
		snprintf(err, errlen, "out of memory");
	ctx_free(&a);
	return r;
}
