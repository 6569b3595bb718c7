/* SPDX-License-Identifier: MIT */
/* What every VM operation shares: the environment, volumes, QEMU's sockets and process. */
#include "vm.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "basic/unix_socket.h"
#include "basic/util.h"
#include "conf_edit.h"
#include "guest_runtime.h"
#include "libdrover/format/guest_drive.h"
#include "libdrover/format/guest_net.h"
#include "qemu/cmdline.h"
#include "qemu/runtime.h"
#include "qemu/tap.h"

int vm_env_open(struct vm_env *e, const char *socket, const char *run_dir, struct drover_err *err)
{
	int r = storage_env_open(&e->st, socket, err);

	if (r < 0)
		return r;
	snprintf(e->run_dir, sizeof(e->run_dir), "%s", run_dir ? run_dir : QEMU_RUN_DIR);
	e->socket = socket;
	return 0;
}

void vm_env_close(struct vm_env *e)
{
	storage_env_close(&e->st);
}

int vm_config(const struct vm_env *e, uint32_t vmid, struct guest_conf **out,
	      struct drover_err *err)
{
	return guest_conf_read_at(&e->st.cfs, GUEST_QEMU, vmid, out, err);
}

bool vm_running(const struct vm_env *e, uint32_t vmid, int *pid)
{
	/* its QEMU found by more than the pid file: see qemu_vm_pid() */
	pid_t p = qemu_vm_pid(NULL, e->run_dir, vmid, NULL);

	if (p <= 0)
		return false;
	if (pid)
		*pid = p;
	return true;
}

bool vm_wait_gone(pid_t pid, unsigned timeout_ms)
{
	uint64_t deadline = now_monotonic_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct timespec pause = { 0, 50 * 1000 * 1000 };

	for (;;) {
		/* QEMU is not our child (it daemonized): kill 0 says whether it is there */
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return true;
		if (now_monotonic_ns() >= deadline)
			return false;
		nanosleep(&pause, NULL);
	}
}

static int paths(const struct vm_env *e, uint32_t vmid, struct qemu_paths *p,
		 struct drover_err *err)
{
	return qemu_paths_init(e->run_dir, vmid, p, err);
}

int vm_qmp_open(const struct vm_env *e, uint32_t vmid, struct qmp **q, struct drover_err *err)
{
	struct qemu_paths p;
	int r = paths(e, vmid, &p, err);

	*q = NULL;
	if (r < 0)
		return r;
	if (!vm_running(e, vmid, NULL))
		return drover_fail(err, -ESRCH, "VM %" PRIu32 " is not running", vmid);
	r = qmp_connect(p.qmp, VM_QMP_TIMEOUT_MS, q, err);
	if (r < 0)
		return drover_fail_prefix(err, r, "VM %" PRIu32 " QMP", vmid);
	return 0;
}

int vm_serial_path(const struct vm_env *e, uint32_t vmid, unsigned index, char *out, size_t len,
		   struct drover_err *err)
{
	struct qemu_paths p;
	int r = paths(e, vmid, &p, err);

	if (r < 0)
		return r;
	if (index >= QEMU_SERIAL_COUNT)
		return drover_fail(err, -EINVAL, "no serial port %u", index);
	if (!vm_running(e, vmid, NULL))
		return drover_fail(err, -ESRCH, "VM %" PRIu32 " is not running", vmid);
	snprintf(out, len, "%s", p.serial[index]);
	return 0;
}

int vm_serial_open(const struct vm_env *e, uint32_t vmid, unsigned index, int *fd,
		   struct drover_err *err)
{
	char path[256]; /* longer than a socket path may be: too long is reported as such */
	int r = vm_serial_path(e, vmid, index, path, sizeof(path), err);

	if (r < 0)
		return r;
	r = unix_connect(path);
	if (r < 0)
		return drover_fail(err, r,
				   "VM %" PRIu32 " serial%u (%s): %s (is serial%u: socket set?)",
				   vmid, index, path, strerror(-r), index);
	*fd = r;
	return 0;
}

static int agent_call(struct qga *g, const char *cmd, int timeout_ms, struct json_object **result,
		      struct drover_err *err)
{
	int count = 0, r;
	char status[32];

	if (streq(cmd, "ping"))
		return qga_ping(g, timeout_ms, err);
	if (streq(cmd, "fsfreeze-freeze") || streq(cmd, "fsfreeze-thaw")) {
		r = streq(cmd, "fsfreeze-freeze") ? qga_fsfreeze_freeze(g, timeout_ms, &count, err)
						  : qga_fsfreeze_thaw(g, timeout_ms, &count, err);
		if (r == 0)
			*result = json_object_new_int(count);
		return r;
	}
	if (streq(cmd, "fsfreeze-status")) {
		r = qga_fsfreeze_status(g, timeout_ms, status, sizeof(status), err);
		if (r == 0)
			*result = json_object_new_string(status);
		return r;
	}
	if (streq(cmd, "get-osinfo"))
		return qga_get_osinfo(g, timeout_ms, result, err);
	return drover_fail(err, -EINVAL,
			   "unknown agent command '%s' (ping, fsfreeze-freeze, fsfreeze-thaw, "
			   "fsfreeze-status, get-osinfo)",
			   cmd);
}

