/* SPDX-License-Identifier: MIT */
/*
 * Which snapshot an incremental transfer starts from (pvesr's
 * find_common_replication_snapshot), and which snapshots a run may remove
 * (pvesr's prepare). A snapshot is common only if both sides have it by name
 * AND it is the same data: the same identity (ZFS guid, btrfs UUID /
 * received UUID, rbd's recorded id), never by name alone.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libdrover/error.h"
#include "libdrover/storage/plugin.h"

/*
 * Are a and b (on two nodes) the same snapshot? Yes if one's id is the
 * other's id or origin_id, or both were received from the same origin. An
 * empty id or origin_id never matches: a storage that cannot say what a
 * snapshot is has no common snapshots.
 */
bool repl_snapshot_same(const struct storage_snapshot *a, const struct storage_snapshot *b);

enum repl_base_kind {
	REPL_BASE_FULL, /* the target has no such volume: send it whole */
	REPL_BASE_INCREMENTAL, /* send from base */
	REPL_BASE_MISSING, /* the target has the volume but no common snapshot: an error */
};

/* Which rule chose the base (pvesr's order). */
enum repl_base_rule {
	REPL_RULE_NONE,
	REPL_RULE_LAST_SYNC, /* the job's snapshot of its last sync */
	REPL_RULE_PARENT, /* the guest config's current snapshot (after a rollback) */
	REPL_RULE_NEWEST_COMMON, /* the newest common config or replication snapshot */
};

/* One volume's question. */
struct repl_base_query {
	const char *jobid;
	int64_t last_sync; /* 0: no state (new job, or a guest taken over) */
	const char *parent; /* the guest config's parent snapshot, NULL if none */
	const char *const *config_snaps; /* the guest config's snapshots */
	size_t n_config_snaps;
	const struct storage_snapshot *local; /* the volume's snapshots here */
	size_t n_local;
	bool remote_has_volume; /* the target has the volume */
	const struct storage_snapshot *remote; /* its snapshots there */
	size_t n_remote;
};

struct repl_base {
	enum repl_base_kind kind;
	enum repl_base_rule rule;
	char name[STORAGE_SNAPNAME_MAX]; /* the base when INCREMENTAL */
	/*
	 * Snapshots the target has that are newer than the base (by their
	 * creation there): what receiving on top of the base rolls back. After
	 * a guest was taken over from a dead node, these are that node's runs
	 * the new source never got, and worth a loud warning.
	 */
	size_t remote_newer;
};

void repl_select_base(const struct repl_base_query *q, struct repl_base *out);

/*
 * The error of a run that found volumes without a common base (pvesr's
 * words): "No common base snapshot on volume(s) a, b. Please remove ...".
 * Returns -ENOENT.
 */
int repl_missing_base_error(struct drover_err *err, const char *const *volids, size_t n);

/* What a removal pass does on one volume. */
enum repl_prune_mode {
	REPL_PRUNE_NOTHING, /* last_sync 0: no state, nothing is known to be old */
	REPL_PRUNE_ALL, /* last_sync 1: the job is being removed: all its snapshots */
	REPL_PRUNE_OLDER, /* the job's snapshots other than last_sync's (and the parent) */
	REPL_PRUNE_EXPECTED_MISSING, /* last_sync's snapshot is not there: keep everything */
};

/*
 * pvesr's prepare() on one volume of one side: which of snaps to delete
 * (del[i] set), only ever this job's replication snapshots. Never the
 * last_sync snapshot, never parent, and nothing at all when the last_sync
 * snapshot is missing (the base would be gone for good). Used before a run
 * on the source, and by the target's prepare and finalize.
 */
enum repl_prune_mode repl_prune_select(const char *jobid, int64_t last_sync, const char *parent,
				       const struct storage_snapshot *snaps, size_t n, bool *del);

/*
 * After a successful run that made `synced` on both sides: which of this
 * job's older snapshots the source deletes. Only when the new snapshot is
 * common (same identity on both sides), and never the newest common
 * snapshot nor parent: the next run needs a base.
 */
enum repl_prune_mode repl_prune_after_sync(const char *jobid, int64_t synced, const char *parent,
					   const struct storage_snapshot *local, size_t n_local,
					   const struct storage_snapshot *remote, size_t n_remote,
					   bool *del_local);
