/* SPDX-License-Identifier: MIT */
/*
 * pct stop and pct shutdown: lxc-stop --kill at once, or a clean power
 * off (LXC sends its init SIGPWR) waited for, then killed only when asked
 * to. Either way the volumes drover mounted for it are released.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "ct_internal.h"
#include "libdrover/guest/conf_edit.h"

int ct_stop(uint32_t ctid, const struct drover_reporter *rep, struct drover_err *err)
{
	const char *kill[] = { "--kill", NULL };
	int r = 0;

	if (ct_running(ctid)) {
		drover_report_log(rep, "Stopping CT %" PRIu32, ctid);
		r = ct_lxc_run("lxc-stop", ctid, kill, err);
	}
	if (r == 0)
		ct_volumes_release(ctid);
	return r;
}

int ct_shutdown(uint32_t ctid, unsigned timeout_s, bool force_stop,
		const struct drover_reporter *rep, struct drover_err *err)
{
	char t[16];
	const char *clean[] = { "--nokill", "-t", t, NULL };
	int r;

	if (!ct_running(ctid)) {
		ct_volumes_release(ctid);
		return 0;
	}
	snprintf(t, sizeof(t), "%u", timeout_s);
	drover_report_log(rep, "Shutting down CT %" PRIu32 " (up to %u s)", ctid, timeout_s);
	r = ct_lxc_run("lxc-stop", ctid, clean, err);
	if (r < 0 && ct_running(ctid)) {
		if (!force_stop)
			return drover_fail(err, -ETIMEDOUT,
					   "CT %" PRIu32 " did not shut down within %u s", ctid,
					   timeout_s);
		drover_report_log(rep, "CT %" PRIu32 " did not shut down: stopping it", ctid);
		return ct_stop(ctid, rep, err);
	}
	ct_volumes_release(ctid);
	return 0;
}

struct cleanup {
	uint32_t ctid;
	const struct drover_reporter *rep;
};

/* Under priv/lock/guest-CTID: a start (which holds it) cannot be under way. */
static int cleanup_locked(struct guest_conf *c, void *arg, struct drover_err *err)
{
	struct cleanup *cl = arg;

	(void)c;
	(void)err;
	if (ct_running(cl->ctid)) {
		drover_report_log(cl->rep, "CT %" PRIu32 " runs (again): nothing to clean up",
				  cl->ctid);
		return 1;
	}
	drover_report_log(cl->rep, "CT %" PRIu32 " stopped: releasing its volumes", cl->ctid);
	ct_volumes_release(cl->ctid);
	ct_cgroups_release(cl->ctid);
	return 1;
}

int ct_cleanup(uint32_t ctid, const struct drover_reporter *rep, struct drover_err *err)
{
	struct cleanup cl = { ctid, rep };
	struct guest_conf *c = NULL;
	const char *lock;
	int r = guest_conf_read(GUEST_LXC, ctid, &c, err);

	if (r < 0)
		return r;
	/* an operation under way (lock: create, snapshot...) uses the mounts */
	lock = guest_get(guest_conf_current(c), "lock");
	if (lock)
		drover_report_log(rep, "CT %" PRIu32 " is locked (%s): left to that operation",
				  ctid, lock);
	guest_conf_free(c);
	if (lock)
		return 0;
	return guest_conf_update(GUEST_LXC, ctid, NULL, cleanup_locked, &cl, err);
}
