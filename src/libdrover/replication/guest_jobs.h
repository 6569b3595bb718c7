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

#include "libdrover/cluster/cfs.h"
#include "libdrover/error.h"
#include "libdrover/report.h"

/* 0 when guest may be destroyed: it has no jobs, or purge. -EBUSY naming the jobs else. */
int repl_guest_destroy_check(const struct cfs_brief *b, uint32_t guest, bool purge,
			     struct drover_err *err);

/* Remove every job of guest from replication.cfg (each logged). 0 or -errno. */
int repl_guest_jobs_remove(const struct cfs_brief *b, uint32_t guest,
			   const struct drover_reporter *log, struct drover_err *err);
