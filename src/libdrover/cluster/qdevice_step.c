/* SPDX-License-Identifier: MIT */
#include "qdevice_step.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "basic/util.h"
#include "libdrover/sys/service.h"
#include "qdevice.h"
#include "qnetd.h"
#include "ssh.h"

#define REACH_TIMEOUT_MS 5000
#define CONFIG_TIMEOUT_MS 30000

static int step_import(const struct buf *in, struct drover_err *err)
{
	struct buf ca = BUF_INIT, p12 = BUF_INIT;
	int r = in ? qdevice_bundle_parse((const char *)in->data, in->len, &ca, &p12, err)
		   : drover_fail(err, -EINVAL, "import: no bundle");

	if (r == 0)
		r = qdevice_db_init(&ca, err);
	if (r == 0)
		r = qdevice_db_import_p12(&p12, err);
	buf_free(&ca);
	buf_free(&p12);
	return r;
}

static int service(enum service_action a, struct drover_err *err)
{
	char why[DROVER_ERR_MAX];
	int r = service_control(SERVICE_QDEVICE, a, NULL, why, sizeof(why));

	if (r < 0)
		/* the sandbox's manager is drover too: its prefix once is enough */
		drover_fail(err, r, "%s",
			    !why[0]			      ? strerror(-r)
			    : str_has_prefix(why, "drover: ") ? why + 8
							      : why);
	return r;
}

static int step_start(const char *arg, struct drover_err *err)
{
	uint64_t version;
	int r;

	if (!arg || parse_u64(arg, UINT64_MAX, &version) < 0)
		return drover_fail(err, -EINVAL, "start: '%s' is not a config version",
				   arg ? arg : "");
	/* corosync-qdevice reads its configuration from corosync: it must have the device */
	r = qdevice_wait_config(version, CONFIG_TIMEOUT_MS, err);
	return r < 0 ? r : service(SERVICE_ENABLE, err);
}

static int step_check(const char *addr, struct drover_err *err)
{
	int r;

	if (!addr)
		return drover_fail(err, -EINVAL, "check: no QNetd address");
	r = qdevice_tools_check(err);
	return r < 0 ? r : qnetd_reachable(addr, REACH_TIMEOUT_MS, err);
}

/* One step on this node. */
static int local_step(const char *step, const char *arg, const struct buf *in,
		      struct drover_err *err)
{
	if (streq(step, "check"))
		return step_check(arg, err);
	if (streq(step, "import"))
		return step_import(in, err);
	if (streq(step, "start"))
		return step_start(arg, err);
	if (streq(step, "stop"))
		return service(SERVICE_DISABLE, err);
	if (streq(step, "clean"))
		return qdevice_db_remove(err);
	return drover_fail(err, -EINVAL, "unknown step '%s'", step);
}

static int remote_step(const struct qdevice_target *t, const char *step, const char *arg,
		       const struct buf *in, struct drover_err *err)
{
	char *args[] = { "cluster", "qdevice", "_node", (char *)step, (char *)arg, NULL };
	struct buf out = BUF_INIT;
	int r = ssh_run_drover(t->addr, NULL, args, in ? in->data : NULL, in ? in->len : 0, &out);

	buf_free(&out);
	if (r < 0 || r == 255)
		return drover_fail(err, r < 0 ? r : -EHOSTUNREACH,
				   "%s: cannot reach root@%s over SSH%s%s", t->name, t->addr,
				   r < 0 ? ": " : " (see ssh's message above)",
				   r < 0 ? strerror(-r) : "");
	if (r != 0)
		return drover_fail(err, -EIO, "%s: step '%s' failed (its reason is above)", t->name,
				   step);
	return 0;
}

int qdevice_node_step(const struct qdevice_target *t, const char *step, const char *arg,
		      const struct buf *in, struct drover_err *err)
{
	int r;

	if (!t->local)
		return remote_step(t, step, arg, in, err);
	r = local_step(step, arg, in, err);
	return r < 0 ? drover_fail_prefix(err, r, "%s", t->name) : 0;
}
