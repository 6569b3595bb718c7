/* SPDX-License-Identifier: MIT */
/*
 * Inodes whose name was taken from them a moment ago (unlinked, or replaced
 * by a rename over them), each with the name it had.
 *
 * The kernel resolves a path to an inode and then asks us to open or
 * truncate that inode: two requests, between which another process or node
 * may replace the file. On a local file system the open still gets the
 * inode it looked up; here that inode is gone. ESTALE makes the kernel look
 * the name up again, but only once, and under steady churn (a config saved
 * by temp file and rename over and over) the second inode can be gone too:
 * the program would see "Stale file handle" for a name that always existed.
 * So a request on a departed inode goes to what its name holds now, which
 * is what the caller's path named when it asked.
 *
 * Entries live for a few seconds (a kernel name entry is trusted for one,
 * and another node's invalidation arrives after a delay); only the FUSE
 * layer uses this.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "basic/hmap.h"
#include "droverfs/core/state.h"

/* How long a departed inode is remembered, and how many at most. */
#define CFS_DEPARTED_TTL_NS (10ull * 1000000000ull)
#define CFS_DEPARTED_MAX 4096

struct cfs_departed_entry;

struct cfs_departed {
	struct hmap by_ino;
	struct cfs_departed_entry *oldest, *newest; /* in the order they departed */
	size_t count;
};

void cfs_departed_init(struct cfs_departed *dp);
void cfs_departed_free(struct cfs_departed *dp);

/*
 * Inode ino lost its name `name` in directory parent at now_ns (a
 * monotonic clock). Forgets what is older than the TTL or beyond the
 * maximum. 0, or -ENOMEM (then nothing is remembered: the request gets
 * ESTALE as before).
 */
int cfs_departed_add(struct cfs_departed *dp, uint64_t ino, uint64_t parent, const char *name,
		     uint64_t now_ns);

/*
 * The directory and name ino departed from, if it did so within the TTL
 * before now_ns: 0 with *parent and *name set (name valid until the next
 * call: a find forgets what has expired too) and *when_ns (if not NULL)
 * when it departed, or -ENOENT.
 */
int cfs_departed_find(struct cfs_departed *dp, uint64_t ino, uint64_t now_ns, uint64_t *parent,
		      const char **name, uint64_t *when_ns);

/* The last part of a change's path: the entry's name in its directory. */
const char *cfs_change_name(const char *path);

/*
 * The inode change c took its name from (unlinked, or replaced by a
 * rename over it), or 0; that name is cfs_change_name(c->path) in c->parent.
 */
uint64_t cfs_change_departed(const struct cfs_change *c);
