/* SPDX-License-Identifier: MIT */
/*
 * Snapshots of rbd images with drover's identities (rbd_snap.c), and the
 * removal of an image with all its snapshots. Stands on rbd_image.h only;
 * rbd.c, rbd_export.c and rbd_import.c call it.
 */
#pragma once

#include <stdint.h>

#include "plugin.h"
#include "rbd_lazy.h"

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

/* Remove an image and every snapshot it has; refused while a guest has it open. */
int rbd_image_remove(struct storage *s, const char *name, struct drover_err *err);

/* The plugin's snapshot operations. */
int rbd_snapshot_create(struct storage *s, const char *volname, const char *snap,
			struct drover_err *err);
int rbd_snapshot_delete(struct storage *s, const char *volname, const char *snap,
			struct drover_err *err);
int rbd_snapshot_rollback(struct storage *s, const char *volname, const char *snap,
			  struct drover_err *err);
int rbd_snapshot_list(struct storage *s, const char *volname, struct storage_snapshot **out,
		      size_t *n, struct drover_err *err);
