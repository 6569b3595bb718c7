/* SPDX-License-Identifier: MIT */
/*
 * Replication of the droverfs state over a totally ordered group (corosync
 * CPG in the daemon, a simulated bus in the tests). This file knows nothing
 * of corosync: the caller feeds it, in delivery order, the membership
 * changes and the messages of the group, and what its quorum service says
 * of the current ring; it answers through callbacks.
 *
 * Every node applies every operation in the one order of the group.
 * When the membership changes, a sync round runs:
 *
 *   1. the lowest member multicasts SYNC_START (naming the round's epoch);
 *   2. every member multicasts its STATE (version, digest, quorate history,
 *      its quorum for the current ring) once it knows that quorum;
 *   3. when the last STATE arrives, every member decides the same: the
 *      leader (the longest quorate history, then the highest version, then
 *      the lowest member), who is in sync (same version and digest), and
 *      whether the ring may write (all quorate) and writes authoritatively
 *      (and none forced);
 *   4. members in sync go on at once; the others get an update from the
 *      leader (incremental when their history is a prefix of the leader's,
 *      full otherwise) and apply it when its UPDATE_END arrives.
 *
 * Operations delivered during the exchange wait and are applied right after
 * the decision; members being updated keep them until their update is in.
 * Operations of this node are held back while it is not in sync.
 *
 * An own operation is answered only once it is safe: held (applied and
 * committed) by members that carry more than half of the cluster's expected
 * votes, or by every member of a ring that has quorum. corosync delivers in
 * agreed order, not in safe order: a node can deliver its own message just
 * before it drops out of the membership while the others never receive it,
 * and the majority goes on without it. So every member tells the others how
 * far it holds the ops of the round (ACK: a version, in the round's epoch;
 * it rides on the member's own OP messages, and goes alone only when the
 * member has nothing else to send). Since every member applies the same ops
 * in the same order within a round, a version names the same history on
 * each of them. An op still unconfirmed when the membership changes waits
 * for the acks of the next round if this node's history goes on there (it
 * is in sync, or caught up incrementally with an equal digest), and fails
 * with -EIO (result unknown) when the round ends without quorum or replaces
 * this node's state.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmsg.h"
#include "droverfs/core/persist.h"

struct cfs_member {
	uint32_t nodeid;
	uint32_t pid;
};

enum cfs_replica_mode {
	CFS_REPLICA_OFFLINE, /* not in the group */
	CFS_REPLICA_SYNCING, /* state exchange under way */
	CFS_REPLICA_UPDATING, /* waiting for the leader's update */
	CFS_REPLICA_SYNCED,
	CFS_REPLICA_ERROR, /* stopped: a newer protocol, or the state could not be kept */
};

const char *cfs_replica_mode_name(enum cfs_replica_mode mode);

struct cfs_replica_ops {
	/* Multicast in the group's total order. 0 or -errno (then the node leaves). */
	int (*send)(void *ctx, const void *data, size_t len);
	/*
	 * Own ops wait in a batch: call cfs_replica_flush() once the events
	 * that are ready now are handled (so that concurrent writers share one
	 * message). May be NULL: then the caller flushes as it sees fit.
	 */
	void (*flush_soon)(void *ctx);
	/* An op this node submitted was applied (or refused) cluster-wide. */
	void (*op_done)(void *ctx, uint64_t reqid, int result, const struct cfs_result *res);
	/* Unordered side channels, delivered as they come. */
	void (*kv)(void *ctx, uint32_t nodeid, const void *payload, size_t len);
	void (*log)(void *ctx, uint32_t nodeid, const void *payload, size_t len);
	void (*conf_written)(void *ctx, uint32_t nodeid, const void *payload, size_t len);
	/* A sync round ended with this node in sync: tell the group our own status again. */
	void (*synced)(void *ctx);
	/* Make the ops applied so far durable (before the state is replaced). */
	void (*commit)(void *ctx);
	/* About to replace this node's state by the leader's: keep a copy. */
	int (*backup)(void *ctx);
	/* An update failed half-way: load the state from disk again. */
	void (*reload)(void *ctx);
	/*
	 * The state was replaced by a transfer (in RAM): make it durable. (After
	 * a full one the engine itself raises the store's tombstone floor.)
	 */
	int (*resynced)(void *ctx, bool full);
	/* Replication stopped (CFS_REPLICA_ERROR): leave the group. May be NULL. */
	void (*stopped)(void *ctx);
	/* The ring became writable or read-only (quorum). */
	void (*writable)(void *ctx, bool writable);
	/*
	 * Votes: a member's (NULL or 0: 1) and what the quorum service expects
	 * of the whole cluster (NULL or 0: unknown, then a majority of the
	 * ring's votes). Used to decide when an own op is safe.
	 */
	unsigned (*node_votes)(void *ctx, uint32_t nodeid);
	unsigned (*expected_votes)(void *ctx);
};

