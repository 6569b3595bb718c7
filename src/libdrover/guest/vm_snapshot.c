/* SPDX-License-Identifier: MIT */
/*
 * Snapshots of a VM: every disk's storage snapshot plus a [NAME] section
 * of the config, taken, rolled back to and deleted under lock: snapshot,
 * rollback and snapshot-delete (guest_conf_lock), so nothing else touches
 * the guest meanwhile. A snapshot that fails on one disk deletes the
 * disk snapshots it made and unlocks; a rollback that fails after a disk
 * was rolled back keeps its lock, since the disks no longer match the
 * config (drover vm unlock, once the admin has looked).
 *
 * A snapshot with RAM (--vmstate) pauses the VM, snapshots the disks and
 * saves the RAM into a state volume while it is paused (so both are of
 * the same instant), then resumes it; whatever fails, the VM runs again
 * (unless it was paused before) and the state volume is freed. A rollback
 * to such a snapshot starts the VM from the saved state.
 */
#include "vm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "conf_edit.h"
#include "libdrover/format/guest_drive.h"
#include "qemu/qmp.h"

#define DISKS_MAX 64

struct snap_op {
	const struct vm_env *e;
	uint32_t vmid;
	const char *name;
	const char *description;
	enum storage_snap_op op;
	const struct drover_reporter *log;
	struct drover_err *err;
	char done[DISKS_MAX][GUEST_VOLID_MAX];
	size_t n_done;
	/* a snapshot with RAM: its state volume, machine type and CPU */
	char state[GUEST_VOLID_MAX], machine[64], cpu[256];
};

static int disk_op(void *ctx, const char *key, const char *volid)
{
	struct snap_op *s = ctx;
	int r;

	if (s->n_done == DISKS_MAX)
		return drover_fail(s->err, -E2BIG, "too many disks");
	r = storage_snapshot_op(&s->e->st, volid, s->op, s->name, s->err);
	if (r == -ENOENT && s->op == STORAGE_SNAP_DELETE) {
		drover_report_log(s->log, "%s: %s has no snapshot '%s'", key, volid, s->name);
		return 0;
	}
	if (r < 0)
		return drover_fail_prefix(s->err, r, "%s", key);
	drover_report_log(s->log, "%s: %s %s of %s", key,
			  s->op == STORAGE_SNAP_CREATE	   ? "snapshot"
			  : s->op == STORAGE_SNAP_ROLLBACK ? "rolled back to"
							   : "deleted snapshot",
			  s->name, volid);
	snprintf(s->done[s->n_done++], GUEST_VOLID_MAX, "%s", volid);
	return 0;
}

static int read_checked(struct snap_op *s, struct guest_conf **c, bool must_exist)
{
	int r = vm_config(s->e, s->vmid, c, s->err);

	if (r < 0)
		return r;
	r = guest_conf_check_lock(*c, s->vmid, NULL, s->err);
	if (r == 0 && must_exist && !guest_conf_snapshot(*c, s->name))
		r = drover_fail(s->err, -ENOENT, "VM %" PRIu32 " has no snapshot '%s'", s->vmid,
				s->name);
	if (r == 0 && !must_exist && guest_conf_snapshot(*c, s->name))
		r = drover_fail(s->err, -EEXIST, "VM %" PRIu32 " already has a snapshot '%s'",
				s->vmid, s->name);
	if (r < 0) {
		guest_conf_free(*c);
		*c = NULL;
	}
	return r;
}

static int commit_snapshot(struct guest_conf *c, void *arg, struct drover_err *err)
{
	struct snap_op *s = arg;
	struct guest_section *snap;
	int r;

	guest_delete(guest_conf_current(c), "lock");
	r = guest_conf_snapshot_take(c, s->name, now_wall_s(), s->description, err);
	if (r < 0 || !s->state[0])
		return r;
	snap = guest_conf_snapshot(c, s->name);
	r = guest_set(snap, "vmstate", s->state, err);
	if (r == 0)
		r = guest_set(snap, "runningmachine", s->machine, err);
	if (r == 0)
		r = guest_set(snap, "runningcpu", s->cpu, err);
	return r;
}

static void agent_try(struct snap_op *s, const char *cmd)
{
	struct json_object *res = NULL;
	struct drover_err e;

	if (vm_agent(s->e, s->vmid, cmd, 20000, &res, &e) < 0)
		drover_report_log(s->log, "guest agent %s: %s", cmd, e.text);
	json_object_put(res);
}

