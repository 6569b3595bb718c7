/* SPDX-License-Identifier: MIT */
/*
 * Tree inodes the kernel has open files of. Another node may remove or
 * replace an entry while a program here has it open; POSIX keeps an open
 * file usable after its name is gone, and fstat(2) on it must not fail
 * (Python's open() itself calls fstat). So the attributes an inode had at
 * its last open stay available until its last open file is released.
 *
 * Only fuse_fs.c and fuse_io.c use this.
 */
#pragma once

#include <stdint.h>
#include <sys/stat.h>

#include "basic/hmap.h"

/* One more open file of inode ino, whose attributes are st now. 0 or -ENOMEM. */
int cfs_opened_add(struct hmap *opened, uint64_t ino, const struct stat *st);

/* One open file of ino fewer. */
void cfs_opened_drop(struct hmap *opened, uint64_t ino);

/* The attributes of an open inode at its last open, or NULL when nothing has it open. */
const struct stat *cfs_opened_stat(const struct hmap *opened, uint64_t ino);

void cfs_opened_free(struct hmap *opened);
