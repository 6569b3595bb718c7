/* SPDX-License-Identifier: MIT */
/*
 * State transfer: how a node that was away catches up.
 *
 * Every entry carries the version of its last change and every removal
 * leaves a tombstone with its version, so a node at version V needs only
 * the entries newer than V and the tombstones newer than V: the transfer
 * is proportional to what changed, not to the tree. A node whose history
 * is not a prefix of the leader's (it wrote alone), or that is behind the
 * pruned tombstones, gets everything ("full") and drops what the leader
 * does not have.
 *
 * The leader encodes the stream as UPDATE messages (cmsg.h) and an
 * UPDATE_END naming the exact state to reach (version, digest, entries);
 * the receiver collects the messages and applies them at once, and must
 * reach that state or it refuses the result.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmsg.h"
#include "droverfs/core/state.h"

/* Messages of one transfer, ready to multicast in order (the UPDATEs; the caller sends the UPDATE_END made of `end`). */
struct cfs_xfer_out {
	struct buf *msgs;
	size_t nmsgs, msgs_cap;
	struct cmsg_update_end end;
};

/*
 * Build the stream of everything after `since` (all when full), with the
 * tombstones newer than `since` (ignored when full). max_msg bounds the
 * payload of one UPDATE (an item larger than that gets a message of its
 * own). Returns 0 or -ENOMEM.
 */
int cfs_xfer_build(const struct cfs_state *st, const struct cfs_removal *tombstones,
		   size_t ntombstones, uint64_t since, bool full, uint64_t epoch, size_t max_msg,
		   struct cfs_xfer_out *out);
void cfs_xfer_out_free(struct cfs_xfer_out *out);

/* The receiving side: UPDATE payloads kept until the UPDATE_END. */
struct cfs_xfer_in {
	struct buf *payloads;
	size_t n, cap;
};

/* Keep a copy of one UPDATE payload. Returns 0 or -ENOMEM. */
int cfs_xfer_in_add(struct cfs_xfer_in *in, const void *payload, size_t len);
void cfs_xfer_in_free(struct cfs_xfer_in *in);

/*
 * Apply the collected stream to st. Returns 0 when st now is exactly the
 * state `end` names; -EBADMSG (malformed stream), -EUCLEAN (the result
 * differs from the leader's: err says how) or -ENOMEM. After an error st
 * is unusable and must be reloaded.
 */
int cfs_xfer_apply(struct cfs_state *st, const struct cfs_xfer_in *in,
		   const struct cmsg_update_end *end, char *err, size_t errlen);
