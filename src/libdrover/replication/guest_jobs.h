/* SPDX-License-Identifier: MIT */
/*
 * A destroyed guest's replication jobs, as Proxmox's destroy does it:
 * without --purge a guest that has jobs is refused (the replicas on the
 * targets would be left to jobs of a guest that is gone); with --purge the
 * destroy goes on and, once the guest is gone, its jobs are removed from
 * replication.cfg (the replicas on the targets stay, as pvesr's
 * remove_vmid_jobs leaves them).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "libdrover/error.h"
#include "libdrover/format/names.h"
#include "libdrover/guest/vm.h"
#include "libdrover/report.h"
#include "libdrover/storage/storage.h"

/* A guest to destroy: a VM through its environment, a container through storage's. */
struct repl_guest_destroy_req {
	enum guest_type type;
	uint32_t vmid;
	bool purge;
	const struct vm_env *vm; /* GUEST_QEMU */
	const struct storage_env *env; /* GUEST_LXC */
};

/*
 * `drover vm destroy` and `drover ct destroy`: one operation under the
 * guest's lock (priv/lock/guest-VMID, as Proxmox's lock_config). The job
 * check runs before the lock is taken (so a guest with jobs is refused
 * with that reason first, before a lock: or a missing config is named) and
 * again under it; then vm_destroy() or ct_destroy() frees the guest, and
 * with purge its jobs leave replication.cfg while the guest's lock is
 * still held, so no new guest of that VMID meets them. 0 or -errno.
 */
int repl_guest_destroy(const struct repl_guest_destroy_req *req, const struct drover_reporter *log,
		       struct drover_err *err);
