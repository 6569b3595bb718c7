/* SPDX-License-Identifier: MIT */
/* What the container operations (ct_*.c) share: paths, LXC's tools, the root file system. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct.h"
#include "libdrover/format/guest_conf.h"

/* CT_LXC_PATH/CTID[/sub] into out. Returns 0 or -ENAMETOOLONG. */
int ct_dir(uint32_t ctid, const char *sub, char *out, size_t len);

/*
 * Run LXC's tool (lxc-start, lxc-stop, ...) on container ctid with the
 * extra arguments (NULL-terminated): "-P CT_LXC_PATH -n CTID" come first.
 * 0 when it exited with 0, else -EIO with err naming the tool and what it
 * printed.
 */
int ct_lxc_run(const char *tool, uint32_t ctid, const char *const extra[], struct drover_err *err);

/* "CT 100" for messages. */
#define CT_FMT "CT %" PRIu32

/*
 * A new root volume for ctid on storeid of size_gb GiB: a subvolume on
 * btrfs (its size is recorded, not enforced without quotas), else a raw
 * image with an ext4 file system. The volume ID into volid.
 */
int ct_rootfs_alloc(const struct storage_env *env, uint32_t ctid, const char *storeid,
		    uint64_t size_gb, char *volid, size_t len, struct drover_err *err);

/*
 * The host directory of volume volid of ctid: a subvolume's own path, a
 * raw image mounted (loop) under CT_LXC_PATH/CTID/mnt/ if it is not yet.
 * The volume must belong to ctid.
 */
int ct_volume_dir(const struct storage_env *env, uint32_t ctid, const char *volid, char *path,
		  size_t len, struct drover_err *err);

/* Unmount whatever ct_volume_dir mounted for ctid (after a stop, before a rollback). */
void ct_volumes_release(uint32_t ctid);
/*
 * Remove the empty cgroups lxc.payload.CTID and lxc.monitor.CTID (and
 * below) of a stopped container: LXC leaves them when its monitor dies,
 * and a start needs them free (lxc_conf.c names them: LXC would otherwise
 * move on to lxc.payload.CTID-1, where drover's runtime reader does not look).
 */
void ct_cgroups_release(uint32_t ctid);
/*
 * Whether a cgroup of ctid's name is there (path: the first found): after
 * ct_cgroups_release, one another container of that number uses (on a host
 * that runs several clusters' nodes, as sandboxes do) or a dead one left busy.
 */
bool ct_cgroup_taken(uint32_t ctid, char *path, size_t len);

/*
 * Unpack template volid into dir (an empty root file system); with
 * unprivileged, shift its owners by 100000 (the idmap of lxc_conf.h). The
 * ostype the tree looks like into ostype (debian, alpine, ... or unmanaged).
 */
int ct_template_unpack(const struct storage_env *env, const char *volid, const char *dir,
		       bool unprivileged, char *ostype, size_t len,
		       const struct drover_reporter *rep, struct drover_err *err);

/*
 * The volume IDs of section s (rootfs, then mpN with a storage volume, and
 * unusedN with all): count into *n, names into vols (at most max). Host
 * paths (bind mounts) are skipped.
 */
int ct_section_volumes(struct guest_section *s, bool with_unused, char vols[][256], size_t max,
		       size_t *n, struct drover_err *err);

/* Storage env for a libdrover call without one (droverd's ops): opened, caller closes. */
int ct_env_open(struct storage_env *env, struct drover_err *err);
