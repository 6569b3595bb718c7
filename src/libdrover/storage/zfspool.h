/* SPDX-License-Identifier: MIT */
/*
 * The zfspool storage, thin: ZFS needs a kernel module this machine lacks,
 * so the plugin is the command lines it runs and the parsing of what they
 * print, both unit-tested against recorded output, and little else.
 *
 *   POOL/vm-VMID-disk-N      a zvol (/dev/zvol/POOL/vm-VMID-disk-N)
 *   POOL/subvol-VMID-disk-N  a file system (container root), refquota = size
 *   ...@SNAP                 snapshots; streams are `zfs send`/`zfs recv`
 */
#pragma once

#include "cmdline.h"
#include "plugin.h"

void zfs_cmd_status(const struct storage_props *p, struct cmdline *c);
int zfs_parse_status(const char *out, struct storage_status *st, struct drover_err *err);

void zfs_cmd_list(const struct storage_props *p, struct cmdline *c);
/* The volumes in `zfs list` output (names that are no volume name are skipped). */
int zfs_parse_list(const struct storage_props *p, const char *out, struct storage_volume **vols,
		   size_t *n, struct drover_err *err);

/* size is rounded up to the volume block size (zfs refuses others). */
void zfs_cmd_alloc(const struct storage_props *p, const char *name, enum storage_volformat fmt,
		   uint64_t size, struct cmdline *c);
void zfs_cmd_destroy(const struct storage_props *p, const char *name, const char *snap,
		     struct cmdline *c);
void zfs_cmd_resize(const struct storage_props *p, const char *name, enum storage_volformat fmt,
		    uint64_t size, struct cmdline *c);
void zfs_cmd_mountpoint(const struct storage_props *p, const char *name, struct cmdline *c);

void zfs_cmd_snapshot(const struct storage_props *p, const char *name, const char *snap,
		      struct cmdline *c);
void zfs_cmd_rollback(const struct storage_props *p, const char *name, const char *snap,
		      struct cmdline *c);
void zfs_cmd_snapshots(const struct storage_props *p, const char *name, struct cmdline *c);
int zfs_parse_snapshots(const struct storage_props *p, const char *name, const char *out,
			struct storage_snapshot **snaps, size_t *n, struct drover_err *err);

/* zfs send [-R] -p [-I|-i POOL/NAME@BASE] -- POOL/NAME@SNAP */
void zfs_cmd_send(const struct storage_props *p, const char *name, const char *snap,
		  const char *base, bool with_snapshots, struct cmdline *c);
/* zfs recv -F -s -x encryption -- POOL/NAME (-s: a broken receive keeps a resume token) */
void zfs_cmd_recv(const struct storage_props *p, const char *name, struct cmdline *c);
void zfs_cmd_recv_abort(const struct storage_props *p, const char *name, struct cmdline *c);
void zfs_cmd_resume_token(const struct storage_props *p, const char *name, struct cmdline *c);
/* The token in `zfs get receive_resume_token` output; -ENOENT for "-" (none). */
int zfs_parse_resume_token(const char *out, char *token, size_t len);
void zfs_cmd_send_resume(const char *token, struct cmdline *c);
