/* SPDX-License-Identifier: MIT */
/*
 * storage_copy(): a volume to another node, the one primitive that
 * `drover storage copy`, replication, migration and mirror call.
 *
 *   source: plugin export -> [zstd] -> rate limit -> framing
 *     -> ssh NODE drover storage import ... (or TCP on the migration network)
 *   target: framing -> [unzstd] -> plugin import
 *
 * Every stage is checked: the export's exit status travels in the stream's
 * end record, the receiver holds back the stream's last byte until that
 * record says the sender succeeded, the receiver's exit status and its
 * "successfully imported 'VOLID'" line come back over SSH. An error names
 * the stage and the node ("export on node1: btrfs send was killed by
 * signal 9", "import on node2: btrfs receive exited with 1: ... No space
 * left on device"), and neither side keeps what it half-made.
 *
 * Usable from a daemon: it prints nothing, never exits, keeps no global
 * state, blocks SIGPIPE only in its own threads while it writes, and
 * reports progress through the reporter (from the calling thread).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "libdrover/report.h"
#include "libdrover/storage/storage.h"
#include "pump.h"

struct storage_copy_req {
	const char *volid; /* the source volume, on this node */
	const char *node; /* the target node */
	const char *target_storage; /* NULL: the source's storage ID */
	const char *snapshot; /* send this snapshot; NULL: a temporary one where needed */
	const char *base; /* incremental from this snapshot (both sides have it) */
	bool with_snapshots;
	bool allow_rename; /* the target volume exists: import under a free name */
	const char *delete_snapshot; /* the target deletes this one after importing */
};

struct storage_copy_opts {
	uint64_t rate; /* bytes per second on the wire, 0: no limit */
	bool compress; /* zstd on the wire */
	const char *insecure; /* a CIDR: plain TCP in this network; NULL: through SSH */
	const struct drover_reporter *rep; /* progress and log lines (may be NULL) */
	/* non-zero: stop, clean up on both nodes, fail with -ECANCELED (see pump.h) */
	const volatile int *cancel;
	/* the control socket of a master connection to the node (sshmux.h), or NULL */
	const char *ssh_control;
};

struct storage_copy_result {
	char volid[STORAGE_VOLID_MAX]; /* the volume made on the target */
	enum storage_format format;
	struct pump_stats stats;
};

/* The temporary snapshot a copy without --snapshot takes on storages that need one. */
#define STORAGE_COPY_SNAPSHOT "__migration__"

int storage_copy(const struct storage_env *env, const struct storage_copy_req *req,
		 const struct storage_copy_opts *o, struct storage_copy_result *res,
		 struct drover_err *err);

/*
 * The receiving side of an incremental copy, before any data: volid must
 * have snapshot base, and it must be the sender's (base_id "NODE:IDENT", the
 * sender's node and the base's identity: its origin or its own ID).
 * Fails with "wrong base: ..." (ENOENT, EXDEV) otherwise.
 */
int storage_copy_check_base(const struct storage_env *env, const char *volid, const char *base,
			    const char *base_id, struct drover_err *err);
