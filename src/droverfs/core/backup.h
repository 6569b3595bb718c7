/* SPDX-License-Identifier: MIT */
/*
 * Copies of the database kept before the cluster's tree replaces this
 * node's (a full state transfer): <the database's folder>/backup/
 * config-<unix time>-v<tree version>.db, the newest CFS_BACKUPS_KEPT of them.
 */
#pragma once

#include <stddef.h>

#include "persist.h"

#define CFS_BACKUPS_KEPT 5

/*
 * Fold the journal into p's database (at db_path) and copy it into the
 * backup folder; then remove the oldest copies beyond CFS_BACKUPS_KEPT.
 * The copy's path goes into out; an empty string if there was nothing to
 * keep (a tree with nothing but its root). Returns 0 or -errno.
 */
int cfs_backup_keep(struct cfs_persist *p, const char *db_path, char *out, size_t outlen);
