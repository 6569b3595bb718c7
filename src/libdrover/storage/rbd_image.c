/* SPDX-License-Identifier: MIT */
/*
 * What every file of the rbd storage type shares (rbd_image.h): opening and
 * checking one image, image names, and the small helpers for formats,
 * zeroes and progress. Kept apart from rbd.c, the plugin, so that its snapshots
 * (rbd_snap.c) and streams (rbd_export.c, rbd_import.c) stand on this file
 * and never reach back into rbd.c, which calls them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "rbd_image.h"

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

/* ---- image names -------------------------------------------------------- */

unsigned rbd_name_owner(const char *name)
{
	const char *p;
	char *end;
	unsigned long v;

	if (str_has_prefix(name, "vm-"))
		p = name + 3;
	else if (str_has_prefix(name, "base-"))
		p = name + 5;
	else
		return 0;
	if (*p < '1' || *p > '9')
		return 0;
	v = strtoul(p, &end, 10);
	return *end == '-' && end[1] && v <= 999999999ul ? (unsigned)v : 0;
}

int rbd_image_names(struct storage *s, rbd_image_spec_t **out, size_t *n, struct drover_err *err)
{
	size_t max = 64;
	rbd_image_spec_t *specs = NULL;
	int r;

	/*
	 * Not a growth loop (no ARRAY_GROW): librbd says how many images there
	 * are (it sets max and returns -ERANGE), and the list is sized to that.
	 */
	for (;;) {
		rbd_image_spec_t *more = realloc(specs, max * sizeof(*specs));

		if (!more) {
			free(specs);
			return drover_fail(err, -ENOMEM, "rbd: out of memory");
		}
		specs = more;
		r = rbd_list2(rbd_store_of(s)->io, specs, &max);
		if (r != -ERANGE)
			break;
	}
	if (r < 0) {
		free(specs);
		return drover_fail(err, r, "rbd: listing pool %s: %s", s->props.pool, strerror(-r));
	}
	*out = specs;
	*n = max;
	return 0;
}

void rbd_image_names_free(rbd_image_spec_t *specs, size_t n)
{
	if (specs)
		rbd_image_spec_list_cleanup(specs, n);
	free(specs);
}

int rbd_free_name(struct storage *s, unsigned vmid, char *out, size_t len, struct drover_err *err)
{
	rbd_image_spec_t *specs;
	size_t n;
	int r = rbd_image_names(s, &specs, &n, err);

	if (r < 0)
		return r;
	r = -ENOSPC;
	for (unsigned k = 0; k < 100000 && r == -ENOSPC; k++) {
		char base[64];
		bool used = false;

		snprintf(out, len, "vm-%u-disk-%u", vmid, k);
		snprintf(base, sizeof(base), "base-%u-disk-%u", vmid, k);
		for (size_t i = 0; i < n && !used; i++)
			used = streq(specs[i].name, out) || streq(specs[i].name, base);
		if (!used)
			r = 0;
	}
	rbd_image_names_free(specs, n);
	if (r < 0)
		return drover_fail(err, r, "rbd: no free disk name for VM %u", vmid);
	return 0;
}
