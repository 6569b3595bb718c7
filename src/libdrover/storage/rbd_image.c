/* SPDX-License-Identifier: MIT */
/*
 * What every file of the rbd storage type shares (rbd_priv.h): opening and
 * checking one image, and the small helpers for formats, zeroes and
 * progress. Kept apart from rbd.c, the plugin, so that its snapshots
 * (rbd_snap.c) and streams (rbd_export.c, rbd_import.c) stand on this file
 * and never reach back into rbd.c, which calls them.
 */
#include <errno.h>
#include <string.h>

#include "basic/util.h"
#include "rbd_priv.h"

/* ---- small helpers ------------------------------------------------------ */

const char *rbd_format_name(enum storage_format fmt)
{
	switch (fmt) {
	case STORAGE_FORMAT_ZFS:
		return "zfs";
	case STORAGE_FORMAT_BTRFS:
		return "btrfs";
	case STORAGE_FORMAT_RBD_DIFF:
		return "rbd-diff";
	case STORAGE_FORMAT_RAW_SIZE:
		return "raw+size";
	default:
		return "?";
	}
}

bool rbd_all_zero(const void *data, size_t len)
{
	const unsigned char *p = data;

	/* compare the buffer with itself shifted by one: zero iff the first byte is */
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

void rbd_progress(const struct drover_reporter *rep, uint64_t done, uint64_t total,
		  uint64_t start_ns, uint64_t *last_ns, bool force)
{
	uint64_t now = now_monotonic_ns(), elapsed = MAX(now - start_ns, 1ull);

	if (!force && now - *last_ns < 200000000ull)
		return;
	*last_ns = now;
	drover_report_bytes(rep, done, total, (uint64_t)((double)done * 1e9 / (double)elapsed),
			    elapsed);
}

int rbd_no_progress(uint64_t done, uint64_t total, void *arg)
{
	return 0;
}

/* ---- one image ---------------------------------------------------------- */

int rbd_image_open(struct storage *s, const char *volname, const char *snap, bool read_only,
		   rbd_image_t *img, struct drover_err *err)
{
	rados_ioctx_t io = rbd_store_of(s)->io;
	int r = read_only ? rbd_open_read_only(io, volname, img, snap)
			  : rbd_open(io, volname, img, snap);

	if (r == -ENOENT && snap)
		return drover_fail(err, r, "rbd: %s/%s@%s: no such image or snapshot",
				   s->props.pool, volname, snap);
	if (r == -ENOENT)
		return drover_fail(err, r, "rbd: %s/%s: no such image", s->props.pool, volname);
	if (r < 0)
		return drover_fail(err, r, "rbd: opening %s/%s%s%s: %s", s->props.pool, volname,
				   snap ? "@" : "", snap ? snap : "", strerror(-r));
	return 0;
}

int rbd_image_exists(struct storage *s, const char *name)
{
	rbd_image_t img;
	int r = rbd_open_read_only(rbd_store_of(s)->io, name, &img, NULL);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	rbd_close(img);
	return 1;
}

/* Does anyone but us have the image open (a running guest)? 1, 0 or -errno. */
int rbd_image_in_use(rbd_image_t img)
{
	rbd_image_watcher_t w[8];
	size_t n = ARRAY_SIZE(w);
	int r = rbd_watchers_list(img, w, &n);

	if (r == -ERANGE)
		return 1;
	if (r < 0)
		return r;
	rbd_watchers_list_cleanup(w, n);
	return n > 1; /* our own open counts as one */
}
