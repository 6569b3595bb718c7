/* SPDX-License-Identifier: MIT */
#include "service.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "process.h"
#include "util.h"

#define ARGS_MAX 24

static const char *const unit_names[] = {
	[SERVICE_COROSYNC] = "corosync",
	[SERVICE_DROVERFS] = "droverfs",
	[SERVICE_SSHD] = "sshd",
	[SERVICE_QDEVICE] = "corosync-qdevice",
};

/* systemd's unit for each; Debian names sshd "ssh". */
static const char *const systemd_units[] = {
	[SERVICE_COROSYNC] = "corosync.service",
	[SERVICE_DROVERFS] = "droverfs.service",
	[SERVICE_SSHD] = "ssh.service",
	[SERVICE_QDEVICE] = "corosync-qdevice.service",
};

static const char *const action_names[] = {
	[SERVICE_START] = "start",
	[SERVICE_STOP] = "stop",
	[SERVICE_RESTART] = "restart",
};

const char *service_unit_name(enum service_unit u)
{
	return unit_names[u];
}

enum service_manager service_manager_detect(char *sandbox, size_t len, unsigned *node)
{
	char text[64], name[32];
	unsigned k;
	FILE *f;

	/* the sandbox first: its nodes may live on a host booted with systemd */
	f = fopen(SERVICE_SANDBOX_MARKER, "re");
	if (f) {
		bool ok = fgets(text, sizeof(text), f) && sscanf(text, "%31s %u", name, &k) == 2;

		fclose(f);
		if (ok && strlen(name) < len) {
			strcpy(sandbox, name);
			*node = k;
			return SERVICE_MANAGER_SANDBOX;
		}
	}
	if (access("/run/systemd/system", F_OK) == 0)
		return SERVICE_MANAGER_SYSTEMD;
	return SERVICE_MANAGER_NONE;
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

static int sandbox_control(const char *name, unsigned node, enum service_unit u,
			   enum service_action a, char *const extra[], char *err, size_t err_len)
{
	char self[PATH_MAX], nodename[16];
	char *argv[ARGS_MAX];
	size_t n = 0;

	if (u == SERVICE_QDEVICE)
		return -ENOTSUP;
	drover_binary(self, sizeof(self));
	snprintf(nodename, sizeof(nodename), "node%u", node);
	argv[n++] = self;
	argv[n++] = "sandbox";
	argv[n++] = (char *)action_names[a];
	argv[n++] = "--name";
	argv[n++] = (char *)name;
	argv[n++] = nodename;
	argv[n++] = (char *)unit_names[u];
	if (extra && a != SERVICE_STOP) {
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
	char *argv[] = { "systemctl", (char *)action_names[a], (char *)systemd_units[u], NULL };

	/* A one-off start with other arguments is a transient unit of its own. */
	if (extra && *extra && a != SERVICE_STOP) {
		char *run[ARGS_MAX] = { "systemd-run", "--unit=droverfs-oneoff", "--service-type=notify",
					"/usr/sbin/droverfs", "-f" };
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

int service_control(enum service_unit u, enum service_action a, char *const extra_args[],
		    char *err, size_t err_len)
{
	char name[32];
	unsigned node = 0;

	if (err && err_len)
		err[0] = '\0';
	switch (service_manager_detect(name, sizeof(name), &node)) {
	case SERVICE_MANAGER_SANDBOX:
		return sandbox_control(name, node, u, a, extra_args, err, err_len);
	case SERVICE_MANAGER_SYSTEMD:
		return systemd_control(u, a, extra_args, err, err_len);
	default:
		if (err && err_len)
			snprintf(err, err_len,
				 "no service manager: PID 1 is not systemd and this is no sandbox node; "
				 "%s %s by hand",
				 action_names[a], unit_names[u]);
		return -ENOTSUP;
	}
}
