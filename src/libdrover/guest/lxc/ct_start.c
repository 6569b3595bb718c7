/* SPDX-License-Identifier: MIT */
/*
 * pct start, under the guest's lock: the config read (refused when
 * locked: lock: set), every NIC's bridge
 * checked, the LXC config generated (lxc_conf.h) into CT_LXC_PATH/CTID/
 * config with the volumes made directories, then lxc-start in the
 * background and lxc-wait for RUNNING. LXC's monitor keeps the container;
 * no systemd is needed (the sandbox's nodes have none).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/util.h"
#include "ct_internal.h"
#include "libdrover/format/guest_net.h"
#include "libdrover/guest/conf_edit.h"
#include "lxc_conf.h"

#define START_WAIT_S "30"

static int resolve(void *ctx, uint32_t ctid, const char *volid, char *path, size_t len,
		   struct drover_err *err)
{
	return ct_volume_dir(ctx, ctid, volid, path, len, err);
}

static int check_bridge(void *ctx, const char *key, const char *value, unsigned index)
{
	struct drover_err *err = ctx;
	struct guest_ct_nic n;
	char path[128];

	(void)index;
	if (guest_ct_nic_parse(key, value, &n, err) < 0)
		return drover_fail_prefix(err, -EINVAL, "%s", key);
	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", n.bridge);
	if (n.bridge[0] && access(path, F_OK) < 0)
		return drover_fail(err, -ENODEV, "%s: bridge '%s' does not exist on this node", key,
				   n.bridge);
	return 0;
}

static int write_lxc_conf(const struct storage_env *env, struct guest_conf *c, uint32_t ctid,
			  struct drover_err *err)
{
	struct lxc_conf_opts o = { 0 };
	struct buf out = BUF_INIT;
	char dir[4096], file[4200];
	int r;

	lxc_host_probe(&o);
	o.resolve = resolve;
	o.resolve_ctx = (void *)env;
	/* searchable: an unprivileged container's root (uid 100000) passes through */
	r = mkdir_p(CT_LXC_PATH, 0711);
	if (r == 0 && chmod(CT_LXC_PATH, 0711) < 0)
		r = -errno;
	if (r == 0)
		r = ct_dir(ctid, NULL, dir, sizeof(dir));
	if (r == 0)
		r = mkdir_p(dir, 0711);
	if (r == 0 && chmod(dir, 0711) < 0)
		r = -errno;
	if (r < 0)
		return drover_fail(err, r, "%s: %s", CT_LXC_PATH, strerror(-r));
	r = lxc_conf_generate(c, ctid, &o, &out, err);
	snprintf(file, sizeof(file), "%s/config", dir);
	if (r == 0) {
		r = write_file_atomic(file, out.data, out.len, 0600);
		if (r < 0)
			drover_fail(err, r, "writing %s: %s", file, strerror(-r));
	}
	buf_free(&out);
	return r;
}

static int launch(uint32_t ctid, struct drover_err *err)
{
	char log[4200];
	const char *start[] = { "-d", "-o", log, "-l", "ERROR", NULL };
	const char *wait[] = { "-s", "RUNNING", "-t", START_WAIT_S, NULL };
	int r;

	ct_dir(ctid, "lxc.log", log, sizeof(log));
	unlink(log); /* its errors are this start's */
	r = ct_lxc_run("lxc-start", ctid, start, err);
	if (r == 0)
		r = ct_lxc_run("lxc-wait", ctid, wait, err);
	if (r < 0) {
		char *text = NULL;
		size_t len;

		if (read_file_max(log, 4096, &text, &len) == 0 && len)
			drover_fail_append(err, r, " (%s: %.*s)", log, (int)len - 1, text);
		free(text);
		ct_volumes_release(ctid);
	}
	return r;
}

struct start {
	const struct storage_env *env;
	uint32_t ctid;
	const struct drover_reporter *rep;
};

/* Under priv/lock/guest-CTID, held to the end: droverd's cleanup waits for a start. */
/*
 * The container's cgroups by their fixed names (lxc_conf.c): the empty ones
 * an LXC that died left are removed; one still busy is not this node's
 * container (that is not running), and LXC could not start in it.
 */
static int cgroups_free(uint32_t ctid, struct drover_err *err)
{
	char path[PATH_MAX];

	ct_cgroups_release(ctid);
	if (!ct_cgroup_taken(ctid, path, sizeof(path)))
		return 0;
	return drover_fail(err, -EBUSY,
			   "CT %" PRIu32 ": cgroup %s is in use by processes that are not this "
			   "container's (a container %" PRIu32 " of another cluster on this host, "
			   "or one a dead LXC left behind): stop them or remove the cgroup",
			   ctid, path, ctid);
}

static int start_locked(struct guest_conf *c, void *arg, struct drover_err *err)
{
	struct start *s = arg;
	int r = 0;

	if (ct_running(s->ctid))
		r = drover_fail(err, -EEXIST, "CT %" PRIu32 " is already running", s->ctid);
	if (r == 0)
		r = guest_each_numbered(guest_conf_current(c), "net", GUEST_NET_COUNT, check_bridge,
					err);
	if (r == 0)
		r = cgroups_free(s->ctid, err);
	if (r == 0)
		r = write_lxc_conf(s->env, c, s->ctid, err);
	if (r == 0) {
		drover_report_log(s->rep, "Starting CT %" PRIu32, s->ctid);
		r = launch(s->ctid, err);
	}
	return r < 0 ? r : 1; /* the config stays as it is */
}

static int start_with(const struct storage_env *env, uint32_t ctid,
		      const struct drover_reporter *rep, struct drover_err *err)
{
	struct start s = { env, ctid, rep };

	return guest_conf_update(GUEST_LXC, ctid, NULL, start_locked, &s, err);
}

int ct_start(uint32_t ctid, const struct drover_reporter *rep, struct drover_err *err)
{
	struct storage_env env;
	int r = ct_env_open(&env, err);

	if (r < 0)
		return r;
	r = start_with(&env, ctid, rep, err);
	storage_env_close(&env);
	return r;
}
