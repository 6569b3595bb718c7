/* SPDX-License-Identifier: MIT */
#include "op.h"

#include <errno.h>
#include <string.h>

#include "basic/wire.h"
#include "basic/nstime.h"

const char *cfs_op_kind_name(uint8_t kind)
{
	static const char *const names[] = {
		[CFS_OP_CREATE] = "create", [CFS_OP_MKDIR] = "mkdir",
		[CFS_OP_WRITE] = "write",   [CFS_OP_TRUNCATE] = "truncate",
		[CFS_OP_UNLINK] = "unlink", [CFS_OP_RMDIR] = "rmdir",
		[CFS_OP_RENAME] = "rename", [CFS_OP_MTIME] = "mtime",
		[CFS_OP_UNLOCK] = "unlock",
	};

	if (kind == 0 || kind > CFS_OP_KIND_MAX)
		return "unknown";
	return names[kind];
}

int cfs_op_set_name(char dst[CFS_NAME_MAX + 1], const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || strchr(name, '/'))
		return -EINVAL;
	if (len > CFS_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(dst, name, len + 1);
	return 0;
}

/* Fixed part: version, kind, flags, writer, time, ino, ino2, arg. */
#define FIXED_SIZE (1 + 1 + 4 + 4 + 8 + 8 + 8 + 8)

/* Flags version 2 knew. */
#define V2_FLAGS                                                                         \
	(CFS_WRITE_REPLACE | CFS_WRITE_APPEND | CFS_RENAME_NOREPLACE | CFS_CREATE_DATA | \
	 CFS_CREATE_EXCL | CFS_CREATE_APPEND)

size_t cfs_op_encoded_size(const struct cfs_op *op)
{
	return FIXED_SIZE + (op->flags & CFS_OP_SET_MTIME ? 8 : 0) +
	       (op->flags & CFS_OP_SET_ATIME ? 8 : 0) + 2 + strlen(op->name) + 2 +
	       strlen(op->name2) + 4 + op->size;
}

int cfs_op_encode(const struct cfs_op *op, struct buf *out)
{
	struct wire_writer w;

	wire_writer_init(&w, out);
	wire_put_u8(&w, CFS_OP_CODEC_VERSION);
	wire_put_u8(&w, op->kind);
	wire_put_u32(&w, op->flags);
	wire_put_u32(&w, op->writer);
	wire_put_u64(&w, (uint64_t)op->time_ns);
	wire_put_u64(&w, op->ino);
	wire_put_u64(&w, op->ino2);
	wire_put_u64(&w, op->arg);
	if (op->flags & CFS_OP_SET_MTIME)
		wire_put_u64(&w, (uint64_t)op->mtime_ns);
	if (op->flags & CFS_OP_SET_ATIME)
		wire_put_u64(&w, (uint64_t)op->atime_ns);
	wire_put_str(&w, op->name);
	wire_put_str(&w, op->name2);
	wire_put_blob(&w, op->data, op->size);
	return w.error;
}

static int get_name(struct wire_reader *r, char dst[CFS_NAME_MAX + 1])
{
	uint16_t len = wire_get_u16(r);
	const char *p = wire_get_bytes(r, len);

	if (!p || len > CFS_NAME_MAX || memchr(p, '\0', len) || memchr(p, '/', len))
		return -EBADMSG;
	memcpy(dst, p, len);
	dst[len] = '\0';
	return 0;
}

/* Before version 3 times were whole seconds, and MTIME carried its time in `arg`. */
static void upgrade_v2(struct cfs_op *op)
{
	op->time_ns = nstime_from_s(op->time_ns);
	if (op->kind == CFS_OP_MTIME) {
		op->flags |= CFS_OP_SET_MTIME;
		op->mtime_ns = nstime_from_s((int64_t)op->arg);
		op->arg = 0;
	}
}

int cfs_op_decode(const void *data, size_t len, struct cfs_op *op)
{
	struct wire_reader r;
	uint8_t version;

	memset(op, 0, sizeof(*op));
	wire_reader_init(&r, data, len);
	version = wire_get_u8(&r);
	if (r.error)
		return -EBADMSG;
	if (version > CFS_OP_CODEC_VERSION)
		return -EPROTO;
	if (version == 0)
		return -EBADMSG;
	op->kind = wire_get_u8(&r);
	op->flags = wire_get_u32(&r);
	op->writer = wire_get_u32(&r);
	op->time_ns = (int64_t)wire_get_u64(&r);
	op->ino = wire_get_u64(&r);
	op->ino2 = wire_get_u64(&r);
	op->arg = wire_get_u64(&r);
	if (version < 3 && (op->flags & ~V2_FLAGS))
		return -EBADMSG;
	if (op->flags & CFS_OP_SET_MTIME)
		op->mtime_ns = (int64_t)wire_get_u64(&r);
	if (op->flags & CFS_OP_SET_ATIME)
		op->atime_ns = (int64_t)wire_get_u64(&r);
	if (get_name(&r, op->name) < 0 || get_name(&r, op->name2) < 0)
		return -EBADMSG;
	op->data = wire_get_blob(&r, &op->size);
	if (r.error || r.left != 0)
		return -EBADMSG;
	if (op->kind == 0 || op->kind > CFS_OP_KIND_MAX || (op->flags & ~CFS_OP_FLAGS_ALL))
		return -EBADMSG;
	if (version < 3)
		upgrade_v2(op);
	return 0;
}
