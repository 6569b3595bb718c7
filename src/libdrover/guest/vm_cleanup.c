/* SPDX-License-Identifier: MIT */
/*
 * What a VM's start leaves behind once QEMU is gone: the taps of its NICs
 * (persistent, so they outlive QEMU), the pid file and the QMP, agent and
 * serial sockets (QEMU removes them only when it exits cleanly, never
 * when it is killed). A stop removes them itself; when the guest powers
 * off from inside or QEMU dies, droverd notices and calls vm_cleanup()
 * (Proxmox's qmeventd and `qm cleanup`). The serial console logs stay:
 * they say why a guest went away, and the next start begins them afresh.
 */
#include "vm.h"

#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf_edit.h"
#include "libdrover/format/guest_net.h"
#include "qemu/cmdline.h"
#include "qemu/runtime.h"
#include "qemu/tap.h"

/* The run files of a VM, as a list (pid file, QMP, agent, serial sockets). */
static size_t run_files(const struct qemu_paths *p, const char *files[QEMU_SERIAL_COUNT + 3])
{
	size_t n = 0;

	files[n++] = p->pid;
	files[n++] = p->qmp;
	files[n++] = p->qga;
	for (int i = 0; i < QEMU_SERIAL_COUNT; i++)
		files[n++] = p->serial[i];
	return n;
}

static void remove_files(const char *run_dir, uint32_t vmid, const struct drover_reporter *log)
{
	const char *files[QEMU_SERIAL_COUNT + 3];
	struct qemu_paths p;
	size_t n;

	if (qemu_paths_init(run_dir, vmid, &p, NULL) < 0)
		return;
	n = run_files(&p, files);
	for (size_t i = 0; i < n; i++)
		if (unlink(files[i]) == 0)
			drover_report_log(log, "removed %s", files[i]);
}

void vm_run_files_remove(const struct vm_env *e, uint32_t vmid)
{
	remove_files(e->run_dir, vmid, NULL);
}

bool vm_leftovers(const char *run_dir, uint32_t vmid)
{
	const char *files[QEMU_SERIAL_COUNT + 3];
	struct qemu_paths p;
	struct stat st;
	char tap[16];
	size_t n;

	if (qemu_paths_init(run_dir, vmid, &p, NULL) < 0)
		return false;
	n = run_files(&p, files);
	for (size_t i = 0; i < n; i++)
		if (lstat(files[i], &st) == 0)
			return true;
	/* taps are named by NIC index: any of them left over counts */
	for (unsigned i = 0; i < GUEST_NET_COUNT; i++) {
		qemu_tap_name(vmid, i, tap);
		if (if_nametoindex(tap) > 0)
			return true;
	}
	return false;
}

struct cleanup {
	const struct vm_env *e;
	uint32_t vmid;
	const struct drover_reporter *log;
};

static int delete_tap(void *ctx, const char *key, const char *value, unsigned index)
{
	struct cleanup *c = ctx;
	struct drover_err err = { "" };
	char tap[16];

	(void)key;
	(void)value;
	qemu_tap_name(c->vmid, index, tap);
	if (if_nametoindex(tap) == 0)
		return 0;
	if (qemu_tap_delete(tap, &err) == 0)
		drover_report_log(c->log, "removed tap %s", tap);
	else
		drover_report_warn(c->log, "tap %s: %s", tap, err.text);
	return 0;
}

/* Under priv/lock/guest-VMID: a start (which holds it) cannot be under way. */
static int cleanup_locked(struct guest_conf *conf, void *arg, struct drover_err *err)
{
	struct cleanup *c = arg;

	(void)err;
	if (vm_running(c->e, c->vmid, NULL)) {
		drover_report_log(c->log, "VM %" PRIu32 " runs (again): nothing to clean up",
				  c->vmid);
		return 1;
	}
	guest_each_numbered(guest_conf_current(conf), "net", GUEST_NET_COUNT, delete_tap, c);
	remove_files(c->e->run_dir, c->vmid, c->log);
	return 1; /* the config stays as it is */
}

int vm_cleanup(const struct vm_env *e, uint32_t vmid, const struct drover_reporter *log,
	       struct drover_err *err)
{
	struct cleanup c = { e, vmid, log };
	struct guest_conf *conf = NULL;
	const char *lock;
	int r = vm_config(e, vmid, &conf, err);

	if (r < 0)
		return r;
	/* an operation under way (lock:) may own what is there: it is its to clean */
	lock = guest_get(guest_conf_current(conf), "lock");
	if (lock) {
		drover_report_log(log, "VM %" PRIu32 " is locked (%s): left to that operation",
				  vmid, lock);
		guest_conf_free(conf);
		return 0;
	}
	guest_conf_free(conf);
	drover_report_log(log, "VM %" PRIu32 " stopped: cleaning up after it", vmid);
	return guest_conf_update_at(&e->st.cfs, GUEST_QEMU, vmid, NULL, cleanup_locked, &c, err);
}
