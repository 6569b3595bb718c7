/* SPDX-License-Identifier: MIT */
/* What the container operations share: paths, running LXC's tools, a config's volumes. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/process.h"
#include "basic/util.h"
#include "ct_internal.h"
#include "libdrover/format/guest_drive.h"
#include "libdrover/guest/guest_runtime.h"

#define LXC_ARGS_MAX 24

int ct_dir(uint32_t ctid, const char *sub, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%" PRIu32 "%s%s", CT_LXC_PATH, ctid, sub ? "/" : "",
			 sub ? sub : "");

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int ct_lxc_run(const char *tool, uint32_t ctid, const char *const extra[], struct drover_err *err)
{
	const char *argv[LXC_ARGS_MAX];
	char id[16], out[2048];
	size_t n = 0;
	int st;

	snprintf(id, sizeof(id), "%" PRIu32, ctid);
	argv[n++] = tool;
	argv[n++] = "-P";
	argv[n++] = CT_LXC_PATH;
	argv[n++] = "-n";
	argv[n++] = id;
	for (size_t i = 0; extra && extra[i] && n + 1 < LXC_ARGS_MAX; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	out[0] = '\0';
	st = process_run((char *const *)argv, out, sizeof(out), NULL, NULL);
	if (st == 0)
		return 0;
	return drover_fail_run(err, st, out, "%s", tool);
}

bool ct_running(uint32_t ctid)
{
	struct guest_runtime rt = { 0 };

	return lxc_runtime_read(NULL, ctid, &rt) == 0 && rt.running;
}

/* rmdir path and the cgroups below it, deepest first (a cgroup with processes stays). */
static void rmdir_cgroup(const char *path, unsigned depth)
{
	char sub[PATH_MAX];
	struct dirent *e;
	DIR *d = depth < 8 ? opendir(path) : NULL;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_type == DT_DIR && e->d_name[0] != '.' &&
		    snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) < (int)sizeof(sub))
			rmdir_cgroup(sub, depth + 1);
	closedir(d);
	rmdir(path);
}

/* fn on each path lxc.payload.CTID and lxc.monitor.CTID may have (v1, v2); stops at non-zero. */
static int each_cgroup(uint32_t ctid, int (*fn)(const char *path, void *ctx), void *ctx)
{
	static const char *const kinds[] = { "lxc.payload", "lxc.monitor" };
	char path[PATH_MAX];
	struct dirent *e;
	int r = 0;
	DIR *d = opendir("/sys/fs/cgroup");

	while (d && r == 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		for (size_t k = 0; r == 0 && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%s.%" PRIu32, e->d_name,
				 kinds[k], ctid);
			r = fn(path, ctx);
		}
	}
	if (d)
		closedir(d);
	/* cgroup v2 mounted at /sys/fs/cgroup itself */
	for (size_t k = 0; r == 0 && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s.%" PRIu32, kinds[k], ctid);
		r = fn(path, ctx);
	}
	return r;
}

static int release_one(const char *path, void *ctx)
{
	(void)ctx;
	rmdir_cgroup(path, 0);
	return 0;
}

void ct_cgroups_release(uint32_t ctid)
{
	if (!ct_running(ctid))
		each_cgroup(ctid, release_one, NULL);
}

struct taken {
	char *path;
	size_t len;
};

static int find_one(const char *path, void *ctx)
{
	struct taken *t = ctx;

	if (access(path, F_OK) != 0)
		return 0;
	snprintf(t->path, t->len, "%s", path);
	return 1;
}

bool ct_cgroup_taken(uint32_t ctid, char *path, size_t len)
{
	struct taken t = { path, len };

	return each_cgroup(ctid, find_one, &t) > 0;
}

int ct_env_open(struct storage_env *env, struct drover_err *err)
{
	return storage_env_open(env, NULL, err);
}

struct vol_walk {
	char (*vols)[256];
	size_t max, n;
	struct drover_err *err;
};

static int add_volume(void *ctx, const char *key, const char *value, unsigned index)
{
	struct vol_walk *w = ctx;
	struct guest_mount m;
	enum guest_volume_kind kind;
	char vol[GUEST_VOLID_MAX];
	const char *name = vol;

	(void)index;
	if (str_has_prefix(key, "unused")) {
		/* unusedN: a bare volume ID */
		if (guest_volume_parse(value, false, &kind, w->err) < 0)
			return drover_fail_prefix(w->err, -EINVAL, "%s", key);
		if (kind != GUEST_VOLUME_STORAGE)
			return 0;
		snprintf(vol, sizeof(vol), "%s", value);
	} else {
		if (guest_mount_parse(key, value, &m, w->err) < 0)
			return drover_fail_prefix(w->err, -EINVAL, "%s", key);
		if (m.kind != GUEST_VOLUME_STORAGE)
			return 0;
		name = m.volume;
	}
	if (w->n >= w->max)
		return drover_fail(w->err, -E2BIG, "too many volumes");
	if (strlen(name) >= 256)
		return drover_fail(w->err, -ENAMETOOLONG, "%s: volume ID too long", key);
	memcpy(w->vols[w->n++], name, strlen(name) + 1);
	return 0;
}

int ct_section_volumes(struct guest_section *s, bool with_unused, char vols[][256], size_t max,
		       size_t *n, struct drover_err *err)
{
	struct vol_walk w = { .vols = vols, .max = max, .err = err };
	const char *root = guest_get(s, "rootfs");
	int r = 0;

	if (root)
		r = add_volume(&w, "rootfs", root, 0);
	if (r == 0)
		r = guest_each_numbered(s, "mp", GUEST_MP_COUNT, add_volume, &w);
	if (r == 0 && with_unused)
		r = guest_each_numbered(s, "unused", GUEST_MP_COUNT, add_volume, &w);
	*n = w.n;
	return r;
}