/* A state volume on the storage of the VM's first disk, sized for its RAM. */
static int alloc_state(struct snap_op *s, struct guest_section *cur)
{
	char store[GUEST_STORE_MAX], name[128], sz[32];
	uint64_t kib, size;
	int r = vm_state_storage(cur, store, sizeof(store), s->err);

	if (r == 0)
		r = vm_state_memory_kib(cur, &kib, s->err);
	if (r == 0 && vm_state_volume_name(s->vmid, s->name, name, sizeof(name)) < 0)
		r = drover_fail(s->err, -ENAMETOOLONG, "snapshot name '%s' too long", s->name);
	if (r < 0)
		return r;
	size = vm_state_size(kib);
	r = storage_alloc(&s->e->st, store, s->vmid, name, STORAGE_VOLFORMAT_RAW, true, size,
			  s->state, sizeof(s->state), s->err);
	if (r < 0) {
		s->state[0] = '\0';
		return drover_fail_prefix(s->err, r, "state volume");
	}
	drover_report_log(s->log, "vmstate: allocated %s (%s)", s->state,
			  guest_size_format(size, sz, sizeof(sz)));
	return 0;
}

/* Disks and RAM of the paused VM q runs; path: the state volume's. */
static int save_paused(struct snap_op *s, struct guest_section *cur, struct qmp *q,
		       const char *path)
{
	int r = vm_section_volumes(cur, disk_op, s);

	if (r < 0)
		return r;
	drover_report_log(s->log, "saving the RAM state to %s", s->state);
	r = vm_state_save(q, path, s->err);
	if (r == 0)
		drover_report_log(s->log, "saved the RAM state");
	return r;
}

static int snapshot_with_state(struct snap_op *s, struct guest_section *cur, int pid)
{
	char status[32] = "", path[4096];
	struct qmp *q = NULL;
	bool stopped = false;
	int r = alloc_state(s, cur);

	if (r == 0)
		r = storage_volume_path(&s->e->st, s->state, NULL, path, sizeof(path), s->err);
	if (r == 0)
		r = vm_qmp_open(s->e, s->vmid, &q, s->err);
	if (r == 0)
		r = qmp_query_status(q, VM_QMP_TIMEOUT_MS, status, sizeof(status), s->err);
	if (r == 0)
		r = vm_state_machine(q, guest_get(cur, "machine"), s->machine, sizeof(s->machine),
				     s->err);
	if (r == 0 && vm_state_cpu(pid, s->cpu, sizeof(s->cpu)) < 0)
		r = drover_fail(s->err, -ESRCH, "VM %" PRIu32 ": no -cpu in QEMU's command line",
				s->vmid);
	if (r == 0 && streq(status, "running")) {
		r = qmp_execute(q, "stop", NULL, VM_QMP_TIMEOUT_MS, NULL, s->err);
		stopped = r == 0;
		if (stopped)
			drover_report_log(s->log, "paused VM %" PRIu32, s->vmid);
	}
	if (r == 0)
		r = save_paused(s, cur, q, path);
	/* a VM this paused runs again, whatever happened */
	if (stopped) {
		struct drover_err e2;
		int c = qmp_execute(q, "cont", NULL, VM_QMP_TIMEOUT_MS, NULL, &e2);

		if (c < 0 && r == 0)
			r = drover_fail(s->err, c, "resuming VM %" PRIu32 ": %s", s->vmid, e2.text);
		else if (c == 0)
			drover_report_log(s->log, "resumed VM %" PRIu32, s->vmid);
	}
	qmp_close(q);
	return r;
}

