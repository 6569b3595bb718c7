/* SPDX-License-Identifier: MIT */
/*
 * corosync.conf lives in droverfs (one copy for the cluster); corosync
 * reads its own copy in /etc/corosync. This installs the tree's copy there
 * when its config_version is higher: atomically (temporary file, fsync,
 * rename), never a lower version, never a file corosync could not parse.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum cfs_conf_result {
	CFS_CONF_INSTALLED = 1, /* written; corosync should reload */
	CFS_CONF_CURRENT = 0, /* the same version is installed already */
};

/*
 * Install `data` at `path` if its config_version is higher than the
 * installed one. Returns CFS_CONF_INSTALLED, CFS_CONF_CURRENT, -ESTALE (a
 * lower version: refused), -EINVAL (unparsable or no config_version: err
 * says where) or -errno of the write.
 */
int cfs_conf_install(const void *data, size_t len, const char *path, uint64_t *version, char *err,
		     size_t errlen);

/* config_version of the file at path (0: missing or without one). */
uint64_t cfs_conf_installed_version(const char *path);
