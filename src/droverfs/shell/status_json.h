/* SPDX-License-Identifier: MIT */
/*
 * The JSON documents droverfs serves, as files in the root (.version,
 * .members, .vmlist, .clusterlog) and over IPC (the same, plus the status
 * of `drover cfs status`). Each returns a new string ending in a newline
 * (the caller frees it) or NULL when out of memory.
 */
#pragma once

#include <stddef.h>

struct cfs_daemon;

char *cfs_json_version(struct cfs_daemon *d);
char *cfs_json_members(struct cfs_daemon *d);
char *cfs_json_vmlist(struct cfs_daemon *d);
/* Newest first, at most max entries (0: 50), only those of `ident` if not empty. */
char *cfs_json_clusterlog(struct cfs_daemon *d, size_t max, const char *ident);
char *cfs_json_status(struct cfs_daemon *d);
