/* SPDX-License-Identifier: MIT */
/*
 * The open files of each inode, by the inode number the kernel uses (a new
 * file's provisional one included).
 *
 * Another node, or this one, may remove or replace an entry while a
 * program here has it open; POSIX keeps an open file usable after its name
 * is gone, and fstat(2) on it must not fail (Python's open() itself calls
 * fstat). So the attributes an inode had at its last open stay available
 * until its last open file is released.
 *
 * The handles listed here also tell what a process writing a file sees of
 * its size (fuse_attr.c), and whether a close is that of a duplicate.
 *
 * Only the FUSE layer uses this.
 */
#pragma once

#include <stdint.h>
#include <sys/stat.h>

#include "basic/hmap.h"
#include "droverfs/core/handles.h"

/* Handle h is open on inode ino, whose attributes are st now. 0 or -ENOMEM. */
int cfs_opened_add(struct hmap *opened, uint64_t ino, const struct stat *st, struct cfs_handle *h);

/* Handle h is gone (nothing happens if it was not listed). */
void cfs_opened_drop(struct hmap *opened, struct cfs_handle *h);

/* The attributes of an open inode at its last open, or NULL when nothing has it open. */
struct stat *cfs_opened_stat(const struct hmap *opened, uint64_t ino);

/* The handles open on ino, linked through opened_next; NULL when none. */
struct cfs_handle *cfs_opened_handles(const struct hmap *opened, uint64_t ino);

void cfs_opened_free(struct hmap *opened);
