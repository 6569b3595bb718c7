/* SPDX-License-Identifier: MIT */
/*
 * The source's calls to the target over the cluster's SSH, pvesr's
 * contracts: `drover replication prepare-local-job JOBID VOLID...
 * --last_sync T [--parent_snapname P] [--scan S,...]` prints one JSON line
 * (target.h) and logs on stderr; `finalize-local-job JOBID VOLID...
 * --last_sync T` removes the older snapshots there; `set-state VMID JSON`
 * hands a guest's job states to another node.
 */
#pragma once

#include <json-c/json.h>

#include "libdrover/cluster/cfs.h"
#include "libdrover/error.h"
#include "target.h"

/*
 * control: the run's master connection to node (sshmux.h), or NULL for a
 * connection of each command's own.
 */

/* prepare-local-job on node; *out: the volumes' snapshot JSON. */
int repl_remote_prepare(const struct cfs_brief *b, const char *node, const char *control,
			const struct repl_prepare_req *q, struct json_object **out,
			struct drover_err *err);

/* finalize-local-job on node (q->last_sync: the new one). */
int repl_remote_finalize(const struct cfs_brief *b, const char *node, const char *control,
			 const struct repl_prepare_req *q, struct drover_err *err);

/* set-state VMID JSON on node. */
int repl_remote_set_state(const struct cfs_brief *b, const char *node, const char *control,
			  uint32_t vmid, const char *json, struct drover_err *err);
