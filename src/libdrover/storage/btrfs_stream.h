/* SPDX-License-Identifier: MIT */
/*
 * A btrfs send stream, checked on its way to `btrfs receive`. The stream
 * is a replay of file system operations, and `btrfs receive` does what it
 * says; so before a byte reaches it, this filter makes sure the stream is
 * one subvolume of the kind expected and nothing else:
 *
 * - the magic "btrfs-stream\0" and a version it knows (1 to 3);
 * - every command whole, of a known type and a sane length;
 * - the first command makes the subvolume: SUBVOL for a full stream,
 *   SNAPSHOT (on the parent whose UUID the caller accepts) for an
 *   incremental one; its name is one component "NAME@SNAP";
 * - every path relative, without "..": nothing is made outside the
 *   subvolume (a symlink's target is data, not a path, and may be anything);
 * - clones only from this subvolume or its parent, never from another
 *   volume on the target file system;
 * - an END command, then the end of the stream (one subvolume).
 *
 * Kernel: fs/btrfs/send.h (format facts only).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libdrover/error.h"

#define BTRFS_UUID_LEN 16
#define BTRFS_STREAM_NAME_MAX 256

struct btrfs_stream_check {
	/* what the caller expects */
	bool incremental;
	/* incremental: UUIDs the parent may be known by here (received_uuid, uuid) */
	unsigned char parent_ids[2][BTRFS_UUID_LEN];
	unsigned nparent_ids;
	const char *snapshot; /* the snapshot part of the name must be this (NULL: any) */
	/*
	 * Receive the subvolume under this name instead of the stream's (the
	 * first command rewritten, its checksum made anew): a temporary name in
	 * the volume's own directory, renamed into place once whole (a read-only
	 * subvolume can only be renamed inside its directory). NULL: as sent.
	 */
	const char *rename_to;

	/* what the stream was, once checked */
	char subvol[BTRFS_STREAM_NAME_MAX]; /* "vm-100-disk-0@s1" */
	unsigned char uuid[BTRFS_UUID_LEN]; /* the sender's subvolume */
	uint32_t version;
	uint64_t bytes;
	bool out_failed; /* it stopped because writing failed (the receiver died) */
};

/*
 * Copy in to out, checking as above; on the first problem stop and fail
 * (out then has a cut stream, which btrfs receive also refuses). 0 when the
 * whole stream was good and written.
 */
int btrfs_stream_filter(int in, int out, struct btrfs_stream_check *c, struct drover_err *err);

/* "8849c812-f7bc-304e-b9d2-d3b11f4a3d48" <-> 16 bytes */
void btrfs_uuid_format(const unsigned char u[BTRFS_UUID_LEN], char *out, size_t len);
int btrfs_uuid_parse(const char *s, unsigned char u[BTRFS_UUID_LEN]);
bool btrfs_uuid_null(const unsigned char u[BTRFS_UUID_LEN]);
