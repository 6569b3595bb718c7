/* SPDX-License-Identifier: MIT */
/*
 * The bottom of the rbd storage type (rbd_image.c): the open storage's
 * cluster and pool, one image, image names, and the small helpers every
 * other rbd file shares. It calls no other rbd file; rbd_snap.c,
 * rbd_export.c, rbd_import.c and rbd.c stand on it. Not for the layer
 * above, which only sees storage_plugin_rbd.
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

/* The names of all images in the pool (n of them); free with rbd_image_names_free. */
int rbd_image_names(struct storage *s, rbd_image_spec_t **out, size_t *n, struct drover_err *err);
void rbd_image_names_free(rbd_image_spec_t *specs, size_t n);

/* The VMID that owns an image named "vm-VMID-..." or "base-VMID-...", or 0. */
unsigned rbd_name_owner(const char *name);

/* A free name "vm-VMID-disk-N" for vmid into out. */
int rbd_free_name(struct storage *s, unsigned vmid, char *out, size_t len, struct drover_err *err);

/* A librbd progress callback that wants no progress. */
int rbd_no_progress(uint64_t done, uint64_t total, void *arg);

/* Bytes moved so far to rep: at most every 200 ms, unless force (the end). */
void rbd_progress(const struct drover_reporter *rep, uint64_t done, uint64_t total,
		  uint64_t start_ns, uint64_t *last_ns, bool force);

/* Is every byte zero? */
bool rbd_all_zero(const void *data, size_t len);

/* "rbd-diff", "raw+size" ... for messages. */
const char *rbd_format_name(enum storage_format fmt);
