/* SPDX-License-Identifier: MIT */
#include "node_dirs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "basic/log.h"
#include "basic/nstime.h"
#include "basic/util.h"
#include "submit.h"

static void layout_step_done(struct cfs_daemon *d, void *ctx, int result,
			     const struct cfs_result *res)
{
	/* EEXIST: another node made it first (all race for "nodes" after a sync) */
	if (result == 0 || result == -EEXIST)
		cfs_node_dirs_ensure(d); /* the next missing one */
	else if (result != -EACCES)
		log_warn("cannot create the node's directories: %s", strerror(-result));
}

/*
 * Submit the mkdir of path if it is missing (its parent exists). Returns
 * true if it did: the directories are made one at a time, each after the
 * one before was applied, because in cluster mode that takes a round trip.
 */
static bool ensure_dir(struct cfs_daemon *d, const char *path)
{
	const char *slash = strrchr(path, '/');
	struct cfs_state *st = cfs_daemon_state(d);
	struct cfs_op op = { .kind = CFS_OP_MKDIR, .time_ns = now_wall_ns() };
	struct cfs_entry *dir;
	char parent[CFS_PATH_MAX];

	if (cfs_tree_resolve(&st->tree, path))
		return false;
	snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - path) : 0, path);
	dir = cfs_tree_resolve(&st->tree, parent);
	if (!dir || cfs_op_set_name(op.name, slash ? slash + 1 : path) < 0)
		return false;
	op.ino = dir->inode;
	op.writer = cfs_daemon_writer(d);
	cfs_submit(d, &op, layout_step_done, NULL);
	if (!cfs_daemon_clustered(d))
		cfs_submit_commit(d);
	return true;
}

void cfs_node_dirs_ensure(struct cfs_daemon *d)
{
	const char *subdirs[] = { "", "/qemu-server", "/lxc", "/priv" };
	char path[CFS_PATH_MAX];

	if (ensure_dir(d, "nodes"))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
		snprintf(path, sizeof(path), "nodes/%s%s", d->opt.nodename, subdirs[i]);
		if (ensure_dir(d, path))
			return;
	}
	if (ensure_dir(d, "priv"))
		return;
	ensure_dir(d, "priv/lock");
}
