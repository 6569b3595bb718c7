/* SPDX-License-Identifier: MIT */
/*
 * Recovering a guest from a failed node onto this one, from its replicas
 * (`drover vm recover`, `drover ct recover`: the manual procedure of
 * pvesr's documentation made one command). With quorum, and only when the
 * guest's node is not an online member: every replicated volume of the
 * guest must have a replica here with a replication snapshot of one of
 * the guest's jobs (a volume on local storage that is not replicated
 * refuses the recovery: its data would be gone), each replica is rolled
 * back to its newest replication snapshot (the last state that arrived
 * whole), and the config is renamed into this node's directory in
 * droverfs under the guest's lock. The data written on the old node after
 * that snapshot is the loss; the next replication run adopts the jobs
 * (adopt.h).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "libdrover/error.h"
#include "libdrover/format/names.h"
#include "libdrover/report.h"
#include "libdrover/storage/plugin.h"
#include "guest.h"

struct repl_recover_result {
	char old_node[NODE_NAME_MAX + 1];
	char conf_from[128], conf_to[128]; /* droverfs paths of the config */
	size_t n_vols; /* replicas rolled back and taken */
	/* the oldest of the volumes' snapshots: everything after it is lost */
	int64_t last_sync;
	char snap[STORAGE_SNAPNAME_MAX]; /* its name */
	int64_t now; /* when the config moved */
};

/*
 * Recover guest vmid of type (GUEST_QEMU or GUEST_LXC) onto this node,
 * asking droverfs on socket (NULL: the default). Progress through rep.
 * Returns 0, or -errno with err saying why and nothing moved: -EACCES
 * without quorum, -ENOENT for no such guest (of that type), -EALREADY when
 * it is here already, -EBUSY when its node is online or a receive into
 * one of its replicas is still running here (receive_lock.h), -ENODATA
 * naming a volume without a replica here.
 */
int repl_recover_guest(const char *socket, enum guest_type type, uint32_t vmid,
		       const struct drover_reporter *rep, struct repl_recover_result *res,
		       struct drover_err *err);

/* One replica's snapshots, as the storage lists them. */
struct repl_recover_volume {
	const struct storage_snapshot *snaps;
	size_t n;
};

/*
 * The newest replication snapshot of guest that every volume has (by name:
 * one run snapshots all volumes under one name), or NULL. A run that broke
 * after some volumes leaves a newer snapshot on those alone: taking each
 * volume's newest would bring the disks back from different moments.
 */
const char *repl_recover_pick_common(const struct repl_recover_volume *vols, size_t nvols,
				     uint32_t guest, int64_t *epoch);

/*
 * The newest replication snapshot of any job of guest among snaps (by the
 * epoch in its name), or NULL.
 */
const struct storage_snapshot *repl_recover_pick(const struct storage_snapshot *snaps, size_t n,
						 uint32_t guest, int64_t *epoch);
