/* SPDX-License-Identifier: MIT */
/*
 * The attributes and entries of inodes as the tree, the virtual files and
 * the files being created here (fuse_newfile.h) have them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuse_internal.h"
#include "droverfs/core/layout.h"
#include "basic/nstime.h"
#include "basic/util.h"
#include "droverfs/shell/virtual.h"

#define ENTRY_TIMEOUT 1.0

struct cfs_entry *cfs_fuse_entry_of(struct cfs_daemon *d, uint64_t ino)
{
	struct cfs_tree *t = &cfs_daemon_state(d)->tree;
	struct cfs_new_file *nf;

	if (!cfs_new_file_ino(ino))
		return cfs_tree_lookup(t, ino);
	nf = cfs_new_file_by_ino(d->fuse, ino);
	if (!nf)
		return NULL;
	return cfs_tree_lookup(t, nf->state == CFS_NEW_DONE ? nf->real_ino : nf->parent);
}

/*
 * Where ino departed from among the changes applied but not yet committed:
 * the FUSE layer hears of a change at its commit (the batch's end), and the
 * kernel may ask about the inode before that.
 */
static int departed_uncommitted(const struct cfs_state *st, uint64_t ino, uint64_t *parent,
				const char **name)
{
	for (size_t i = st->nchanges; i-- > 0;) {
		const struct cfs_change *c = &st->changes[i];

		if (cfs_change_departed(c) == ino) {
			*parent = c->parent;
			*name = cfs_change_name(c->path);
			return 0;
		}
	}
	return -ENOENT;
}

struct cfs_entry *cfs_fuse_departed_successor(struct cfs_daemon *d, uint64_t ino,
					      uint64_t within_ns)
{
	struct cfs_tree *t = &cfs_daemon_state(d)->tree;
	uint64_t parent, now = now_monotonic_ns(), when = now;
	struct cfs_entry *dir, *e;
	const char *name;

	if (cfs_departed_find(&d->fuse->departed, ino, now, &parent, &name, &when) < 0 &&
	    departed_uncommitted(cfs_daemon_state(d), ino, &parent, &name) < 0)
		return NULL;
	if (now - when > within_ns)
		return NULL;
	dir = cfs_tree_lookup(t, parent);
	e = dir && dir->type == CFS_DIR ? cfs_tree_child(t, dir, name) : NULL;
	return e && e->type != CFS_DIR ? e : NULL;
}

bool cfs_fuse_private(struct cfs_daemon *d, uint64_t ino)
{
	struct cfs_entry *e = cfs_fuse_entry_of(d, ino);

	return e && layout_is_private(e);
}

static int virtual_stat(struct cfs_daemon *d, int id, struct stat *st)
{
	enum cfs_mode_kind kind = cfs_virtual_mode_kind(id);
	int64_t start = nstime_from_s(d->starttime);

	cfs_fuse_common_attr(d, st, cfs_virtual_ino(id),
			     &(struct cfs_times){ start, start, start });
	st->st_nlink = 1;
	if (cfs_virtual_is_symlink(id)) {
		char target[CFS_PATH_MAX];

		cfs_virtual_symlink(d, id, target, sizeof(target));
		st->st_mode = S_IFLNK | cfs_mode_bits(kind, false, d->quorate);
		st->st_size = (off_t)strlen(target);
	} else {
		/* Generated on demand, as its size has to be right for readers. */
		char *content = cfs_virtual_content(d, id);

		if (!content)
			return -ENOMEM;
		st->st_mode = S_IFREG | cfs_mode_bits(kind, false, d->quorate);
		st->st_size = (off_t)strlen(content);
		free(content);
	}
	return 0;
}

/* A file being created here: as its creator wrote it, or the tree's once it is in. */
static int new_file_stat(struct cfs_daemon *d, uint64_t ino, struct stat *st)
{
	struct cfs_new_file *nf = cfs_new_file_by_ino(d->fuse, ino);
	int r;

	if (!nf || (nf->state == CFS_NEW_DONE && nf->error))
		return -ENOENT;
	if (nf->state != CFS_NEW_DONE) {
		cfs_new_file_stat(nf, st);
		return 0;
	}
	r = cfs_fuse_stat(d, nf->real_ino, st);
	if (r == 0)
		st->st_ino = ino;
	return r;
}

int cfs_fuse_stat(struct cfs_daemon *d, uint64_t ino, struct stat *st)
{
	int id = cfs_virtual_id(ino);
	struct cfs_entry *e;
	bool priv;

	if (id >= 0)
		return virtual_stat(d, id, st);
	if (cfs_new_file_ino(ino))
		return new_file_stat(d, ino, st);
	e = cfs_tree_lookup(&cfs_daemon_state(d)->tree, ino);
	if (!e)
		return -ENOENT;
	priv = layout_is_private(e);
	cfs_fuse_common_attr(d, st, ino, &e->times);
	if (e->type == CFS_DIR) {
		st->st_mode = S_IFDIR | cfs_mode_bits(CFS_MODE_DIR, priv, d->quorate);
		st->st_nlink = 2 + e->nsubdirs; /* "." and its name, and each subdirectory's ".." */
		st->st_size = 4096;
	} else {
		st->st_mode = S_IFREG | cfs_mode_bits(CFS_MODE_FILE, priv, d->quorate);
		st->st_nlink = 1;
		st->st_size = (off_t)cfs_blob_size(e->data);
	}
	st->st_blocks = (st->st_size + 511) / 512;
	return 0;
}

int cfs_fuse_entry(struct cfs_daemon *d, uint64_t ino, struct fuse_entry_param *ep)
{
	struct cfs_entry *e = cfs_tree_lookup(&cfs_daemon_state(d)->tree, ino);
	int r;

	memset(ep, 0, sizeof(*ep));
	r = cfs_fuse_stat(d, ino, &ep->attr);
	if (r < 0)
		return r;
	ep->ino = ino;
	ep->entry_timeout = ENTRY_TIMEOUT;
	ep->attr_timeout = CFS_ATTR_TIMEOUT;
	/*
	 * Locks change under other hands (expiry, other nodes) and generated
	 * files change size by themselves: never let the kernel trust those.
	 */
	if (cfs_virtual_id(ino) >= 0 && !cfs_virtual_is_symlink(cfs_virtual_id(ino)))
		ep->attr_timeout = 0;
	/* A new file changes inode number when it enters the tree. */
	if ((e && layout_in_lock_area(e)) || cfs_new_file_ino(ino))
		ep->entry_timeout = ep->attr_timeout = 0;
	return 0;
}
