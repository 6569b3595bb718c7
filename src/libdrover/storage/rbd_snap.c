/* SPDX-License-Identifier: MIT */
/*
 * Snapshots of rbd volumes. Each snapshot drover makes (or receives) has
 * an identity besides its name, kept in the image's metadata under a key of
 * rbd's own snapshot id (never reused within an image): "ID" for one made
 * here, "ID ORIGIN" for one received (ORIGIN: the sender's id, which the
 * received snapshot takes as its own too, as a ZFS guid travels). Two sides
 * compare ids, never names alone.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "basic/util.h"
#include "basic/uuid.h"
#include "rbd_image.h"
#include "rbd_snap.h"

#define META_PREFIX "drover.snapshot." /* + rbd's snapshot id */

/* The image's snapshots in creation order (see rbd_snap.h). */
int rbd_snap_infos(rbd_image_t img, rbd_snap_info_t **out, int *n)
{
	int max = 16, r;
	rbd_snap_info_t *snaps = NULL;

	/*
	 * Not a growth loop (no ARRAY_GROW): librbd says how many snapshots
	 * there are (it sets max and returns -ERANGE), and the list is sized to
	 * that once, plus the end marker rbd_snap_list writes.
	 */
	for (;;) {
		rbd_snap_info_t *more = realloc(snaps, (size_t)(max + 1) * sizeof(*snaps));

		if (!more) {
			free(snaps);
			return -ENOMEM;
		}
		snaps = more;
		r = rbd_snap_list(img, snaps, &max);
		if (r != -ERANGE)
			break;
	}
	if (r < 0) {
		free(snaps);
		return r;
	}
	*out = snaps;
	*n = r;
	return 0;
}

void rbd_snap_infos_free(rbd_snap_info_t *snaps)
{
	if (!snaps)
		return;
	rbd_snap_list_end(snaps);
	free(snaps);
}

static void ident_key(uint64_t snap_id, char *key, size_t len)
{
	snprintf(key, len, META_PREFIX "%" PRIu64, snap_id);
}

int rbd_snap_ident_get(rbd_image_t img, uint64_t snap_id, char id[STORAGE_UUID_MAX],
		       char origin[STORAGE_UUID_MAX])
{
	char key[64], val[2 * STORAGE_UUID_MAX + 2], *sp;
	size_t len = sizeof(val);
	int r;

	id[0] = origin[0] = '\0';
	ident_key(snap_id, key, sizeof(key));
	r = rbd_metadata_get(img, key, val, &len);
	if (r == -ENOENT || r == -ERANGE)
		return 0; /* a snapshot drover did not make, or a value not drover's */
	if (r < 0)
		return r;
	val[MIN(len, sizeof(val) - 1)] = '\0';
	sp = strchr(val, ' ');
	if (sp) {
		*sp = '\0';
		snprintf(origin, STORAGE_UUID_MAX, "%.*s", STORAGE_UUID_MAX - 1, sp + 1);
	}
	snprintf(id, STORAGE_UUID_MAX, "%.*s", STORAGE_UUID_MAX - 1, val);
	return 0;
}

int rbd_snap_create_with_ident(rbd_image_t img, const char *volname, const char *snap,
			       const char *id, const char *origin, struct drover_err *err)
{
	char key[64], val[2 * STORAGE_UUID_MAX + 2], fresh[STORAGE_UUID_MAX];
	uint64_t snap_id;
	int r;

	if (!id || !id[0]) {
		r = uuid_random_text(fresh);
		if (r < 0)
			return drover_fail(err, r, "rbd: no random bytes for a snapshot id");
		id = fresh;
	}
	r = rbd_snap_create(img, snap);
	if (r == -EEXIST)
		return drover_fail(err, r, "rbd: snapshot %s@%s exists already", volname, snap);
	if (r < 0)
		return drover_fail(err, r, "rbd: creating snapshot %s@%s: %s", volname, snap,
				   strerror(-r));
	r = rbd_snap_get_id(img, snap, &snap_id);
	if (r == 0) {
		ident_key(snap_id, key, sizeof(key));
		snprintf(val, sizeof(val), "%s%s%s", id, origin && origin[0] ? " " : "",
			 origin ? origin : "");
		r = rbd_metadata_set(img, key, val);
	}
	if (r < 0) {
		rbd_snap_remove(img, snap);
		return drover_fail(err, r, "rbd: storing the id of snapshot %s@%s: %s", volname,
				   snap, strerror(-r));
	}
	return 0;
}

int rbd_snap_remove_with_ident(rbd_image_t img, const char *volname, const char *snap,
			       struct drover_err *err)
{
	char key[64];
	uint64_t snap_id;
	int prot = 0, r;

	r = rbd_snap_get_id(img, snap, &snap_id);
	if (r == -ENOENT)
		return drover_fail(err, r, "rbd: %s has no snapshot '%s'", volname, snap);
	if (r == 0)
		r = rbd_snap_is_protected(img, snap, &prot);
	if (r == 0 && prot)
		r = rbd_snap_unprotect(img, snap);
	if (r == 0)
		r = rbd_snap_remove(img, snap);
	if (r < 0)
		return drover_fail(err, r, "rbd: removing snapshot %s@%s: %s", volname, snap,
				   strerror(-r));
	/* the snapshot is gone; a stale identity would only be unused, never wrong */
	ident_key(snap_id, key, sizeof(key));
	rbd_metadata_remove(img, key);
	return 0;
}