int vm_snapshot(const struct vm_env *e, uint32_t vmid, const char *name, const char *description,
		bool vmstate, const struct drover_reporter *log, struct drover_err *err)
{
	struct snap_op *s;
	struct guest_conf *c = NULL;
	bool freeze, running;
	int r, pid = 0;

	if (streq(name, "current") || streq(name, "PENDING"))
		return drover_fail(err, -EINVAL, "'%s' cannot be a snapshot name", name);
	s = calloc(1, sizeof(*s));
	if (!s)
		return drover_fail(err, -ENOMEM, "out of memory");
	*s = (struct snap_op){ .e = e,
			       .vmid = vmid,
			       .name = name,
			       .description = description,
			       .op = STORAGE_SNAP_CREATE,
			       .log = log,
			       .err = err };
	r = read_checked(s, &c, false);
	if (r == 0)
		r = guest_conf_lock_at(&e->st.cfs, GUEST_QEMU, vmid, "snapshot", err);
	if (r < 0)
		goto out;
	running = vm_running(e, vmid, &pid);
	if (vmstate && !running) {
		drover_report_log(log, "VM %" PRIu32 " is not running: no RAM state to save", vmid);
		vmstate = false;
	}
	freeze = !vmstate && running && guest_get(guest_conf_current(c), "agent") != NULL;
	if (freeze)
		agent_try(s, "fsfreeze-freeze");
	if (vmstate)
		r = snapshot_with_state(s, guest_conf_current(c), pid);
	else
		r = vm_section_volumes(guest_conf_current(c), disk_op, s);
	if (freeze)
		agent_try(s, "fsfreeze-thaw");
	if (r == 0)
		r = guest_conf_update_at(&e->st.cfs, GUEST_QEMU, vmid, "snapshot", commit_snapshot,
					 s, err);
	if (r < 0) {
		struct drover_err e2;

		/* undo: the disk snapshots made, the state volume, then the lock */
		s->op = STORAGE_SNAP_DELETE;
		for (size_t i = 0; i < s->n_done; i++)
			storage_snapshot_op(&e->st, s->done[i], STORAGE_SNAP_DELETE, name, &e2);
		if (s->state[0] && storage_free_volume(&e->st, s->state, &e2) == 0)
			drover_report_log(log, "freed %s", s->state);
		guest_conf_unlock_at(&e->st.cfs, GUEST_QEMU, vmid, "snapshot", &e2);
	}
out:
	guest_conf_free(c);
	free(s);
	return r;
}

/* Keys a snapshot section has that the current config does not take back. */
static bool snapshot_only(const char *key)
{
	return streq(key, "snaptime") || streq(key, "vmstate") || streq(key, "parent") ||
	       streq(key, "snapstate") || streq(key, "description") || streq(key, "lock") ||
	       streq(key, "runningmachine") || streq(key, "runningcpu");
}

/* The current config becomes snapshot name's, with parent: name. */
static int restore_conf(struct guest_conf *c, void *arg, struct drover_err *err)
{
	struct snap_op *s = arg;
	struct guest_section *cur = guest_conf_current(c), *snap = guest_conf_snapshot(c, s->name);
	size_t n = guest_section_size(cur);
	char **keys = calloc(n + 1, sizeof(*keys)), *desc = NULL;
	int r = 0;

	if (!keys || !snap)
		r = drover_fail(err, snap ? -ENOMEM : -ENOENT, "snapshot '%s' vanished", s->name);
	for (size_t i = 0, k = 0; r == 0 && i < n; i++) {
		const char *value, *key = guest_line_key(cur, i, &value);

		if (key && !(keys[k++] = strdup(key)))
			r = -ENOMEM;
	}
	for (size_t i = 0; r == 0 && keys[i]; i++)
		guest_delete(cur, keys[i]);
	for (size_t i = 0; r == 0 && i < guest_section_size(snap); i++) {
		const char *value, *key = guest_line_key(snap, i, &value);

		if (key && !snapshot_only(key))
			r = guest_set(cur, key, value, err);
	}
	if (r == 0)
		r = guest_description(snap, &desc);
	if (r == 0)
		r = guest_set_description(cur, desc, err);
	if (r == 0)
		r = guest_set(cur, "parent", s->name, err);
	for (size_t i = 0; keys && keys[i]; i++)
		free(keys[i]);
	free(keys);
	free(desc);
	return r == -ENOMEM ? drover_fail(err, r, "out of memory") : r;
}

/* After the rollback of a snapshot with RAM: the VM runs from that state. */
static int resume_state(struct snap_op *s, struct guest_section *snap)
{
	const char *state = guest_get(snap, "vmstate");
	char path[4096];
	int r = storage_volume_path(&s->e->st, state, NULL, path, sizeof(path), s->err);

	if (r == 0)
		r = vm_start_from_state(s->e, s->vmid, path, guest_get(snap, "runningmachine"),
					s->log, s->err);
	if (r < 0)
		drover_fail_append(s->err, r,
				   " (the disks and config are rolled back; the VM stays "
				   "stopped)");
	return r;
}

