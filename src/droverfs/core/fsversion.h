/* SPDX-License-Identifier: MIT */
/*
 * Change counters of `.version`: one per well-known config file (the list
 * tools cache by, as in /etc/pve), one for the guest list and one for the
 * cluster information. They count changes seen by this node since it
 * started (with `starttime`, a client can tell a restart).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct cfs_fsversion {
	int64_t starttime;
	uint64_t clinfo;
	uint64_t vmlist;
	uint64_t *files; /* one per name in cfs_fsversion_files() */
};

int cfs_fsversion_init(struct cfs_fsversion *v, int64_t starttime);
void cfs_fsversion_destroy(struct cfs_fsversion *v);

/* The observed paths, in their fixed order. */
const char *const *cfs_fsversion_files(size_t *count);

/* A path changed (created, written, moved to or from, removed). */
void cfs_fsversion_note_path(struct cfs_fsversion *v, const char *path);

/* The whole tree was loaded again: everything may have changed. */
void cfs_fsversion_note_reload(struct cfs_fsversion *v);
