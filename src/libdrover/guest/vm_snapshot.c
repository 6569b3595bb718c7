/* SPDX-License-Identifier: MIT */
/*
 * Snapshots of a VM: every disk's storage snapshot plus a [NAME] section
 * of the config, taken, rolled back to and deleted under lock: snapshot,
 * rollback and snapshot-delete (guest_conf_lock), so nothing else touches
 * the guest meanwhile. A snapshot that fails on one disk deletes the
 * disk snapshots it made and unlocks; a rollback that fails after a disk
 * was rolled back keeps its lock, since the disks no longer match the
 * config (drover vm unlock, once the admin has looked).
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
	int r;

	guest_delete(guest_conf_current(c), "lock");
	r = guest_conf_snapshot_take(c, s->name, now_wall_s(), s->description, err);
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

int vm_snapshot(const struct vm_env *e, uint32_t vmid, const char *name, const char *description,
		bool vmstate, const struct drover_reporter *log, struct drover_err *err)
{
	struct snap_op *s;
	struct guest_conf *c = NULL;
	bool freeze;
	int r;

	if (vmstate)
		return drover_fail(err, -ENOTSUP,
				   "--vmstate (saving the VM's RAM with the snapshot) is not "
				   "supported yet: take the snapshot without it");
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
	freeze = vm_running(e, vmid, NULL) && guest_get(guest_conf_current(c), "agent") != NULL;
	if (freeze)
		agent_try(s, "fsfreeze-freeze");
	r = vm_section_volumes(guest_conf_current(c), disk_op, s);
	if (freeze)
		agent_try(s, "fsfreeze-thaw");
	if (r == 0)
		r = guest_conf_update_at(&e->st.cfs, GUEST_QEMU, vmid, "snapshot", commit_snapshot,
					 s, err);
	if (r < 0) {
		struct drover_err e2;

		/* undo: the disk snapshots made, then the lock */
		s->op = STORAGE_SNAP_DELETE;
		for (size_t i = 0; i < s->n_done; i++)
			storage_snapshot_op(&e->st, s->done[i], STORAGE_SNAP_DELETE, name, &e2);
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
	       streq(key, "snapstate") || streq(key, "description") || streq(key, "lock");
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
