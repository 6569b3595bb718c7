/* SPDX-License-Identifier: MIT */
/*
 * The messages droverfs nodes multicast to each other through corosync CPG
 * (group "drover_cfs_v1"). Explicit little-endian, versioned:
 *
 *   u32 magic "DRVC" | u16 protocol | u16 type | u64 epoch | payload
 *
 * `epoch` names the sync round a sync message belongs to (0 for others):
 * a round starts with the SYNC_START of the lowest member, and sync
 * messages of any other round are ignored, even if they arrive late.
 *
 * A node that receives a message of another protocol stops replicating
 * rather than misapply it: all nodes of a cluster run the same protocol.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/buf.h"
#include "droverfs/core/state.h"

#define CMSG_MAGIC 0x43565244u /* "DRVC" */
/*
 * 2: an OP message carries a batch of ops. 3: ops of codec version 3 (times
 * in nanoseconds, directory times), UPDATE items with ctime and atime;
 * acknowledgements (ACK, ACK_REQ, and the OP header that carries them).
 */
#define CMSG_PROTOCOL 3
#define CMSG_HEADER_SIZE 16

enum cmsg_type {
	/* u64 ack (as CMSG_ACK), u16 n, n u32 node ids asked to ack, ops {u32 len, u64 reqid, op}... */
	CMSG_OP = 1,
	CMSG_SYNC_START = 2, /* lowest member: a sync round begins (epoch in the header) */
	CMSG_STATE = 3, /* every member: what it has */
	CMSG_UPDATE = 4, /* leader: entries and tombstones */
	CMSG_UPDATE_END = 5, /* leader: what the receivers must end up with */
	CMSG_VERIFY_REQ = 6, /* lowest member: compare digests at this point */
	CMSG_VERIFY = 7, /* every member: its digest at the request */
	CMSG_KV = 8, /* node status value of the sender */
	CMSG_LOG = 9, /* a cluster log entry */
	CMSG_SYNC_REQ = 10, /* anyone: please start a new sync round */
	CMSG_CONF_WRITTEN = 11, /* corosync.conf of this version is written here */
	CMSG_ACK = 12, /* u64: the sender holds every op up to this version (round's epoch) */
	CMSG_ACK_REQ = 13, /* every member: send your ack (an op waits too long for its ackers) */
};
#define CMSG_TYPE_MAX CMSG_ACK_REQ

struct cmsg_header {
	uint16_t protocol;
	uint16_t type;
	uint64_t epoch;
};

/* Start a message in out. Returns 0 or -ENOMEM. */
int cmsg_begin(struct buf *out, uint16_t type, uint64_t epoch);

/*
 * Parse the header; payload and plen get the rest. Returns 0, -EBADMSG (not
 * ours, truncated, unknown type) or -EPROTO (another protocol: h->protocol
 * tells which).
 */
int cmsg_parse_header(const void *data, size_t len, struct cmsg_header *h, const void **payload,
		      size_t *plen);

const char *cmsg_type_name(uint16_t type);

/* What a node has, sent in its STATE. */
struct cmsg_state {
	bool quorate; /* its quorum service says the current ring is quorate */
	bool forced; /* ... only because expected votes were lowered */
	bool diverged; /* it found itself different from the others: never the leader */
	uint64_t version;
	uint64_t auth_version;
	uint64_t lineage;
	struct cfs_digest digest;
	uint64_t nentries;
	uint64_t tombstone_floor;
	struct cfs_limits limits;
};

int cmsg_put_state(struct buf *out, const struct cmsg_state *s);
int cmsg_get_state(const void *p, size_t len, struct cmsg_state *s);

/* The end of an update stream: the state the receivers must reach. */
struct cmsg_update_end {
	bool full; /* replace everything; else apply on top of version `since` */
	uint64_t since;
	uint64_t version;
	uint64_t auth_version;
	uint64_t lineage;
	struct cfs_digest digest;
	uint64_t nentries;
	uint64_t entries_sent;
	uint64_t tombstones_sent;
	struct cfs_limits limits;
};

int cmsg_put_update_end(struct buf *out, const struct cmsg_update_end *e);
int cmsg_get_update_end(const void *p, size_t len, struct cmsg_update_end *e);

/* One item of an UPDATE: an entry (type 1/2) or a tombstone (type 0). */
struct cmsg_item {
	uint8_t type;
	uint64_t inode;
	uint64_t parent;
	uint64_t version;
	uint32_t writer;
	struct cfs_times times;
	char name[CFS_NAME_MAX + 1];
	const void *data; /* points into the message */
	size_t size;
};

/* The most an item takes besides its data. */
#define CMSG_ITEM_MAX_OVERHEAD (1 + 8 + 8 + 8 + 4 + 3 * 8 + 2 + CFS_NAME_MAX + 4)

/* Append one item to an UPDATE being built (after a u32 count placeholder). */
int cmsg_put_item(struct buf *out, const struct cmsg_item *it);

/* Walk the items of an UPDATE payload. */
struct cmsg_items {
	const unsigned char *p;
	size_t left;
	uint32_t remaining;
};

int cmsg_items_begin(struct cmsg_items *it, const void *payload, size_t len);
/* 1: *item filled; 0: no more; -EBADMSG: malformed. */
int cmsg_items_next(struct cmsg_items *it, struct cmsg_item *item);

/* Payloads of the small messages. */
struct cmsg_verify {
	uint64_t id;
	uint64_t version;
	struct cfs_digest digest;
};

int cmsg_put_verify(struct buf *out, const struct cmsg_verify *v);
int cmsg_get_verify(const void *p, size_t len, struct cmsg_verify *v);
