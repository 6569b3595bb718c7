/* SPDX-License-Identifier: MIT */
/*
 * Entries of the root that are not in the tree: the symlinks `local`,
 * `qemu-server`, `lxc` into this node's directory, and the generated files
 * `.version`, `.members`, `.vmlist`, `.clusterlog` (read-only JSON) and
 * `.debug` (read "0"/"1", write to switch debug logging).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "droverfs/core/access.h"

struct cfs_daemon;

enum cfs_virtual_id {
	CFS_VIRT_LOCAL,
	CFS_VIRT_QEMU,
	CFS_VIRT_LXC,
	CFS_VIRT_VERSION,
	CFS_VIRT_MEMBERS,
	CFS_VIRT_VMLIST,
	CFS_VIRT_CLUSTERLOG,
	CFS_VIRT_DEBUG,
	CFS_VIRT_COUNT
};

/* Inode numbers far above any version the tree will reach. */
#define CFS_VIRTUAL_INO_BASE (1ull << 62)

/* Look up by name in the root: the id, or -1. */
int cfs_virtual_lookup(const char *name);
const char *cfs_virtual_name(int id);
uint64_t cfs_virtual_ino(int id);
/* The id of a virtual inode, or -1. */
int cfs_virtual_id(uint64_t ino);
bool cfs_virtual_is_symlink(int id);
enum cfs_mode_kind cfs_virtual_mode_kind(int id);

/* Symlink target ("nodes/<node>/..."), into buf. */
void cfs_virtual_symlink(const struct cfs_daemon *d, int id, char *buf, size_t len);

/* Generated content of a file; the caller frees it. NULL on ENOMEM. */
char *cfs_virtual_content(struct cfs_daemon *d, int id);

/* A write to a virtual file: 0, -EACCES (read-only) or -EINVAL (bad value). */
int cfs_virtual_write(struct cfs_daemon *d, int id, const char *data, size_t len);
