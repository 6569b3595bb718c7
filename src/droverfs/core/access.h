/* SPDX-License-Identifier: MIT */
/*
 * Who may do what, and the modes droverfs shows.
 *
 * root may read and write everything; members of the read-only group may
 * read everything but priv/ and nodes/<node>/priv/; anyone else gets
 * EACCES. Modes are what admins and tools of /etc/pve expect: directories
 * 0755, files 0640, private ones 0700/0600, and without quorum the write
 * bits go (tools read quorum from the mode of `local`).
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

enum cfs_caller {
	CFS_CALLER_ROOT,
	CFS_CALLER_READER,
	CFS_CALLER_OTHER,
};

/* Classify by uid, gid and supplementary groups. */
enum cfs_caller cfs_caller_classify(uid_t uid, gid_t gid, const gid_t *groups, int ngroups,
				    gid_t readonly_gid);

enum cfs_mode_kind {
	CFS_MODE_DIR,
	CFS_MODE_FILE,
	CFS_MODE_SYMLINK,
	CFS_MODE_VIRTUAL_RO, /* .members and friends */
	CFS_MODE_VIRTUAL_RW, /* .debug */
};

/* Permission bits for an entry of this kind. */
mode_t cfs_mode_bits(enum cfs_mode_kind kind, bool private_path, bool quorate);

/*
 * Modes and owners never change. A chmod is accepted (and changes
 * nothing) when it asks for no more than the canonical mode allows: no
 * bit that mode lacks, so no set-id or sticky bit. A chown only to root
 * and the read-only group (-1: unchanged).
 */
bool cfs_chmod_allowed(mode_t requested, mode_t canonical);
bool cfs_chown_allowed(uid_t uid, gid_t gid, gid_t readonly_gid);