int vm_rollback(const struct vm_env *e, uint32_t vmid, const char *name,
		const struct drover_reporter *log, struct drover_err *err)
{
	struct snap_op *s = calloc(1, sizeof(*s));
	struct guest_conf *c = NULL;
	int r;

	if (!s)
		return drover_fail(err, -ENOMEM, "out of memory");
	*s = (struct snap_op){ .e = e,
			       .vmid = vmid,
			       .name = name,
			       .op = STORAGE_SNAP_ROLLBACK,
			       .log = log,
			       .err = err };
	r = read_checked(s, &c, true);
	if (r == 0 && vm_running(e, vmid, NULL))
		r = drover_fail(err, -EBUSY, "VM %" PRIu32 " is running: stop it before a rollback",
				vmid);
	if (r == 0)
		r = guest_conf_lock_at(&e->st.cfs, GUEST_QEMU, vmid, "rollback", err);
	if (r < 0)
		goto out;
	r = vm_section_volumes(guest_conf_snapshot(c, name), disk_op, s);
	if (r == 0)
		r = guest_conf_update_at(&e->st.cfs, GUEST_QEMU, vmid, "rollback", restore_conf, s,
					 err);
	if (r < 0 && s->n_done == 0) {
		struct drover_err e2;

		guest_conf_unlock_at(&e->st.cfs, GUEST_QEMU, vmid, "rollback", &e2);
	} else if (r < 0) {
		drover_fail_append(err, r,
				   " (VM %" PRIu32 " stays locked: its disks were partly "
				   "rolled back)",
				   vmid);
	}
	if (r == 0 && guest_get(guest_conf_snapshot(c, name), "vmstate"))
		r = resume_state(s, guest_conf_snapshot(c, name));
out:
	guest_conf_free(c);
	free(s);
	return r;
}

/* The children of name get name's parent; the section goes; lock: goes. */
static int drop_snapshot(struct guest_conf *c, void *arg, struct drover_err *err)
{
	struct snap_op *s = arg;
	struct guest_section *snap = guest_conf_snapshot(c, s->name);
	const char *p = snap ? guest_get(snap, "parent") : NULL;
	char parent[128];
	int r = 0;

	(void)err;
	snprintf(parent, sizeof(parent), "%s", p ? p : "");
	for (size_t i = 0; r == 0 && i <= guest_conf_snapshot_count(c); i++) {
		struct guest_section *x = i < guest_conf_snapshot_count(c)
						  ? guest_conf_snapshot_at(c, i)
						  : guest_conf_current(c);
		const char *xp = guest_get(x, "parent");

		if (!xp || !streq(xp, s->name))
			continue;
		if (parent[0])
			r = guest_set(x, "parent", parent, err);
		else
			guest_delete(x, "parent");
	}
	if (snap)
		guest_conf_section_remove(c, snap);
	guest_delete(guest_conf_current(c), "lock");
	return r;
}

/* The state volume of a snapshot with RAM goes with it (one already gone is fine). */
static int free_state(struct snap_op *s, const char *state)
{
	int r;

	if (!state)
		return 0;
	r = storage_free_volume(&s->e->st, state, s->err);
	if (r == -ENOENT) {
		drover_report_log(s->log, "vmstate: %s is already gone", state);
		return 0;
	}
	if (r < 0)
		return drover_fail_prefix(s->err, r, "vmstate");
	drover_report_log(s->log, "vmstate: freed %s", state);
	return 0;
}

int vm_delsnapshot(const struct vm_env *e, uint32_t vmid, const char *name,
		   const struct drover_reporter *log, struct drover_err *err)
{
	struct snap_op *s = calloc(1, sizeof(*s));
	struct guest_conf *c = NULL;
	int r;

	if (!s)
		return drover_fail(err, -ENOMEM, "out of memory");
	*s = (struct snap_op){ .e = e,
			       .vmid = vmid,
			       .name = name,
			       .op = STORAGE_SNAP_DELETE,
			       .log = log,
			       .err = err };
	r = read_checked(s, &c, true);
	if (r == 0)
		r = guest_conf_lock_at(&e->st.cfs, GUEST_QEMU, vmid, "snapshot-delete", err);
	if (r < 0)
		goto out;
	r = vm_section_volumes(guest_conf_snapshot(c, name), disk_op, s);
	if (r == 0)
		r = free_state(s, guest_get(guest_conf_snapshot(c, name), "vmstate"));
	if (r == 0)
		r = guest_conf_update_at(&e->st.cfs, GUEST_QEMU, vmid, "snapshot-delete",
					 drop_snapshot, s, err);
	else
		drover_fail_append(err, r,
				   " (VM %" PRIu32 " stays locked: 'drover vm unlock' "
				   "once the disks are looked at)",
				   vmid);
out:
	guest_conf_free(c);
	free(s);
	return r;
}

int vm_unlock(const struct vm_env *e, uint32_t vmid, struct drover_err *err)
{
	return guest_conf_unlock_at(&e->st.cfs, GUEST_QEMU, vmid, NULL, err);
}
