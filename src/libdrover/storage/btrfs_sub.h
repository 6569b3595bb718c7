/* SPDX-License-Identifier: MIT */
/*
 * btrfs subvolumes through the kernel's ioctls (linux/btrfs.h): create,
 * snapshot, delete, and what a subvolume is (UUIDs, creation time, read-only).
 * Faster than running `btrfs subvolume ...` for each, and with errors that
 * are errno values, not text to parse. Streams use the btrfs tool (send,
 * receive).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "btrfs_stream.h"

struct btrfs_sub_info {
	unsigned char uuid[BTRFS_UUID_LEN];
	unsigned char parent_uuid[BTRFS_UUID_LEN];
	unsigned char received_uuid[BTRFS_UUID_LEN]; /* all zero: not received */
	int64_t otime; /* creation, seconds */
	uint64_t otransid; /* creation transaction: orders snapshots made in one second */
	bool readonly;
};

/* Is path on a btrfs file system? */
bool btrfs_on_btrfs(const char *path);
/* Is path the top directory of a subvolume? */
bool btrfs_is_subvol(const char *path);

/* dir/name as a new empty subvolume. -EEXIST if name exists. */
int btrfs_sub_create(const char *dir, const char *name);
/* dir/name as a snapshot of subvolume src (read-only if asked). */
int btrfs_sub_snapshot(const char *src, const char *dir, const char *name, bool readonly);
/* Delete subvolume path (read-only or not). */
int btrfs_sub_delete(const char *path);
int btrfs_sub_info(const char *path, struct btrfs_sub_info *info);
