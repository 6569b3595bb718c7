/* SPDX-License-Identifier: MIT */
/* Ending a VM: stop (QMP quit, then signals), shutdown (agent or ACPI), reboot, suspend/resume. */
#include "vm.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "basic/process.h"
#include "basic/util.h"
#include "conf_edit.h"
#include "qemu/runtime.h"

/* The config, with the lock checked unless skiplock. */
static int load(const struct vm_env *e, uint32_t vmid, bool skiplock, struct guest_conf **c,
		struct drover_err *err)
{
	int r = vm_config(e, vmid, c, err);

	if (r == 0 && !skiplock)
		r = guest_conf_check_lock(*c, vmid, NULL, err);
	if (r < 0) {
		guest_conf_free(*c);
		*c = NULL;
	}
	return r;
}

/* QEMU gone: its taps, pid file and sockets go too. */
static void cleanup(const struct vm_env *e, struct guest_conf *c, uint32_t vmid)
{
	vm_taps_delete(c, vmid);
	vm_run_files_remove(e, vmid);
}

static int stop_pid(const struct vm_env *e, uint32_t vmid, int pid, unsigned timeout_s,
		    const struct drover_reporter *log, struct drover_err *err)
{
	struct qmp *q = NULL;
	struct drover_err e2;

	if (vm_qmp_open(e, vmid, &q, &e2) == 0) {
		qmp_execute(q, "quit", NULL, VM_QMP_TIMEOUT_MS, NULL, &e2);
		qmp_close(q);
	}
	if (vm_wait_gone(pid, timeout_s * 1000))
		return 0;
	drover_report_log(log, "VM %" PRIu32 " still running after %u s: killing QEMU (pid %d)",
			  vmid, timeout_s, pid);
	process_stop(pid, 2000);
	if (vm_wait_gone(pid, 5000))
		return 0;
	return drover_fail(err, -ETIMEDOUT, "VM %" PRIu32 ": QEMU (pid %d) does not go away", vmid,
			   pid);
}

int vm_stop(const struct vm_env *e, uint32_t vmid, unsigned timeout_s, bool skiplock,
	    const struct drover_reporter *log, struct drover_err *err)
{
	struct guest_conf *c = NULL;
	int pid, r = load(e, vmid, skiplock, &c, err);

	if (r < 0)
		return r;
	if (!vm_running(e, vmid, &pid)) {
		drover_report_log(log, "VM %" PRIu32 " is not running", vmid);
		cleanup(e, c, vmid);
		guest_conf_free(c);
		return 0;
	}
	drover_report_log(log, "Stopping VM %" PRIu32 " (pid %d)", vmid, pid);
	r = stop_pid(e, vmid, pid, timeout_s, log, err);
	if (r == 0)
		cleanup(e, c, vmid);
	guest_conf_free(c);
	return r;
}

static bool agent_enabled(struct guest_conf *c)
{
	const char *a = guest_get(guest_conf_current(c), "agent");

	return a && (a[0] == '1' || strstr(a, "enabled=1"));
}

/* Ask the guest to power off: through its agent if it has one, else the ACPI button. */
static int ask_poweroff(const struct vm_env *e, uint32_t vmid, struct guest_conf *c,
			const struct drover_reporter *log, struct drover_err *err)
{
	struct qemu_paths p;
	struct qga *g = NULL;
	struct qmp *q = NULL;
	struct drover_err e2;
	int r;

	if (agent_enabled(c) && qemu_paths_init(e->run_dir, vmid, &p, &e2) == 0 &&
	    qga_connect(p.qga, 5000, &g, &e2) == 0) {
		/* guest-shutdown sends no reply when it works */
		r = qga_execute(g, "guest-shutdown", NULL, 2000, NULL, &e2);
		qga_close(g);
		if (r == 0 || r == -ETIMEDOUT || r == -ECONNRESET)
			return 0;
		drover_report_log(log, "guest agent: %s; trying ACPI", e2.text);
	}
	r = vm_qmp_open(e, vmid, &q, err);
	if (r == 0)
		r = qmp_execute(q, "system_powerdown", NULL, VM_QMP_TIMEOUT_MS, NULL, err);
	qmp_close(q);
	return r;
}

int vm_shutdown(const struct vm_env *e, uint32_t vmid, unsigned timeout_s, bool force_stop,
		bool skiplock, const struct drover_reporter *log, struct drover_err *err)
{
	struct guest_conf *c = NULL;
	int pid, r = load(e, vmid, skiplock, &c, err);

	if (r < 0)
		return r;
	if (!vm_running(e, vmid, &pid)) {
		drover_report_log(log, "VM %" PRIu32 " is not running", vmid);
		cleanup(e, c, vmid);
		guest_conf_free(c);
		return 0;
	}
	drover_report_log(log, "Shutting down VM %" PRIu32 " (timeout %u s)", vmid, timeout_s);
	r = ask_poweroff(e, vmid, c, log, err);
	if (r == 0 && !vm_wait_gone(pid, timeout_s * 1000)) {
		if (force_stop)
			r = stop_pid(e, vmid, pid, VM_STOP_TIMEOUT_S, log, err);
		else
			r = drover_fail(err, -ETIMEDOUT,
					"VM %" PRIu32 " still running after %u s (--force-stop "
					"stops it hard)",
					vmid, timeout_s);
	} else if (r < 0 && force_stop) {
		drover_report_log(log, "%s: stopping hard", err ? err->text : "shutdown failed");
		r = stop_pid(e, vmid, pid, VM_STOP_TIMEOUT_S, log, err);
	}
	if (r == 0)
		cleanup(e, c, vmid);
	guest_conf_free(c);
	return r;
}

int vm_reboot(const struct vm_env *e, uint32_t vmid, unsigned timeout_s,
	      const struct drover_reporter *log, struct drover_err *err)
{
	int r;

	if (!vm_running(e, vmid, NULL))
		return drover_fail(err, -ESRCH, "VM %" PRIu32 " is not running", vmid);
	r = vm_shutdown(e, vmid, timeout_s, true, false, log, err);
	return r < 0 ? r : vm_start(e, vmid, log, err);
}

static int simple(const struct vm_env *e, uint32_t vmid, const char *cmd, struct drover_err *err)
{
	struct guest_conf *c = NULL;
	struct qmp *q = NULL;
	int r = load(e, vmid, false, &c, err);

	guest_conf_free(c);
	if (r == 0)
		r = vm_qmp_open(e, vmid, &q, err);
	if (r == 0)
		r = qmp_execute(q, cmd, NULL, VM_QMP_TIMEOUT_MS, NULL, err);
	qmp_close(q);
	return r;
}

int vm_suspend(const struct vm_env *e, uint32_t vmid, struct drover_err *err)
{
	return simple(e, vmid, "stop", err);
}

int vm_resume(const struct vm_env *e, uint32_t vmid, struct drover_err *err)
{
	return simple(e, vmid, "cont", err);
}
