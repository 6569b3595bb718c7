/* SPDX-License-Identifier: MIT */
/*
 * The one way a guest operation reads and changes a guest config
 * (nodes/<this node>/qemu-server/VMID.conf or .../lxc/VMID.conf in
 * droverfs): read-modify-write under the cluster lock priv/lock/guest-VMID,
 * refusing a guest whose `lock:` is set unless the operation is the one
 * that holds it, validated and written atomically (nothing half-written:
 * an edit that fails leaves the file as it was).
 *
 * A long operation (snapshot, rollback, destroy, ...) does not hold the
 * cluster lock while it works: it sets `lock: NAME` in the config
 * (guest_conf_lock), works, and clears it (guest_conf_unlock), as Proxmox
 * does; every other operation meanwhile refuses the guest.
 *
 * The *_at variants take droverfs's state (its mount and this node's
 * name); the others ask droverfs ($DROVER_CFS_SOCKET or the default
 * socket) first. A VMID is unique across the cluster's nodes and guest
 * types: guest_locate finds where one lives, and guest_conf_create refuses
 * one that exists anywhere.
 */
#pragma once

#include <stdint.h>

#include "libdrover/cluster/cfs.h"
#include "libdrover/error.h"
#include "libdrover/format/guest_conf.h"
#include "libdrover/format/names.h"

/* How long an operation waits for another one's priv/lock/guest-VMID. */
#define GUEST_CONF_LOCK_TIMEOUT_MS 10000

/*
 * Change c (under the lock; it may do what must happen with the change,
 * never after it). Returns 0 to write c, 1 to leave the file as it is (no
 * change), or -errno with err filled (nothing is written).
 */
typedef int (*guest_conf_edit_fn)(struct guest_conf *c, void *arg, struct drover_err *err);

/*
 * Hold priv/lock/guest-VMID, the cluster lock every change of vmid's
 * config (and its destroy, all along) holds, for work outside the config
 * that must see the guest as it is until guest_cluster_unlock_at: a
 * replication job created for it, say. Waits up to
 * GUEST_CONF_LOCK_TIMEOUT_MS for another holder: -EBUSY then, -EACCES
 * without quorum. A lock taken with it is taken before any other cluster
 * lock of the same operation (replication.cfg's), never inside one.
 */
int guest_cluster_lock_at(const struct cfs_brief *b, uint32_t vmid, struct drover_err *err);
void guest_cluster_unlock_at(const struct cfs_brief *b, uint32_t vmid);

/*
 * Read-modify-write this node's config of vmid: -ENOENT when this node
 * has none (err names the node that has it, if any), -EBUSY when its
 * lock: is set to something other than lock_allowed (NULL: any lock
 * refuses) or another operation holds priv/lock/guest-VMID, -EACCES
 * without quorum, else what fn or the validation returned.
 */
int guest_conf_update(enum guest_type type, uint32_t vmid, const char *lock_allowed,
		      guest_conf_edit_fn fn, void *arg, struct drover_err *err);
int guest_conf_update_at(const struct cfs_brief *b, enum guest_type type, uint32_t vmid,
			 const char *lock_allowed, guest_conf_edit_fn fn, void *arg,
			 struct drover_err *err);

/*
 * A new guest: under priv/lock/guest-VMID, refuse a VMID that exists on
 * any node as any type (-EEXIST), let fn fill an empty config, validate
 * and write it. fn may allocate what the config names (disks); if it
 * fails it frees them itself.
 */
int guest_conf_create(enum guest_type type, uint32_t vmid, guest_conf_edit_fn fn, void *arg,
		      struct drover_err *err);
int guest_conf_create_at(const struct cfs_brief *b, enum guest_type type, uint32_t vmid,
			 guest_conf_edit_fn fn, void *arg, struct drover_err *err);

/* This node's config of vmid, parsed (no lock). *out: the caller frees it. -ENOENT as above. */
int guest_conf_read(enum guest_type type, uint32_t vmid, struct guest_conf **out,
		    struct drover_err *err);
int guest_conf_read_at(const struct cfs_brief *b, enum guest_type type, uint32_t vmid,
		       struct guest_conf **out, struct drover_err *err);

/*
 * Where vmid lives: its node and type, from the tree's nodes/ directories.
 * Returns 0, -ENOENT (no such guest; err says so) or -errno.
 */
int guest_locate(uint32_t vmid, char node[NODE_NAME_MAX + 1], enum guest_type *type,
		 struct drover_err *err);
int guest_locate_at(const struct cfs_brief *b, uint32_t vmid, char node[NODE_NAME_MAX + 1],
		    enum guest_type *type, struct drover_err *err);

/*
 * Set lock: to `lock` (refused with -EBUSY when any lock is set), or clear
 * it: guest_conf_unlock with `lock` NULL removes any lock (drover vm
 * unlock), else only that one (-EBUSY if another is set). Clearing an
 * unset lock is no error.
 */
int guest_conf_lock(enum guest_type type, uint32_t vmid, const char *lock, struct drover_err *err);
int guest_conf_unlock(enum guest_type type, uint32_t vmid, const char *lock,
		      struct drover_err *err);
int guest_conf_lock_at(const struct cfs_brief *b, enum guest_type type, uint32_t vmid,
		       const char *lock, struct drover_err *err);
int guest_conf_unlock_at(const struct cfs_brief *b, enum guest_type type, uint32_t vmid,
			 const char *lock, struct drover_err *err);
