/* SPDX-License-Identifier: MIT */
#include "handles.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/array.h"
#include "basic/util.h"

struct cfs_handle *cfs_handle_new(enum cfs_handle_kind kind, uint64_t inode, struct cfs_blob *base)
{
	struct cfs_handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->kind = kind;
	h->inode = inode;
	h->base = cfs_blob_ref(base);
	return h;
}

void cfs_handle_free(struct cfs_handle *h)
{
	if (!h)
		return;
	cfs_blob_unref(h->base);
	buf_free(&h->buf);
	buf_free(&h->appended);
	for (size_t i = 0; i < h->ndirents; i++)
		free(h->dirents[i].name);
	free(h->dirents);
	free(h);
}

void cfs_handle_truncate_at_open(struct cfs_handle *h)
{
	buf_clear(&h->buf);
	h->materialized = true;
	h->append = false;
	/* Truncating what is empty changes nothing: no commit for `> newfile`. */
	if (cfs_blob_size(h->base) > 0) {
		h->dirty = true;
		h->write_gen++;
	}
}

size_t cfs_handle_size(const struct cfs_handle *h)
{
	if (h->materialized)
		return h->buf.len;
	return cfs_blob_size(h->base) + (h->append ? h->appended.len : 0);
}

size_t cfs_handle_read(const struct cfs_handle *h, uint64_t off, void *out, size_t size)
{
	size_t total = cfs_handle_size(h), n, base_len, done = 0;
	unsigned char *o = out;

	if (off >= total)
		return 0;
	n = MIN(size, total - (size_t)off);
	if (h->materialized) {
		memcpy(o, h->buf.data + off, n);
		return n;
	}
	base_len = cfs_blob_size(h->base);
	if (off < base_len) {
		done = MIN(n, base_len - (size_t)off);
		memcpy(o, h->base->data + off, done);
	}
	if (done < n)
		memcpy(o + done, h->appended.data + (off + done - base_len), n - done);
	return n;
}

/* Make buf hold the whole content (copy of base plus appended bytes). */
static int materialize(struct cfs_handle *h)
{
	size_t base_len = cfs_blob_size(h->base);
	int r;

	if (h->materialized)
		return 0;
	buf_clear(&h->buf);
	r = buf_append(&h->buf, h->base ? h->base->data : NULL, base_len);
	if (r == 0 && h->append)
		r = buf_append(&h->buf, h->appended.data, h->appended.len);
	if (r < 0)
		return r;
	buf_clear(&h->appended);
	h->append = false;
	h->materialized = true;
	return 0;
}

long cfs_handle_write(struct cfs_handle *h, uint64_t off, const void *data, size_t size,
		      uint64_t max_size)
{
	int r;

	if (h->error)
		return h->error;
	if (h->append) {
		/* The kernel's idea of the end may be stale; an append is an append. */
		if (cfs_handle_size(h) + size > max_size)
			return -EFBIG;
		r = buf_append(&h->appended, data, size);
		if (r < 0)
			return r;
	} else {
		if (off > max_size || size > max_size - off)
			return -EFBIG;
		r = materialize(h);
		if (r < 0)
			return r;
		if (off + size > h->buf.len) {
			size_t old = h->buf.len;

			r = buf_reserve(&h->buf, (size_t)off + size - old);
			if (r < 0)
				return r;
			if (off > old)
				memset(h->buf.data + old, 0, (size_t)off - old);
			h->buf.len = (size_t)off + size;
		}
		memcpy(h->buf.data + off, data, size);
	}
	h->dirty = !h->orphan;
	h->wrote = true;
	h->write_gen++;
	return (long)size;
}

int cfs_handle_truncate(struct cfs_handle *h, uint64_t size, uint64_t max_size)
{
	size_t old;
	int r;

	if (h->error)
		return h->error;
	if (size > max_size)
		return -EFBIG;
	r = materialize(h);
	if (r < 0)
		return r;
	old = h->buf.len;
	if (size > old) {
		r = buf_reserve(&h->buf, (size_t)size - old);
		if (r < 0)
			return r;
		memset(h->buf.data + old, 0, (size_t)size - old);
	}
	h->buf.len = (size_t)size;
	h->dirty = !h->orphan;
	h->wrote = true;
	h->write_gen++;
	return 0;
}

void cfs_handle_fail(struct cfs_handle *h, int error)
{
	if (error < 0 && !h->error)
		h->error = error;
	h->dirty = false;
}

void cfs_handle_orphan(struct cfs_handle *h)
{
	h->orphan = true;
	h->dirty = false;
}

bool cfs_handle_commit_op(struct cfs_handle *h, struct cfs_op *op)
{
	if (!cfs_handle_pending(h))
		return false;
	memset(op, 0, sizeof(*op));
	op->kind = CFS_OP_WRITE;
	op->ino = h->inode;
	if (h->append) {
		op->flags = CFS_WRITE_APPEND;
		op->data = h->appended.data;
		op->size = h->appended.len;
		h->commit_appended = h->appended.len;
	} else {
		op->flags = CFS_WRITE_REPLACE;
		op->data = h->buf.data;
		op->size = h->buf.len;
	}
	h->commit_gen = h->write_gen;
	return true;
}

void cfs_handle_committed(struct cfs_handle *h, struct cfs_blob *now)
{
	if (h->append) {
		/* What was appended after the commit was made goes on top of `now`. */
		buf_consume(&h->appended, h->commit_appended);
		h->commit_appended = 0;
		h->dirty = h->appended.len > 0;
	} else if (h->write_gen == h->commit_gen) {
		h->dirty = false;
		buf_free(&h->buf);
		h->materialized = false;
	} else {
		return; /* written meanwhile: buf still holds the whole newer content */
	}
	cfs_blob_unref(h->base);
	h->base = cfs_blob_ref(now);
}

int cfs_handle_add_dirent(struct cfs_handle *h, uint64_t ino, uint32_t mode, const char *name)
{
	struct cfs_dirent *d;

	if (ARRAY_GROW(h->dirents, h->dirents_cap, h->ndirents + 1) < 0)
		return -ENOMEM;
	d = &h->dirents[h->ndirents];
	d->name = strdup(name);
	if (!d->name)
		return -ENOMEM;
	d->ino = ino;
	d->mode = mode;
	h->ndirents++;
	return 0;
}