int vm_agent(const struct vm_env *e, uint32_t vmid, const char *cmd, int timeout_ms,
	     struct json_object **result, struct drover_err *err)
{
	struct guest_conf *c = NULL;
	struct qemu_paths p;
	struct qga *g = NULL;
	const char *agent;
	int r;

	*result = NULL;
	r = vm_config(e, vmid, &c, err);
	if (r < 0)
		return r;
	agent = guest_get(guest_conf_current(c), "agent");
	/* agent: 1, or a property string starting with enabled=1 / 1, */
	if (!agent || !(agent[0] == '1' || strstr(agent, "enabled=1")))
		r = drover_fail(err, -ENOTSUP,
				"VM %" PRIu32 ": no guest agent configured (agent: 1)", vmid);
	guest_conf_free(c);
	if (r == 0)
		r = paths(e, vmid, &p, err);
	if (r < 0)
		return r;
	if (!vm_running(e, vmid, NULL))
		return drover_fail(err, -ESRCH, "VM %" PRIu32 " is not running", vmid);
	r = qga_connect(p.qga, timeout_ms, &g, err);
	if (r < 0)
		return drover_fail_prefix(err, r, "VM %" PRIu32 " guest agent", vmid);
	r = agent_call(g, cmd, timeout_ms, result, err);
	qga_close(g);
	return r;
}

int vm_section_volumes(struct guest_section *s,
		       int (*fn)(void *ctx, const char *key, const char *volid), void *ctx)
{
	for (size_t i = 0; i < guest_section_size(s); i++) {
		const char *value, *key = guest_line_key(s, i, &value);
		struct guest_drive d;
		enum guest_bus bus;
		unsigned index;
		int r;

		if (!key || guest_drive_key(key, &bus, &index) < 0)
			continue;
		if (guest_drive_parse(key, value, &d, NULL) < 0 || d.cdrom ||
		    d.kind != GUEST_VOLUME_STORAGE)
			continue;
		r = fn(ctx, key, d.volume);
		if (r < 0)
			return r;
	}
	return 0;
}

int vm_each_volume(struct guest_conf *c, int (*fn)(void *ctx, const char *key, const char *volid),
		   void *ctx)
{
	int r = vm_section_volumes(guest_conf_current(c), fn, ctx);

	for (size_t i = 0; r == 0 && i < guest_conf_snapshot_count(c); i++)
		r = vm_section_volumes(guest_conf_snapshot_at(c, i), fn, ctx);
	return r;
}

int vm_resolve_volume(void *ctx, uint32_t vmid, const char *volid, struct qemu_volume *vol,
		      struct drover_err *err)
{
	const struct vm_env *e = ctx;
	struct storage_vol v;
	int r = storage_vol_open(&e->st, volid, &v, err);

	if (r < 0)
		return r;
	memset(vol, 0, sizeof(*vol));
	if (v.name.vmid != vmid) {
		r = drover_fail(err, -EPERM, "volume %s belongs to VM %u, not to VM %" PRIu32,
				volid, v.name.vmid, vmid);
		goto out;
	}
	snprintf(vol->format, sizeof(vol->format), "%s",
		 v.name.format == STORAGE_VOLFORMAT_QCOW2 ? "qcow2" : "raw");
	if (streq(v.st.props.type, "rbd")) {
		vol->driver = QEMU_VOLUME_RBD;
		snprintf(vol->rbd_pool, sizeof(vol->rbd_pool), "%.*s",
			 (int)sizeof(vol->rbd_pool) - 1, v.st.props.pool);
		snprintf(vol->rbd_image, sizeof(vol->rbd_image), "%s", v.volname);
		/*
		 * the cluster as drover reaches it: the node's own, or the
		 * storage's monitors and key in a config of its own
		 */
		r = storage_rbd_client(&v.st.props, NULL, vol->rbd_conf, sizeof(vol->rbd_conf),
				       vol->rbd_user, sizeof(vol->rbd_user), err);
		goto out;
	}
	r = storage_volume_path(&e->st, volid, NULL, vol->path, sizeof(vol->path), err);
	if (r == 0)
		vol->driver = str_has_prefix(vol->path, "/dev/") ? QEMU_VOLUME_HOST_DEVICE
								 : QEMU_VOLUME_FILE;
out:
	storage_vol_close(&v);
	return r;
}

static int delete_tap(void *ctx, const char *key, const char *value, unsigned index)
{
	uint32_t vmid = *(uint32_t *)ctx;
	char tap[16];

	(void)key;
	(void)value;
	qemu_tap_name(vmid, index, tap);
	qemu_tap_delete(tap, NULL);
	return 0;
}

void vm_taps_delete(struct guest_conf *c, uint32_t vmid)
{
	guest_each_numbered(guest_conf_current(c), "net", GUEST_NET_COUNT, delete_tap, &vmid);
}
