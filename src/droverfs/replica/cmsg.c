/* SPDX-License-Identifier: MIT */
#include "cmsg.h"

#include <errno.h>
#include <string.h>

#include "basic/wire.h"

int cmsg_begin(struct buf *out, uint16_t type, uint64_t epoch)
{
	struct wire_writer w;

	wire_writer_init(&w, out);
	wire_put_u32(&w, CMSG_MAGIC);
	wire_put_u16(&w, CMSG_PROTOCOL);
	wire_put_u16(&w, type);
	wire_put_u64(&w, epoch);
	return w.error;
}

int cmsg_parse_header(const void *data, size_t len, struct cmsg_header *h, const void **payload,
		      size_t *plen)
{
	struct wire_reader r;

	wire_reader_init(&r, data, len);
	if (wire_get_u32(&r) != CMSG_MAGIC)
		return -EBADMSG;
	h->protocol = wire_get_u16(&r);
	h->type = wire_get_u16(&r);
	h->epoch = wire_get_u64(&r);
	if (r.error)
		return -EBADMSG;
	/* another layout: an older one is not guessed at either */
	if (h->protocol != CMSG_PROTOCOL && h->protocol != 0)
		return -EPROTO;
	if (h->protocol == 0 || h->type == 0 || h->type > CMSG_TYPE_MAX)
		return -EBADMSG;
	*payload = r.p;
	*plen = r.left;
	return 0;
}

const char *cmsg_type_name(uint16_t type)
{
	static const char *const names[] = {
		[CMSG_OP] = "op",		 [CMSG_SYNC_START] = "sync-start",
		[CMSG_STATE] = "state",		 [CMSG_UPDATE] = "update",
		[CMSG_UPDATE_END] = "update-end", [CMSG_VERIFY_REQ] = "verify-request",
		[CMSG_VERIFY] = "verify",	 [CMSG_KV] = "kv",
		[CMSG_LOG] = "log",		 [CMSG_SYNC_REQ] = "sync-request",
		[CMSG_CONF_WRITTEN] = "conf-written",
		[CMSG_ACK] = "ack",
		[CMSG_ACK_REQ] = "ack-req",
	};

	return type > 0 && type <= CMSG_TYPE_MAX ? names[type] : "unknown";
}

static void put_limits(struct wire_writer *w, const struct cfs_limits *l)
{
	wire_put_u64(w, l->max_file_size);
	wire_put_u64(w, l->max_total_bytes);
	wire_put_u64(w, l->max_entries);
}

static void get_limits(struct wire_reader *r, struct cfs_limits *l)
{
	l->max_file_size = wire_get_u64(r);
	l->max_total_bytes = wire_get_u64(r);
	l->max_entries = wire_get_u64(r);
}

static void put_digest(struct wire_writer *w, const struct cfs_digest *d)
{
	wire_put_u64(w, d->sum);
	wire_put_u64(w, d->xor);
}

static void get_digest(struct wire_reader *r, struct cfs_digest *d)
{
	d->sum = wire_get_u64(r);
	d->xor = wire_get_u64(r);
}

int cmsg_put_state(struct buf *out, const struct cmsg_state *s)
{
	struct wire_writer w;

	wire_writer_init(&w, out);
	wire_put_u8(&w, (uint8_t)(s->quorate | s->forced << 1 | s->diverged << 2));
	wire_put_u64(&w, s->version);
	wire_put_u64(&w, s->auth_version);
	wire_put_u64(&w, s->lineage);
	put_digest(&w, &s->digest);
	wire_put_u64(&w, s->nentries);
	wire_put_u64(&w, s->tombstone_floor);
	put_limits(&w, &s->limits);
	return w.error;
}

int cmsg_get_state(const void *p, size_t len, struct cmsg_state *s)
{
	struct wire_reader r;
	uint8_t flags;

	wire_reader_init(&r, p, len);
	flags = wire_get_u8(&r);
	s->quorate = flags & 1;
	s->forced = flags & 2;
	s->diverged = flags & 4;
	s->version = wire_get_u64(&r);
	s->auth_version = wire_get_u64(&r);
	s->lineage = wire_get_u64(&r);
	get_digest(&r, &s->digest);
	s->nentries = wire_get_u64(&r);
	s->tombstone_floor = wire_get_u64(&r);
	get_limits(&r, &s->limits);
	if (r.error || r.left)
		return -EBADMSG;
	return s->auth_version <= s->version ? 0 : -EBADMSG;
}

