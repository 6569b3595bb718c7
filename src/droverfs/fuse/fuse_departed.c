/* SPDX-License-Identifier: MIT */
#include "fuse_departed.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/hash.h"
#include "basic/util.h"

struct cfs_departed_entry {
	struct hmap_node node;
	struct cfs_departed_entry *next; /* the next to depart after it */
	uint64_t ino;
	uint64_t parent;
	uint64_t when_ns;
	char name[];
};

void cfs_departed_init(struct cfs_departed *dp)
{
	memset(dp, 0, sizeof(*dp));
	hmap_init(&dp->by_ino);
}

static void drop_oldest(struct cfs_departed *dp)
{
	struct cfs_departed_entry *e = dp->oldest;

	dp->oldest = e->next;
	if (!dp->oldest)
		dp->newest = NULL;
	hmap_remove(&dp->by_ino, &e->node);
	dp->count--;
	free(e);
}

static void forget_old(struct cfs_departed *dp, uint64_t now_ns)
{
	while (dp->oldest &&
	       (dp->count > CFS_DEPARTED_MAX || now_ns - dp->oldest->when_ns > CFS_DEPARTED_TTL_NS))
		drop_oldest(dp);
}

void cfs_departed_free(struct cfs_departed *dp)
{
	while (dp->oldest)
		drop_oldest(dp);
	hmap_destroy(&dp->by_ino);
}

/* The newest record of ino (an inode number is never reused, but be exact). */
static struct cfs_departed_entry *find(const struct cfs_departed *dp, uint64_t ino)
{
	struct cfs_departed_entry *found = NULL;
	struct hmap_node *n;

	hmap_for_each_hash (n, &dp->by_ino, hash_mix64(ino)) {
		struct cfs_departed_entry *e = container_of(n, struct cfs_departed_entry, node);

		if (e->ino == ino && (!found || e->when_ns >= found->when_ns))
			found = e;
	}
	return found;
}

int cfs_departed_add(struct cfs_departed *dp, uint64_t ino, uint64_t parent, const char *name,
		     uint64_t now_ns)
{
	size_t len = strlen(name);
	struct cfs_departed_entry *e = malloc(sizeof(*e) + len + 1);

	forget_old(dp, now_ns);
	if (!e)
		return -ENOMEM;
	e->next = NULL;
	e->ino = ino;
	e->parent = parent;
	e->when_ns = now_ns;
	memcpy(e->name, name, len + 1);
	if (hmap_insert(&dp->by_ino, &e->node, hash_mix64(ino)) < 0) {
		free(e);
		return -ENOMEM;
	}
	if (dp->newest)
		dp->newest->next = e;
	else
		dp->oldest = e;
	dp->newest = e;
	dp->count++;
	forget_old(dp, now_ns);
	return 0;
}

int cfs_departed_find(struct cfs_departed *dp, uint64_t ino, uint64_t now_ns, uint64_t *parent,
		      const char **name, uint64_t *when_ns)
{
	struct cfs_departed_entry *e;

	forget_old(dp, now_ns);
	e = find(dp, ino);
	if (!e)
		return -ENOENT;
	*parent = e->parent;
	*name = e->name;
	if (when_ns)
		*when_ns = e->when_ns;
	return 0;
}

const char *cfs_change_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

uint64_t cfs_change_departed(const struct cfs_change *c)
{
	if (!c->path) /* (out of memory when it was recorded) */
		return 0;
	if (c->kind == CFS_OP_UNLINK)
		return c->inode;
	return c->kind == CFS_OP_RENAME ? c->replaced : 0;
}
