/* SPDX-License-Identifier: MIT */
/* What every FUSE handler needs: who asks, and the attributes every inode shares. */
#include <string.h>

#include "fuse_internal.h"
#include "basic/nstime.h"
#include "basic/util.h"

enum cfs_caller req_caller(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct cfs_daemon *d = req_daemon(req);
	gid_t groups[64];
	int n;

	if (ctx->uid == 0)
		return CFS_CALLER_ROOT;
	if (ctx->gid == d->gid)
		return CFS_CALLER_READER;
	n = fuse_req_getgroups(req, (int)ARRAY_SIZE(groups), groups);
	if (n < 0)
		n = 0;
	return cfs_caller_classify(ctx->uid, ctx->gid, groups, MIN(n, (int)ARRAY_SIZE(groups)),
				   d->gid);
}

void cfs_fuse_common_attr(struct cfs_daemon *d, struct stat *st, uint64_t ino,
			  const struct cfs_times *times)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = 0;
	st->st_gid = d->gid;
	st->st_blksize = 4096;
	st->st_mtim = nstime_to_timespec(times->mtime);
	st->st_ctim = nstime_to_timespec(times->ctime);
	st->st_atim = nstime_to_timespec(times->atime);
}
