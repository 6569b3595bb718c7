/* SPDX-License-Identifier: MIT */
#include "freeze.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/util.h"
#include "libdrover/guest/guest_runtime.h"
#include "libdrover/guest/qemu/agent.h"
#include "libdrover/guest/qemu/runtime.h"

#define QGA_TIMEOUT_MS 10000
#define CGROUP_ROOT "/sys/fs/cgroup"

static bool agent_enabled(const struct repl_guest *g)
{
	const char *a = guest_get(guest_conf_current(g->conf), "agent");

	/* "1", "enabled=1", "1,fstrim_cloned_disks=1" ... */
	return a && (a[0] == '1' || strstr(a, "enabled=1"));
}

static void freeze_vm(struct repl_freeze *f, const struct repl_guest *g,
		      const struct drover_reporter *rep)
{
	struct drover_err err = { "" };
	struct qemu_paths p;
	struct qga *q = NULL;
	int count = 0;

	if (!agent_enabled(g)) {
		drover_report_log(rep, "VM %" PRIu32 " has no guest agent: not freezing", g->vmid);
		return;
	}
	if (qemu_paths_init(NULL, g->vmid, &p, &err) < 0 ||
	    qga_connect(p.qga, QGA_TIMEOUT_MS, &q, &err) < 0 ||
	    qga_fsfreeze_freeze(q, QGA_TIMEOUT_MS, &count, &err) < 0) {
		drover_report_warn(rep, "guest agent fsfreeze failed, snapshot without freeze: %s",
				   err.text);
		if (q)
			qga_close(q);
		return;
	}
	drover_report_log(rep, "froze %d file systems of VM %" PRIu32, count, g->vmid);
	f->qga = q;
	f->frozen = true;
}

/* A cgroup control file takes a plain write (no temporary file and rename there). */
static int write_control(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = write_all(fd, value, strlen(value));
	close(fd);
	return r;
}

/* The container's freezer: v1's freezer.state, else v2's cgroup.freeze. */
static int ct_freezer(uint32_t vmid, bool freeze)
{
	char path[256];

	snprintf(path, sizeof(path), CGROUP_ROOT "/freezer/lxc.payload.%" PRIu32 "/freezer.state",
		 vmid);
	if (access(path, W_OK) == 0)
		return write_control(path, freeze ? "FROZEN" : "THAWED");
	snprintf(path, sizeof(path), CGROUP_ROOT "/lxc.payload.%" PRIu32 "/cgroup.freeze", vmid);
	return write_control(path, freeze ? "1" : "0");
}

void repl_freeze(struct repl_freeze *f, const struct repl_guest *g,
		 const struct drover_reporter *rep)
{
	struct guest_runtime rt = { 0 };

	memset(f, 0, sizeof(*f));
	f->type = g->type;
	f->vmid = g->vmid;
	if (g->type == GUEST_QEMU)
		(void)qemu_runtime_read(NULL, g->vmid, NULL, &rt);
	else
		(void)lxc_runtime_read(NULL, g->vmid, &rt);
	drover_report_log(rep, "guest => %s %" PRIu32 ", running => %d",
			  g->type == GUEST_QEMU ? "VM" : "CT", g->vmid, rt.running ? 1 : 0);
	if (!rt.running) {
		drover_report_log(rep, "guest not running: no freeze needed");
		return;
	}
	if (g->type == GUEST_QEMU) {
		freeze_vm(f, g, rep);
		return;
	}
	if (ct_freezer(g->vmid, true) < 0) {
		drover_report_warn(rep, "cannot freeze CT %" PRIu32 ": snapshot without freeze",
				   g->vmid);
		return;
	}
	sync();
	f->frozen = true;
	drover_report_log(rep, "froze CT %" PRIu32, g->vmid);
}

void repl_thaw(struct repl_freeze *f, const struct drover_reporter *rep)
{
	struct drover_err err = { "" };
	int count = 0;

	if (!f->frozen)
		return;
	if (f->type == GUEST_QEMU) {
		if (qga_fsfreeze_thaw(f->qga, QGA_TIMEOUT_MS, &count, &err) < 0)
			drover_report_warn(rep, "guest agent thaw failed: %s", err.text);
		qga_close(f->qga);
		f->qga = NULL;
	} else if (ct_freezer(f->vmid, false) < 0) {
		drover_report_warn(rep, "cannot thaw CT %" PRIu32, f->vmid);
	}
	f->frozen = false;
	drover_report_log(rep, "thawed");
}
