/* SPDX-License-Identifier: MIT */
/*
 * The droverfs IPC protocol (/run/drover/cfs.sock, a unix stream socket).
 *
 * Every message is a frame, little-endian:
 *   u32 length   whole frame, header included
 *   u16 version  IPC_PROTO_VERSION
 *   u16 type     enum ipc_type
 *   u32 seq      chosen by the client, echoed in the reply (0 for events)
 *   i32 status   replies: 0 or -errno; requests: 0
 * followed by the payload, encoded with wire.h (strings: u16 length + bytes;
 * blobs: u32 length + bytes).
 *
 * Peers: root may do everything; members of the read-only group may read
 * (no KV_SET, LOG_APPEND, FLUSH; nothing under priv/); anyone else is
 * refused at connect.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "basic/buf.h"

#define IPC_PROTO_VERSION 1
#define IPC_HEADER_SIZE 16
#define IPC_MAX_FRAME (8u << 20)
/* Paths in one IPC_READ_FILES request. */
#define IPC_READ_FILES_MAX 65536
#define CFS_SOCKET_DEFAULT "/run/drover/cfs.sock"

enum ipc_type {
	IPC_STATUS = 1, /* -> status JSON (`drover cfs status`) */
	IPC_GET_VERSION = 2, /* -> .version JSON */
	IPC_GET_MEMBERS = 3, /* -> .members JSON */
	IPC_GET_VMLIST = 4, /* -> .vmlist JSON */
	IPC_READ_FILE = 5, /* str path -> content */
	IPC_KV_SET = 6, /* str key, blob value (empty: delete) */
	IPC_KV_GET = 7, /* str node ("" = this node), str key -> value */
	IPC_LOG_APPEND = 8, /* u8 priority, str ident, str tag, str message */
	IPC_LOG_READ = 9, /* u32 max entries (0: 50), str ident filter -> JSON */
	IPC_WATCH = 10, /* str path prefix ("" = all); then IPC_EVENT frames */
	IPC_FLUSH = 11, /* fold the journal into the database and checkpoint it */
	IPC_READ_FILES = 12, /* u32 n, n x str path -> n x (i32 status, blob content) */

	IPC_EVENT = 100, /* u64 version, u8 op kind, u8 entry type, str path, str old path */
	IPC_EVENT_OVERFLOW = 101, /* the watcher fell behind; the server closes the connection */
};

struct ipc_header {
	uint32_t length;
	uint16_t version;
	uint16_t type;
	uint32_t seq;
	int32_t status;
};

/* Start a frame in b; returns the frame's offset for ipc_frame_end(). */
size_t ipc_frame_begin(struct buf *b, uint16_t type, uint32_t seq, int32_t status, int *error);

/* Fill in the frame's length once its payload is appended. */
void ipc_frame_end(struct buf *b, size_t start);

/*
 * Look at the start of an input buffer. Returns 1 and fills h when a whole
 * frame is there, 0 when more bytes are needed, -EBADMSG for a frame that
 * can never be valid (too short, too long, another protocol version).
 */
int ipc_frame_peek(const unsigned char *data, size_t len, struct ipc_header *h);

const char *ipc_type_name(uint16_t type);
