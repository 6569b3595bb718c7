/* SPDX-License-Identifier: MIT */
/*
 * The target's side of a run (pvesr's prepare-local-job and
 * finalize-local-job, which the source starts over SSH): remove this job's
 * stale replication snapshots (the rules of repl_prune_select), free the
 * guest's volumes that are no longer wanted but carry this job's
 * snapshots, and say what snapshots the wanted volumes have:
 *
 *   {"local-btrfs:100/vm-100-disk-0": {"__replicate_100-0_1717410600__":
 *     {"id": "UUID", "timestamp": 1717410600, "origin": "UUID"}}}
 *
 * (pvesr's volid -> snapshot -> {id, timestamp}; "origin" is drover's,
 * the btrfs received UUID). A volume the node does not have is absent.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "libdrover/report.h"
#include "libdrover/storage/storage.h"

struct repl_prepare_req {
	const char *jobid;
	const char *const *volids; /* the volumes the job wants here */
	size_t n;
	int64_t last_sync; /* 0: remove nothing; 1: remove all of the job's */
	const char *parent; /* never removed (NULL: none) */
	const char *const *scan; /* more storages to look for stale volumes in */
	size_t n_scan;
	/*
	 * "STOREID=LOCATION" of the source's storages that every node has its
	 * own of (not shared, see plugin.h's location): refused, before
	 * anything is removed, when this node's storage is that very one.
	 */
	const char *const *source_locations;
	size_t n_source_locations;
};

/*
 * The "STOREID=LOCATION" of each storage of volids (and of scan) that is
 * not shared and can tell its location, into out (REPL_STOREIDS_MAX of
 * them at most, each REPL_LOCATION_MAX); how many into *n.
 */
#define REPL_LOCATION_MAX (STORAGE_ID_MAX + 128)
int repl_source_locations(const struct storage_env *env, const char *const *volids, size_t nvol,
			  const char *const *scan, size_t nscan, char out[][REPL_LOCATION_MAX],
			  size_t *n, struct drover_err *err);

/* *out: the JSON above (the caller puts it). */
int repl_prepare_local(const struct storage_env *env, const struct repl_prepare_req *q,
		       struct json_object **out, const struct drover_reporter *rep,
		       struct drover_err *err);

/* repl_prepare_local() with droverfs on socket (NULL: default) and its storage.cfg. */
int repl_prepare_local_at(const char *socket, const struct repl_prepare_req *q,
			  struct json_object **out, const struct drover_reporter *rep,
			  struct drover_err *err);

/* Read one volume's entry of that JSON back into snapshots (*snaps: free()). */
int repl_snapinfo_from_json(struct json_object *vol, struct storage_snapshot **snaps, size_t *n,
			    struct drover_err *err);

/* A volume's snapshots as that JSON. */
struct json_object *repl_snapinfo_to_json(const struct storage_snapshot *snaps, size_t n);
