/* SPDX-License-Identifier: MIT */
/*
 * Starting a VM: under the guest's lock (a locked guest is refused), its
 * NICs' taps on their bridges, QEMU from the generated command line
 * (-daemonize: the start returns once QEMU has set everything up, and a
 * QEMU that fails says why on its stderr), then QMP until "running".
 *
 * QEMU runs under the service-control layer: in a systemd scope
 * drover-qemu-VMID.scope where systemd is PID 1 (as Proxmox's VMID.scope),
 * otherwise as a daemon of its own session, which the sandbox node's
 * namespaces hold (the sandbox's process management).
 */
#include "vm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "basic/process.h"
#include "basic/strv.h"
#include "basic/util.h"
#include "conf_edit.h"
#include "libdrover/format/guest_net.h"
#include "libdrover/sys/service.h"
#include "qemu/cmdline.h"
#include "qemu/runtime.h"
#include "qemu/tap.h"

struct start {
	const struct vm_env *e;
	uint32_t vmid;
	const struct drover_reporter *log;
	struct drover_err *err;
	const char *incoming; /* -incoming: start from a saved state */
	const char *machine; /* the saved state's machine type */
};

static int make_tap(void *ctx, const char *key, const char *value, unsigned index)
{
	struct start *s = ctx;
	struct guest_nic nic;
	char tap[16];
	int r = guest_nic_parse(key, value, &nic, s->err);

	if (r < 0)
		return r;
	if (!nic.bridge[0])
		return 0;
	qemu_tap_name(s->vmid, index, tap);
	r = qemu_tap_create(tap, nic.bridge, nic.mtu, nic.tag, nic.queues > 1, s->err);
	if (r == -ENODEV)
		return drover_fail(s->err, r, "%s: bridge '%s' does not exist on this node", key,
				   nic.bridge);
	if (r < 0)
		return drover_fail_prefix(s->err, r, "%s", key);
	return 0;
}

static int child_setup(void *arg)
{
	(void)arg;
	/* the sockets, pid file and console logs: root's alone */
	umask(0177);
	setsid();
	return 0;
}

/* argv run in a systemd scope where systemd runs (a new vector), else argv itself. */
static char **under_service_control(uint32_t vmid, char **argv)
{
	char unit[64], **v;
	size_t n = strv_length(argv);

	if (service_manager_detect(NULL, 0, NULL) != SERVICE_MANAGER_SYSTEMD)
		return argv;
	v = calloc(n + 6, sizeof(*v));
	if (!v)
		return NULL;
	snprintf(unit, sizeof(unit), "--unit=drover-qemu-%" PRIu32, vmid);
	v[0] = strdup("systemd-run");
	v[1] = strdup("--scope");
	v[2] = strdup("--quiet");
	v[3] = strdup("--slice=qemu");
	v[4] = strdup(unit);
	for (size_t i = 0; i < n; i++)
		v[5 + i] = argv[i];
	free(argv);
	return v;
}

static int run_qemu(struct start *s, char **argv)
{
	char out[4096];
	int r;

	out[0] = '\0';
	r = process_run(argv, out, sizeof(out), child_setup, NULL);
	if (r == 0)
		return 0;
	return drover_fail_run(s->err, r, out, "QEMU of VM %" PRIu32, s->vmid);
}

static int wait_running(struct start *s)
{
	uint64_t deadline = now_monotonic_ns() + (uint64_t)VM_START_TIMEOUT_MS * 1000000ull;
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	struct qemu_paths p;
	struct qmp *q = NULL;
	char status[32] = "";
	int r = qemu_paths_init(s->e->run_dir, s->vmid, &p, s->err);

	while (r == 0) {
		r = qmp_connect(p.qmp, VM_QMP_TIMEOUT_MS, &q, s->err);
		if (r == 0)
			r = qmp_query_status(q, VM_QMP_TIMEOUT_MS, status, sizeof(status), s->err);
		/*
		 * A loaded state keeps the run state it was saved in: paused, as
		 * a snapshot pauses the VM to save it ("inmigrate" while loading)
		 */
		if (r == 0 && s->incoming && streq(status, "paused"))
			r = qmp_execute(q, "cont", NULL, VM_QMP_TIMEOUT_MS, NULL, s->err);
		qmp_close(q);
		q = NULL;
		if (r == 0 && streq(status, "running"))
			return 0;
		if (now_monotonic_ns() >= deadline)
			return drover_fail(s->err, -ETIMEDOUT,
					   "VM %" PRIu32 " did not reach the running state (%s)",
					   s->vmid, status[0] ? status : "no QMP answer");
		nanosleep(&pause, NULL);
		r = 0;
	}
	return r;
}