int rbd_snapshot_create(struct storage *s, const char *volname, const char *snap,
			struct drover_err *err)
{
	rbd_image_t img;
	int r = rbd_image_open(s, volname, NULL, false, &img, err);

	if (r < 0)
		return r;
	r = rbd_snap_create_with_ident(img, volname, snap, NULL, NULL, err);
	rbd_close(img);
	return r;
}

int rbd_snapshot_delete(struct storage *s, const char *volname, const char *snap,
			struct drover_err *err)
{
	rbd_image_t img;
	int r = rbd_image_open(s, volname, NULL, false, &img, err);

	if (r < 0)
		return r;
	r = rbd_snap_remove_with_ident(img, volname, snap, err);
	rbd_close(img);
	return r;
}

int rbd_snapshot_rollback(struct storage *s, const char *volname, const char *snap,
			  struct drover_err *err)
{
	rbd_snap_info_t *snaps = NULL;
	const char *newer = NULL;
	rbd_image_t img;
	uint64_t snap_id;
	int n = 0, r;

	r = rbd_image_open(s, volname, NULL, false, &img, err);
	if (r < 0)
		return r;
	r = rbd_snap_get_id(img, snap, &snap_id);
	if (r == -ENOENT) {
		drover_fail(err, r, "rbd: %s has no snapshot '%s'", volname, snap);
		goto out;
	}
	if (r == 0)
		r = rbd_snap_infos(img, &snaps, &n);
	for (int i = 0; r == 0 && i < n && !newer; i++)
		if (snaps[i].id > snap_id)
			newer = snaps[i].name;
	if (r == 0 && newer) {
		r = drover_fail(err, -EBUSY,
				"rbd: cannot roll %s back to '%s': snapshot '%s' is newer", volname,
				snap, newer);
		goto out;
	}
	if (r == 0 && (r = rbd_image_in_use(img)) > 0) {
		r = drover_fail(err, -EBUSY, "rbd: cannot roll %s back: the image is in use",
				volname);
		goto out;
	}
	if (r == 0)
		r = rbd_snap_rollback_with_progress(img, snap, rbd_no_progress, NULL);
	if (r < 0)
		drover_fail(err, r, "rbd: rolling %s back to '%s': %s", volname, snap,
			    strerror(-r));
out:
	rbd_snap_infos_free(snaps);
	rbd_close(img);
	return r;
}

int rbd_snapshot_list(struct storage *s, const char *volname, struct storage_snapshot **out,
		      size_t *nout, struct drover_err *err)
{
	rbd_snap_info_t *snaps = NULL;
	struct storage_snapshot *list = NULL;
	rbd_image_t img;
	int n = 0, r;

	r = rbd_image_open(s, volname, NULL, true, &img, err);
	if (r < 0)
		return r;
	r = rbd_snap_infos(img, &snaps, &n);
	if (r == 0 && !(list = calloc((size_t)n + 1, sizeof(*list))))
		r = -ENOMEM;
	for (int i = 0; r == 0 && i < n; i++) {
		struct timespec ts = { 0, 0 };

		snprintf(list[i].name, sizeof(list[i].name), "%s", snaps[i].name);
		r = rbd_snap_get_timestamp(img, snaps[i].id, &ts);
		list[i].ctime = ts.tv_sec;
		if (r == 0)
			r = rbd_snap_ident_get(img, snaps[i].id, list[i].id, list[i].origin_id);
	}
	rbd_snap_infos_free(snaps);
	rbd_close(img);
	if (r < 0) {
		free(list);
		return drover_fail(err, r, "rbd: listing the snapshots of %s/%s: %s", s->props.pool,
				   volname, strerror(-r));
	}
	*out = list;
	*nout = (size_t)n;
	return 0;
}

int rbd_image_remove(struct storage *s, const char *name, struct drover_err *err)
{
	rbd_snap_info_t *snaps = NULL;
	rbd_image_t img;
	int n = 0, r;

	r = rbd_image_open(s, name, NULL, false, &img, err);
	if (r < 0)
		return r;
	/* before any snapshot goes: a guest's disk stays whole */
	r = rbd_image_in_use(img);
	if (r > 0)
		r = drover_fail(err, -EBUSY,
				"rbd: removing %s/%s: the image is in use (it has watchers)",
				s->props.pool, name);
	else if (r == 0)
		r = rbd_snap_infos(img, &snaps, &n);
	if (r < 0 && r != -EBUSY)
		drover_fail(err, r, "rbd: listing the snapshots of %s/%s: %s", s->props.pool, name,
			    strerror(-r));
	for (int i = 0; r == 0 && i < n; i++)
		r = rbd_snap_remove_with_ident(img, name, snaps[i].name, err);
	rbd_snap_infos_free(snaps);
	rbd_close(img);
	if (r < 0)
		return r;
	r = rbd_remove(rbd_store_of(s)->io, name);
	if (r == -EBUSY)
		return drover_fail(err, r,
				   "rbd: removing %s/%s: the image is in use (it has watchers)",
				   s->props.pool, name);
	if (r < 0 && r != -ENOENT)
		return drover_fail(err, r, "rbd: removing %s/%s: %s", s->props.pool, name,
				   strerror(-r));
	return 0;
}
