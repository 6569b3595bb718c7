/* SPDX-License-Identifier: MIT */
#include "access.h"

#include <sys/stat.h>

enum cfs_caller cfs_caller_classify(uid_t uid, gid_t gid, const gid_t *groups, int ngroups,
				    gid_t readonly_gid)
{
	if (uid == 0)
		return CFS_CALLER_ROOT;
	if (gid == readonly_gid)
		return CFS_CALLER_READER;
	for (int i = 0; i < ngroups; i++)
		if (groups[i] == readonly_gid)
			return CFS_CALLER_READER;
	return CFS_CALLER_OTHER;
}

mode_t cfs_mode_bits(enum cfs_mode_kind kind, bool private_path, bool quorate)
{
	mode_t m;

	switch (kind) {
	case CFS_MODE_DIR:
		m = private_path ? 0700 : 0755;
		break;
	case CFS_MODE_FILE:
		m = private_path ? 0600 : 0640;
		break;
	case CFS_MODE_SYMLINK:
		m = 0755;
		break;
	case CFS_MODE_VIRTUAL_RO:
		return 0440;
	case CFS_MODE_VIRTUAL_RW:
		return 0640;
	default:
		return 0;
	}
	if (!quorate)
		m &= (mode_t)~0222;
	return m;
}

bool cfs_chmod_allowed(mode_t requested, mode_t canonical)
{
	return (requested & 07777 & ~(canonical & 07777)) == 0;
}

bool cfs_chown_allowed(uid_t uid, gid_t gid, gid_t readonly_gid)
{
	return (uid == (uid_t)-1 || uid == 0) && (gid == (gid_t)-1 || gid == readonly_gid);
}