int cmsg_put_update_end(struct buf *out, const struct cmsg_update_end *e)
{
	struct wire_writer w;

	wire_writer_init(&w, out);
	wire_put_u8(&w, e->full);
	wire_put_u64(&w, e->since);
	wire_put_u64(&w, e->version);
	wire_put_u64(&w, e->auth_version);
	wire_put_u64(&w, e->lineage);
	put_digest(&w, &e->digest);
	wire_put_u64(&w, e->nentries);
	wire_put_u64(&w, e->entries_sent);
	wire_put_u64(&w, e->tombstones_sent);
	put_limits(&w, &e->limits);
	return w.error;
}

int cmsg_get_update_end(const void *p, size_t len, struct cmsg_update_end *e)
{
	struct wire_reader r;

	wire_reader_init(&r, p, len);
	e->full = wire_get_u8(&r) != 0;
	e->since = wire_get_u64(&r);
	e->version = wire_get_u64(&r);
	e->auth_version = wire_get_u64(&r);
	e->lineage = wire_get_u64(&r);
	get_digest(&r, &e->digest);
	e->nentries = wire_get_u64(&r);
	e->entries_sent = wire_get_u64(&r);
	e->tombstones_sent = wire_get_u64(&r);
	get_limits(&r, &e->limits);
	return r.error || r.left ? -EBADMSG : 0;
}

int cmsg_put_item(struct buf *out, const struct cmsg_item *it)
{
	struct wire_writer w;

	wire_writer_init(&w, out);
	wire_put_u8(&w, it->type);
	wire_put_u64(&w, it->inode);
	wire_put_u64(&w, it->version);
	if (it->type != 0) {
		wire_put_u64(&w, it->parent);
		wire_put_u32(&w, it->writer);
		wire_put_u64(&w, (uint64_t)it->times.mtime);
		wire_put_u64(&w, (uint64_t)it->times.ctime);
		wire_put_u64(&w, (uint64_t)it->times.atime);
		wire_put_str(&w, it->name);
		wire_put_blob(&w, it->data, it->size);
	}
	return w.error;
}

int cmsg_items_begin(struct cmsg_items *it, const void *payload, size_t len)
{
	struct wire_reader r;

	wire_reader_init(&r, payload, len);
	it->remaining = wire_get_u32(&r);
	it->p = r.p;
	it->left = r.left;
	return r.error;
}

int cmsg_items_next(struct cmsg_items *it, struct cmsg_item *item)
{
	struct wire_reader r;
	uint16_t n;
	const char *name;

	if (it->remaining == 0)
		return it->left == 0 ? 0 : -EBADMSG;
	wire_reader_init(&r, it->p, it->left);
	memset(item, 0, sizeof(*item));
	item->type = wire_get_u8(&r);
	item->inode = wire_get_u64(&r);
	item->version = wire_get_u64(&r);
	if (item->type > 2)
		return -EBADMSG;
	if (item->type != 0) {
		item->parent = wire_get_u64(&r);
		item->writer = wire_get_u32(&r);
		item->times.mtime = (int64_t)wire_get_u64(&r);
		item->times.ctime = (int64_t)wire_get_u64(&r);
		item->times.atime = (int64_t)wire_get_u64(&r);
		n = wire_get_u16(&r);
		name = wire_get_bytes(&r, n);
		/* Only the root has no name. */
		if (!name || (n == 0) != (item->inode == CFS_ROOT_INODE) || n > CFS_NAME_MAX ||
		    memchr(name, '/', n) || memchr(name, '\0', n))
			return -EBADMSG;
		memcpy(item->name, name, n);
		item->name[n] = '\0';
		item->data = wire_get_blob(&r, &item->size);
		if (item->type == CFS_DIR && item->size)
			return -EBADMSG;
	}
	if (r.error || item->inode == 0)
		return -EBADMSG;
	it->p = r.p;
	it->left = r.left;
	it->remaining--;
	return 1;
}

int cmsg_put_verify(struct buf *out, const struct cmsg_verify *v)
{
	struct wire_writer w;

	wire_writer_init(&w, out);
	wire_put_u64(&w, v->id);
	wire_put_u64(&w, v->version);
	put_digest(&w, &v->digest);
	return w.error;
}

int cmsg_get_verify(const void *p, size_t len, struct cmsg_verify *v)
{
	struct wire_reader r;

	wire_reader_init(&r, p, len);
	v->id = wire_get_u64(&r);
	v->version = wire_get_u64(&r);
	get_digest(&r, &v->digest);
	return r.error || r.left ? -EBADMSG : 0;
}
