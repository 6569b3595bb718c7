/* SPDX-License-Identifier: MIT */
/*
 * Inside the rbd storage type: what rbd.c (connection, volumes),
 * rbd_image.c (one image, shared helpers), rbd_snap.c (snapshots),
 * rbd_export.c and rbd_import.c share. Not for the layer above, which only
 * sees storage_plugin_rbd.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plugin.h"
#include "rbd_lazy.h"

/* Bytes per read or write request, and how many are in flight at once. */
#define RBD_IO_CHUNK (4u << 20)
#define RBD_IO_DEPTH 8

/* The plugin's state of an open storage (storage.priv). */
struct rbd_store {
	rados_t cluster;
	rados_ioctx_t io;
};

static inline struct rbd_store *rbd_store_of(struct storage *s)
{
	return s->priv;
}

/*
 * Open volname (at snapshot snap, or its head when NULL) read-only or
 * read-write. Errors name the image: "rbd: opening vmpool/vm-100-disk-0: ...".
 */
int rbd_image_open(struct storage *s, const char *volname, const char *snap, bool read_only,
		   rbd_image_t *img, struct drover_err *err);

/* Has anyone but us the image open (a running guest)? 1, 0 or -errno. */
int rbd_image_in_use(rbd_image_t img);

/* Does the image exist? 1, 0 or -errno. */
int rbd_image_exists(struct storage *s, const char *name);

/* The VMID that owns an image named "vm-VMID-..." or "base-VMID-...", or 0. */
unsigned rbd_name_owner(const char *name);

/* A free name "vm-VMID-disk-N" for vmid into out. */
int rbd_free_name(struct storage *s, unsigned vmid, char *out, size_t len, struct drover_err *err);

/* Remove an image and every snapshot it has (unprotecting them first). */
int rbd_image_remove(struct storage *s, const char *name, struct drover_err *err);

/*
 * A snapshot's identity, kept in the image's metadata under a key of rbd's
 * own snapshot id (never reused within an image): id, and origin (the id
 * on the side it was received from, "" when made here).
 */
int rbd_snap_ident_get(rbd_image_t img, uint64_t snap_id, char id[STORAGE_UUID_MAX],
		       char origin[STORAGE_UUID_MAX]);

/*
 * Create snapshot snap of the open image with identity id (NULL: a new
 * one) and origin (NULL: none). Removes the snapshot again when its
 * identity cannot be stored.
 */
int rbd_snap_create_with_ident(rbd_image_t img, const char *volname, const char *snap,
			       const char *id, const char *origin, struct drover_err *err);

/* Remove snapshot snap (unprotected first) and its identity. */
int rbd_snap_remove_with_ident(rbd_image_t img, const char *volname, const char *snap,
			       struct drover_err *err);

/* The image's snapshots in creation order (n of them); free with rbd_snap_infos_free. */
int rbd_snap_infos(rbd_image_t img, rbd_snap_info_t **out, int *n);
void rbd_snap_infos_free(rbd_snap_info_t *snaps);

/* The plugin's snapshot operations (rbd_snap.c). */
int rbd_snapshot_create(struct storage *s, const char *volname, const char *snap,
			struct drover_err *err);
int rbd_snapshot_delete(struct storage *s, const char *volname, const char *snap,
			struct drover_err *err);
int rbd_snapshot_rollback(struct storage *s, const char *volname, const char *snap,
			  struct drover_err *err);
int rbd_snapshot_list(struct storage *s, const char *volname, struct storage_snapshot **out,
		      size_t *n, struct drover_err *err);

/* A librbd progress callback that wants no progress. */
int rbd_no_progress(uint64_t done, uint64_t total, void *arg);

/* Bytes moved so far to rep: at most every 200 ms, unless force (the end). */
void rbd_progress(const struct drover_reporter *rep, uint64_t done, uint64_t total,
		  uint64_t start_ns, uint64_t *last_ns, bool force);

/* Is every byte zero? */
bool rbd_all_zero(const void *data, size_t len);

/* "rbd-diff", "raw+size" ... for messages. */
const char *rbd_format_name(enum storage_format fmt);

int rbd_export(struct storage *s, const char *volname, enum storage_format fmt,
	       const struct storage_export_opts *o, int fd, const struct drover_reporter *rep,
	       struct drover_err *err);
int rbd_import(struct storage *s, const char *volname, enum storage_format fmt,
	       const struct storage_import_opts *o, int fd, char *imported, size_t len,
	       const struct drover_reporter *rep, struct drover_err *err);
