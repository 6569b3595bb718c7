/* SPDX-License-Identifier: MIT */
/*
 * The guest's file systems held still while a run snapshots its volumes
 * (pvesr's __snapshot_check_freeze_needed): a running VM with `agent: 1`
 * through the guest agent's fsfreeze, a running container through its
 * freezer cgroup (v1: freezer/lxc.payload.VMID/freezer.state; v2:
 * cgroup.freeze). A guest that is not running needs nothing; one whose
 * agent does not answer is snapshotted unfrozen, with a warning (crash
 * consistency, as without an agent).
 */
#pragma once

#include <stdbool.h>

#include "guest.h"
#include "libdrover/report.h"

struct repl_freeze {
	bool frozen;
	enum guest_type type;
	uint32_t vmid;
	void *qga; /* struct qga * while a VM is frozen */
};

/* Freeze g if it runs (logs what it does). Never fails the run. */
void repl_freeze(struct repl_freeze *f, const struct repl_guest *g,
		 const struct drover_reporter *rep);
/* Thaw whatever repl_freeze froze. */
void repl_thaw(struct repl_freeze *f, const struct drover_reporter *rep);