struct cfs_replica_status {
	enum cfs_replica_mode mode;
	size_t members;
	struct cfs_member leader;
	bool writable;
	bool authoritative;
	uint64_t epoch;
	uint64_t rounds;
	uint64_t updates_received, full_updates_received, updates_sent;
	uint64_t last_sync_ns; /* duration of the last round, start to in sync */
	size_t queued; /* ops waiting for the round (or the update) */
	size_t held; /* own ops waiting to be sent */
	size_t unconfirmed; /* own ops applied, waiting for the members' acks */
	uint64_t acks_sent, acks_piggybacked, unconfirmed_failed;
	uint64_t confirmed, confirm_wait_ns; /* own ops confirmed, and their waits in all */
	uint64_t verifications, verify_failures;
	char error[200];
};

struct cfs_replica;

struct cfs_replica *cfs_replica_new(struct cfs_persist *p, const struct cfs_replica_ops *ops,
				    void *ctx);
void cfs_replica_free(struct cfs_replica *r);

/* Joined the group as `self`. */
void cfs_replica_joined(struct cfs_replica *r, struct cfs_member self);

/* The connection to the group is gone: own ops in flight fail with -EIO. */
void cfs_replica_left(struct cfs_replica *r);

/* The group's membership (this node included) changed: a new round. */
void cfs_replica_confchg(struct cfs_replica *r, const struct cfs_member *members, size_t n);

/* A message of the group, in the total order. */
void cfs_replica_deliver(struct cfs_replica *r, struct cfs_member from, const void *data,
			 size_t len);

/*
 * What the local quorum service says of the current ring (known: it has
 * spoken about this very ring). A change while in sync starts a new round.
 */
void cfs_replica_quorum(struct cfs_replica *r, bool known, bool quorate, bool forced);

/*
 * Submit an op of this node; op_done(reqid) comes once it is safe (see
 * above) or has failed. Returns 0, or -EACCES when the ring may not write (nothing
 * is sent), -ENOTCONN when not in the group.
 */
int cfs_replica_submit(struct cfs_replica *r, const struct cfs_op *op, uint64_t reqid);

/*
 * The ops applied so far are committed (durable here): the members may be
 * told. Call after every commit of the group-commit batch.
 */
void cfs_replica_committed(struct cfs_replica *r);

/*
 * Own ops unconfirmed for longer than after_ns (the members asked to
 * acknowledge them are slow or stuck): ask every member for its ack. Returns
 * how many own ops are still unconfirmed; call again later while not 0.
 */
size_t cfs_replica_check_acks(struct cfs_replica *r, uint64_t after_ns);

/* Send the batch of own ops submitted since the last flush (one message). */
void cfs_replica_flush(struct cfs_replica *r);

/* Multicast a side-channel message (KV, LOG, CONF_WRITTEN) with this payload. */
int cfs_replica_send_other(struct cfs_replica *r, uint16_t type, const void *payload, size_t len);

/* Periodic check: the lowest member asks everyone to compare digests. */
void cfs_replica_verify(struct cfs_replica *r);

/* Ask for a new round (this node thinks it differs: it will be updated in full). */
void cfs_replica_request_sync(struct cfs_replica *r, bool diverged);

bool cfs_replica_writable(const struct cfs_replica *r);
void cfs_replica_status(const struct cfs_replica *r, struct cfs_replica_status *s);
size_t cfs_replica_member_count(const struct cfs_replica *r);
struct cfs_member cfs_replica_member(const struct cfs_replica *r, size_t i);
