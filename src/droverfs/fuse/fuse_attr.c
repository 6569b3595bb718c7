/* SPDX-License-Identifier: MIT */
/*
 * What a request is told of an inode's attributes.
 *
 * Everyone sees the committed attributes, except:
 *  - a process with writes not yet committed to the file sees the size of
 *    what it wrote. fstat(2) reaches us without its descriptor (only
 *    lseek(SEEK_END) and ftruncate bring one), so the process that asks
 *    is what tells the writer from the others; a request through a handle
 *    gets that handle's own view.
 *  - an inode removed (or replaced) while open here keeps the attributes
 *    of its last open, with no links, for whoever has it open; the size
 *    is that of the asker's own copy.
 * The kernel keeps one size per inode for every process: while any of its
 * handles has uncommitted writes (or its file is gone), an answer may not
 * be cached, else the next process, or the writer's next lseek, would see
 * the size meant for another.
 */
#include <errno.h>

#include "fuse_internal.h"
#include "basic/procinfo.h"
#include "droverfs/core/layout.h"
#include "droverfs/shell/virtual.h"

/* The process that opened h. */
static pid_t opener_of(struct cfs_handle *h)
{
	if (!h->opener_pid && h->opener_tid)
		h->opener_pid = proc_tgid(h->opener_tid);
	return h->opener_pid;
}

/* Does h show content of its own: writes not committed, or a copy of a file that is gone? */
static bool own_view(const struct cfs_handle *h)
{
	return cfs_handle_pending(h) || h->orphan;
}

/* Does any handle on ino have a view of its own (uncommitted writes, or a file that is gone)? */
static bool views_differ(struct cfs_handle *handles, bool gone)
{
	if (gone)
		return handles != NULL;
	for (struct cfs_handle *h = handles; h; h = h->opened_next)
		if (own_view(h))
			return true;
	return false;
}

/*
 * The asker's handle on ino whose view differs from the committed one (a
 * writer's first), or NULL.
 */
static struct cfs_handle *askers_handle(fuse_req_t req, struct cfs_handle *handles, bool gone)
{
	struct cfs_handle *found = NULL;
	pid_t asker = 0;

	for (struct cfs_handle *h = handles; h; h = h->opened_next) {
		if (!own_view(h) && (!gone || found))
			continue;
		if (!asker)
			asker = proc_tgid(fuse_req_ctx(req)->pid);
		if (opener_of(h) != asker)
			continue;
		if (own_view(h))
			return h;
		found = h;
	}
	return found;
}

static void set_size(struct stat *st, size_t size)
{
	st->st_size = (off_t)size;
	st->st_blocks = (st->st_size + 511) / 512;
}

/*
 * The attributes the asker's redirected handle on the gone inode ino sees:
 * those of the file it is open on (linked, as it is), with its own size
 * while it has writes of its own. False when the asker has no such handle
 * or its file is gone too (then it is an orphan like any other).
 */
static bool redirected_view(fuse_req_t req, uint64_t ino, struct cfs_handle *h,
			    struct cfs_handle *handles, struct cfs_attr *a)
{
	struct cfs_fuse *f = req_fuse(req);
	struct cfs_handle *mine = h ? h : askers_handle(req, handles, true);

	if (!cfs_handle_redirected(mine, ino) || cfs_fuse_stat(f->d, mine->inode, &a->st) < 0)
		return false;
	a->st.st_ino = ino;
	a->timeout = 0;
	if (own_view(mine))
		set_size(&a->st, cfs_handle_size(mine));
	return true;
}

int cfs_fuse_attr(fuse_req_t req, uint64_t ino, struct cfs_handle *h, struct cfs_attr *a)
{
	struct cfs_fuse *f = req_fuse(req);
	struct cfs_handle *handles = cfs_opened_handles(&f->opened, ino);
	struct stat *saved = cfs_opened_stat(&f->opened, ino);
	struct cfs_entry *successor;
	struct cfs_handle *own;
	int r = cfs_fuse_stat(f->d, ino, &a->st);

	a->gone = false;
	a->timeout = cfs_virtual_id(ino) >= 0 ? 0 : CFS_ATTR_TIMEOUT;
	if (r == -ENOENT && redirected_view(req, ino, h, handles, a))
		return 0;
	if (r == -ENOENT && saved) {
		a->st = *saved;
		a->st.st_nlink = 0;
		a->gone = true;
		r = 0;
	} else if (r == -ENOENT &&
		   (successor = cfs_fuse_departed_successor(f->d, ino, CFS_DEPARTED_TTL_NS))) {
		/*
		 * Replaced while the kernel walked a path to it (a permission
		 * check, a stat): the attributes of what the name holds now, as
		 * the kernel's second look would find; never cached.
		 */
		if (req_caller(req) == CFS_CALLER_READER && layout_is_private(successor))
			return -EACCES; /* (the gone inode said nothing of where its name went) */
		r = cfs_fuse_stat(f->d, successor->inode, &a->st);
		a->st.st_ino = ino;
		a->timeout = 0;
		return r;
	}
	if (r < 0 || !views_differ(handles, a->gone))
		return r;
	a->timeout = 0;
	if (S_ISDIR(a->st.st_mode))
		return 0; /* a directory has no content of its own to size */
	if (h && h->kind != CFS_HANDLE_FILE)
		h = NULL;
	own = h ? h : askers_handle(req, handles, a->gone);
	if (own && (a->gone || own_view(own)))
		set_size(&a->st, cfs_handle_size(own));
	else if (a->gone)
		set_size(&a->st, cfs_handle_size(handles));
	return 0;
}

void cfs_fuse_reply_attr(fuse_req_t req, uint64_t ino, struct cfs_handle *h, int error)
{
	struct cfs_attr a;

	if (error == 0)
		error = cfs_fuse_attr(req, ino, h, &a);
	if (error < 0)
		fuse_reply_err(req, -error);
	else
		fuse_reply_attr(req, &a.st, a.timeout);
}
