/* SPDX-License-Identifier: MIT */
#include "service.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/process.h"
#include "libdrover/error.h"
#include "basic/util.h"

#define ARGS_MAX 24

static const char *const unit_names[] = {
	[SERVICE_COROSYNC] = "corosync",
	[SERVICE_DROVERFS] = "droverfs",
	[SERVICE_SSHD] = "sshd",
	[SERVICE_QDEVICE] = "corosync-qdevice",
	[SERVICE_QNETD] = "corosync-qnetd",
	[SERVICE_DROVERD] = "droverd",
};

/* systemd's unit for each; Debian names sshd "ssh". */
static const char *const systemd_units[] = {
	[SERVICE_COROSYNC] = "corosync.service",
	[SERVICE_DROVERFS] = "droverfs.service",
	[SERVICE_SSHD] = "ssh.service",
	[SERVICE_QDEVICE] = "corosync-qdevice.service",
	[SERVICE_QNETD] = "corosync-qnetd.service",
	[SERVICE_DROVERD] = "droverd.service",
};

/* The sandbox's command for each action: its daemons come back with the node, not at boot. */
static const char *const sandbox_actions[] = {
	[SERVICE_START] = "start",  [SERVICE_STOP] = "stop",	[SERVICE_RESTART] = "restart",
	[SERVICE_ENABLE] = "start", [SERVICE_DISABLE] = "stop",
};

static const char *const action_names[] = {
	[SERVICE_START] = "start",   [SERVICE_STOP] = "stop",	    [SERVICE_RESTART] = "restart",
	[SERVICE_ENABLE] = "enable", [SERVICE_DISABLE] = "disable",
};

static bool stops(enum service_action a)
{
	return a == SERVICE_STOP || a == SERVICE_DISABLE;
}

const char *service_unit_name(enum service_unit u)
{
	return unit_names[u];
}

/* The sandbox marker: sandbox name, host number and host name ("node2", "qnetd"). */
struct marker {
	char sandbox[32];
	unsigned node;
	char host[32];
};

static bool read_marker(struct marker *m)
{
	char text[128];
	bool ok;
	int n;
	FILE *f = fopen(SERVICE_SANDBOX_MARKER, "re");

	if (!f)
		return false;
	ok = fgets(text, sizeof(text), f) &&
	     (n = sscanf(text, "%31s %u %31s", m->sandbox, &m->node, m->host)) >= 2;
	fclose(f);
	/* a marker of an older drover has no host name: only nodes had one then */
	if (ok && n == 2)
		snprintf(m->host, sizeof(m->host), "node%u", m->node);
	return ok;
}

static bool systemd_booted(void)
{
	return access("/run/systemd/system", F_OK) == 0;
}

enum service_manager service_manager_detect(char *sandbox, size_t len, unsigned *node)
{
	struct marker m;

	/* the sandbox first: its nodes may live on a host booted with systemd */
	if (read_marker(&m) && strlen(m.sandbox) < len) {
		strcpy(sandbox, m.sandbox);
		*node = m.node;
		return SERVICE_MANAGER_SANDBOX;
	}
	return systemd_booted() ? SERVICE_MANAGER_SYSTEMD : SERVICE_MANAGER_NONE;
}

/* Our own drover binary: the sandbox commands must come from the same build. */
static void drover_binary(char *out, size_t len)
{
	if (self_exe_path(out, len) == 0 && streq(strrchr(out, '/') + 1, "drover"))
		return;
	snprintf(out, len, "drover");
}

static int run_manager(char *argv[], char *err, size_t err_len)
{
	struct buf out = BUF_INIT;
	int r = process_run_io(argv, NULL, 0, &out, &out);

	if (err && err_len) {
		size_t n = MIN(out.len, err_len - 1);

		memcpy(err, out.data ? (char *)out.data : "", n);
		err[n] = '\0';
		while (n > 0 && err[n - 1] == '\n')
			err[--n] = '\0';
	}
	buf_free(&out);
	if (r < 0)
		return r;
	return r == 0 ? 0 : -EIO;
}

static int sandbox_control(const struct marker *m, enum service_unit u, enum service_action a,
			   char *const extra[], char *err, size_t err_len)
{
	char self[PATH_MAX];
	char *argv[ARGS_MAX];
	size_t n = 0;

	drover_binary(self, sizeof(self));
	argv[n++] = self;
	argv[n++] = "sandbox";
	argv[n++] = (char *)sandbox_actions[a];
	argv[n++] = "--name";
	argv[n++] = (char *)m->sandbox;
	argv[n++] = (char *)m->host;
	argv[n++] = (char *)unit_names[u];
	if (extra && !stops(a)) {
		argv[n++] = "--";
		for (; *extra && n < ARGS_MAX - 1; extra++)
			argv[n++] = *extra;
	}
	argv[n] = NULL;
	return run_manager(argv, err, err_len);
}

static int systemd_control(enum service_unit u, enum service_action a, char *const extra[],
			   char *err, size_t err_len)
{
	char *argv[] = { "systemctl", (char *)action_names[a], (char *)systemd_units[u], NULL,
			 NULL };

	if (a == SERVICE_ENABLE || a == SERVICE_DISABLE) {
		argv[2] = "--now";
		argv[3] = (char *)systemd_units[u];
	}
	/* A one-off start with other arguments is a transient unit of its own. */
	if (extra && *extra && !stops(a)) {
		char *run[ARGS_MAX] = { "systemd-run", "--unit=droverfs-oneoff",
					"--service-type=notify", "/usr/sbin/droverfs", "-f" };
		size_t n = 5;
		int r;

		if (u != SERVICE_DROVERFS)
			return -EINVAL;
		r = systemd_control(u, SERVICE_STOP, NULL, err, err_len);
		if (r < 0)
			return r;
		for (; *extra && n < ARGS_MAX - 1; extra++)
			run[n++] = *extra;
		run[n] = NULL;
		return run_manager(run, err, err_len);
	}
	return run_manager(argv, err, err_len);
}

int service_control(enum service_unit u, enum service_action a, char *const extra_args[], char *err,
		    size_t err_len)
{
	struct marker m;

	if (err && err_len)
		err[0] = '\0';
	if (read_marker(&m))
		return sandbox_control(&m, u, a, extra_args, err, err_len);
	if (systemd_booted())
		return systemd_control(u, a, extra_args, err, err_len);
	if (err && err_len)
		snprintf(err, err_len,
			 "no service manager: PID 1 is not systemd and this is no sandbox node; "
			 "%s %s by hand",
			 action_names[a], unit_names[u]);
	return -ENOTSUP;
}

int service_do(enum service_unit u, enum service_action a, char *const extra_args[],
	       struct drover_err *err)
{
	char why[DROVER_ERR_MAX - 64];
	int r = service_control(u, a, extra_args, why, sizeof(why));

	if (r < 0)
		drover_fail(err, r, "%s %s: %s",
			    a == SERVICE_STOP || a == SERVICE_DISABLE ? "stopping" : "starting",
			    service_unit_name(u), why[0] ? why : strerror(-r));
	return r;
}