/* The command line a start runs, KVM or not as probed here (why: the probe's answer). */
static int start_cmdline(const struct vm_env *e, struct guest_conf *c, uint32_t vmid,
			 const struct start *s, char ***argv, bool *kvm, char *why, size_t why_len,
			 struct drover_err *err)
{
	struct qemu_cmdline_opts o = {
		.run_dir = e->run_dir,
		.incoming = s ? s->incoming : NULL,
		.machine = s ? s->machine : NULL,
		.daemonize = true,
		.serial_log = true,
		.resolve = vm_resolve_volume,
		.resolve_ctx = (void *)e,
	};

	o.kvm_usable = qemu_kvm_probe(why, why_len);
	*kvm = o.kvm_usable;
	return qemu_cmdline(c, vmid, &o, argv, err);
}

int vm_showcmd(const struct vm_env *e, uint32_t vmid, char ***argv, struct drover_err *err)
{
	struct guest_conf *c = NULL;
	char why[256];
	bool kvm;
	int r = vm_config(e, vmid, &c, err);

	*argv = NULL;
	if (r < 0)
		return r;
	r = start_cmdline(e, c, vmid, NULL, argv, &kvm, why, sizeof(why), err);
	guest_conf_free(c);
	return r;
}

static int start_locked(struct guest_conf *c, void *arg, struct drover_err *err)
{
	struct start *s = arg;
	char why[256], **argv = NULL;
	bool kvm;
	int r;

	if (vm_running(s->e, s->vmid, NULL))
		return drover_fail(err, -EEXIST, "VM %" PRIu32 " is already running", s->vmid);
	r = qemu_run_dir_prepare(s->e->run_dir, err);
	if (r < 0)
		return r;
	r = start_cmdline(s->e, c, s->vmid, s, &argv, &kvm, why, sizeof(why), err);
	if (r < 0)
		return r;
	drover_report_log(s->log, "Starting VM %" PRIu32 "%s (%s: %s)", s->vmid,
			  s->incoming ? " from its saved RAM state" : "", kvm ? "KVM" : "TCG", why);
	r = guest_each_numbered(guest_conf_current(c), "net", GUEST_NET_COUNT, make_tap, s);
	if (r == 0) {
		char **run = under_service_control(s->vmid, argv);

		if (!run)
			r = drover_fail(err, -ENOMEM, "out of memory");
		else
			argv = run;
	}
	if (r == 0)
		r = run_qemu(s, argv);
	if (r == 0)
		r = wait_running(s);
	strv_free_array(argv);
	if (r < 0) {
		int pid;

		/* nothing half-started stays: a QEMU that came up but never ran goes */
		if (vm_running(s->e, s->vmid, &pid)) {
			process_stop(pid, 5000);
			vm_wait_gone(pid, 5000);
		}
		vm_taps_delete(c, s->vmid);
		return r;
	}
	return 1; /* the config stays as it is */
}

int vm_start(const struct vm_env *e, uint32_t vmid, const struct drover_reporter *log,
	     struct drover_err *err)
{
	struct start s = { e, vmid, log, err, NULL, NULL };

	return guest_conf_update_at(&e->st.cfs, GUEST_QEMU, vmid, NULL, start_locked, &s, err);
}

int vm_start_from_state(const struct vm_env *e, uint32_t vmid, const char *path,
			const char *machine, const struct drover_reporter *log,
			struct drover_err *err)
{
	struct start s = { e, vmid, log, err, NULL, machine };
	char *uri = NULL;
	int r;

	/* sh -c runs it: the path quoted, and none with a quote of its own */
	if (strchr(path, '\''))
		return drover_fail(err, -EINVAL, "state volume path %s has a quote", path);
	/* QEMU loads the state, then runs (no -S): wait_running sees it */
	if (asprintf(&uri, "exec:cat '%s'", path) < 0)
		return drover_fail(err, -ENOMEM, "out of memory");
	s.incoming = uri;
	r = guest_conf_update_at(&e->st.cfs, GUEST_QEMU, vmid, NULL, start_locked, &s, err);
	free(uri);
	return r;
}
