/* SPDX-License-Identifier: MIT */
#include "recover.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/timefmt.h"
#include "basic/util.h"
#include "jobstatus.h"
#include "libdrover/format/guest_drive.h"
#include "libdrover/guest/conf_edit.h"
#include "libdrover/guest/ops.h"
#include "libdrover/storage/storage.h"
#include "libdrover/storage/volname.h"
#include "libdrover/stream/receive_lock.h"

/* Everything one recovery works with. */
struct recover {
	struct storage_env env;
	struct repl_guest g;
	enum guest_type type;
	uint32_t vmid;
	const struct drover_reporter *rep;
	struct repl_recover_result *res;
	struct drover_err *err;
	char snaps[REPL_VOLUMES_MAX][STORAGE_SNAPNAME_MAX]; /* each volume's newest */
};

static int check_quorum(const struct cfs_brief *b, struct drover_err *err)
{
	if (!b->cluster_mode)
		return drover_fail(err, -EINVAL,
				   "this node is not in a cluster: there is no failed node to "
				   "recover a guest from");
	if (!b->quorate)
		return drover_fail(
			err, -EACCES,
			"no quorum: a guest's config moves only on a quorate node. Bring the "
			"other nodes back if you can; if they are gone for now, 'drover cluster "
			"expected 1' on this node gives it quorum alone (pvecm expected 1 in "
			"pvesr's manual): then recover, start the guests, and change nothing "
			"else in the cluster until the nodes are back");
	if (!b->writable)
		return drover_fail(err, -EAGAIN,
				   "droverfs is not in sync with the cluster yet (%s): try again",
				   b->sync);
	return 0;
}

static int find_guest(struct recover *rc)
{
	struct cfs_brief *b = &rc->env.cfs;
	int r = repl_guest_load(b, rc->vmid, &rc->g, rc->err);
	const char *lock;

	if (r < 0)
		return r;
	if (rc->g.type != rc->type)
		return drover_fail(rc->err, -ENOENT, "%" PRIu32 " is a %s, not a %s", rc->vmid,
				   guest_kind(rc->g.type), guest_kind(rc->type));
	if (streq(rc->g.node, b->node))
		return drover_fail(rc->err, -EALREADY,
				   "%s %" PRIu32 " is on this node (%s) already",
				   guest_kind(rc->type), rc->vmid, b->node);
	lock = guest_get(guest_conf_current(rc->g.conf), "lock");
	if (lock)
		return drover_fail(rc->err, -EBUSY,
				   "%s %" PRIu32 " is locked (%s): an operation was running when "
				   "%s failed (with 'migrate' the guest may run on its target "
				   "already); check, then 'drover %s unlock %" PRIu32
				   "' and recover",
				   guest_kind(rc->type), rc->vmid, lock, rc->g.node,
				   rc->type == GUEST_LXC ? "ct" : "vm", rc->vmid);
	snprintf(rc->res->old_node, sizeof(rc->res->old_node), "%s", rc->g.node);
	return 0;
}

/* A guest whose node still runs is migrated, not recovered: both would run it. */
static int check_old_node_gone(struct recover *rc, const char *socket)
{
	struct repl_members m = { 0 };
	int r = repl_members_get(socket, &m);
	bool online;

	if (r < 0)
		return drover_fail(rc->err, r, "cannot ask droverfs for the members: %s",
				   strerror(-r));
	online = repl_member_online(&m, rc->g.node);
	free((void *)m.nodes);
	if (online)
		return drover_fail(rc->err, -EBUSY,
				   "node %s is online: it may be running %s %" PRIu32
				   "; migrate it instead (recover is for a guest whose node has "
				   "failed)",
				   rc->g.node, guest_kind(rc->type), rc->vmid);
	return 0;
}

/* A volume on local storage that is not replicated has no copy here: say which. */
static int check_one_unreplicated(void *ctx, const struct repl_volume_line *v,
				  struct drover_err *err)
{
	struct recover *rc = ctx;
	const char *key = v->key, *volume = v->volume;
	enum guest_volume_kind kind = v->kind;
	char store[STORAGE_ID_MAX], volname[STORAGE_VOLNAME_MAX];
	const struct storage_props *p;

	if (v->replicate || v->shared_mount || kind == GUEST_VOLUME_NONE ||
	    kind == GUEST_VOLUME_CDROM)
		return 0;
	if (kind == GUEST_VOLUME_STORAGE &&
	    storage_volid_split(volume, store, sizeof(store), volname, sizeof(volname), NULL) ==
		    0 &&
	    (p = storage_cfg_find(&rc->env.cfg, store)) && p->shared) {
		/* two QEMUs on one shared disk destroy it; a cut-off node may still run */
		drover_report_log(rc->rep,
				  "WARNING: %s: %s is on shared storage %s: make sure node %s is "
				  "powered off before the guest starts here (drover does not "
				  "fence nodes)",
				  key, volume, store, rc->g.node);
		return 0;
	}
	return drover_fail(err, -ENODATA,
			   "%s: %s is not replicated (replicate=0) and not on shared storage: "
			   "it has no copy on this node (%s)",
			   key, volume, rc->env.cfs.node);
}

static int check_unreplicated(struct recover *rc)
{
	int r = repl_section_each_volume(rc->type, guest_conf_current(rc->g.conf),
					 check_one_unreplicated, rc, rc->err);

	return r < 0 && r != -ENODATA ? drover_fail_prefix(rc->err, r, "%s", rc->g.conf_rel) : r;
}

/* Each replicated volume's replica here and its snapshots (freed by the caller). */
static int list_replicas(struct recover *rc, struct repl_recover_volume *vols)
{
	for (size_t i = 0; i < rc->g.n_vols; i++) {
		struct storage_snapshot *snaps = NULL;
		struct drover_err e = { "" };
		size_t n = 0;
		int r = storage_snapshot_list(&rc->env, rc->g.volids[i], &snaps, &n, &e);

		if (r < 0)
			return drover_fail(rc->err, -ENODATA,
					   "%s has no replica on this node (%s): %s",
					   rc->g.volids[i], rc->env.cfs.node, e.text);
		vols[i] = (struct repl_recover_volume){ snaps, n };
		if (!repl_recover_pick(snaps, n, rc->vmid, NULL))
			return drover_fail(rc->err, -ENODATA,
					   "%s on this node (%s) has no replication snapshot of "
					   "guest %" PRIu32
					   ": it is not a replica that arrived whole",
					   rc->g.volids[i], rc->env.cfs.node, rc->vmid);
	}
	return 0;
}

/* The newest replication snapshot all replicas share: the disks from one moment. */
static int find_replicas(struct recover *rc)
{
	struct repl_recover_volume vols[REPL_VOLUMES_MAX] = { { 0 } };
	const char *name;
	char when[32];
	int64_t epoch;
	int r = list_replicas(rc, vols);

	if (r == 0 && !(name = repl_recover_pick_common(vols, rc->g.n_vols, rc->vmid, &epoch)))
		r = drover_fail(rc->err, -ENODATA,
				"the replicas of guest %" PRIu32 " on this node (%s) share no "
				"replication snapshot: their last runs broke at different volumes",
				rc->vmid, rc->env.cfs.node);
	if (r == 0) {
		timefmt_local(epoch, when, sizeof(when));
		for (size_t i = 0; i < rc->g.n_vols; i++) {
			const struct storage_snapshot *newest =
				repl_recover_pick(vols[i].snaps, vols[i].n, rc->vmid, NULL);

			snprintf(rc->snaps[i], sizeof(rc->snaps[i]), "%s", name);
			drover_report_log(rc->rep, "%s: replica of %s (%s)", rc->g.volids[i], when,
					  name);
			if (newest && strcmp(newest->name, name) != 0)
				drover_report_log(rc->rep,
						  "%s: newer %s is not on every volume (a run "
						  "that broke): not used",
						  rc->g.volids[i], newest->name);
		}
		rc->res->last_sync = epoch;
		snprintf(rc->res->snap, sizeof(rc->res->snap), "%s", name);
		rc->res->n_vols = rc->g.n_vols;
	}
	for (size_t i = 0; i < rc->g.n_vols; i++)
		free((void *)vols[i].snaps);
	return r;
}

/*
 * Back to the snapshot, which arrived whole: a replica is not written to
 * while its guest runs elsewhere, but a broken receive or a hand may have
 * touched it, and a rollback of an unchanged volume costs nothing (COW).
 */
static int rollback_all(struct recover *rc)
{
	for (size_t i = 0; i < rc->g.n_vols; i++) {
		int r = storage_snapshot_op(&rc->env, rc->g.volids[i], STORAGE_SNAP_ROLLBACK,
					    rc->snaps[i], rc->err);

		if (r < 0)
			return drover_fail_prefix(rc->err, r, "rolling %s back to %s",
						  rc->g.volids[i], rc->snaps[i]);
		drover_report_log(rc->rep, "%s: rolled back to %s", rc->g.volids[i], rc->snaps[i]);
	}
	return 0;
}

/* The rename in droverfs: the config is on one node or the other, never on both or none. */
static int move_conf(struct recover *rc)
{
	struct cfs_brief *b = &rc->env.cfs;
	char from[PATH_MAX], to[PATH_MAX];

	snprintf(rc->res->conf_from, sizeof(rc->res->conf_from), "%s", rc->g.conf_rel);
	if (guest_conf_relpath(b->node, rc->type, rc->vmid, rc->res->conf_to,
			       sizeof(rc->res->conf_to)) < 0 ||
	    cfs_path(b, rc->res->conf_from, from, sizeof(from)) < 0 ||
	    cfs_path(b, rc->res->conf_to, to, sizeof(to)) < 0)
		return drover_fail(rc->err, -ENAMETOOLONG, "path too long");
	if (access(to, F_OK) == 0)
		return drover_fail(rc->err, -EEXIST, "%s exists", rc->res->conf_to);
	if (rename(from, to) < 0)
		return drover_fail(rc->err, -errno, "moving %s to %s: %s%s", rc->res->conf_from,
				   rc->res->conf_to, strerror(errno),
				   errno == EACCES ? " (no quorum?)" : "");
	rc->res->now = now_wall_s();
	drover_report_log(rc->rep, "moved %s to %s", rc->res->conf_from, rc->res->conf_to);
	return 0;
}

/*
 * Under the guest's lock: looked at again, rolled back, moved. The
 * replicas' receive locks keep out an import still running from the old
 * source (a run that began before it failed), and any that would start
 * meanwhile, until the config has moved.
 */
static int recover_locked(struct recover *rc, const char *socket)
{
	const char *volids[REPL_VOLUMES_MAX];
	int locks[REPL_VOLUMES_MAX];
	int r = find_guest(rc);

	if (r == 0)
		r = check_old_node_gone(rc, socket);
	if (r == 0)
		r = check_unreplicated(rc);
	if (r == 0)
		r = repl_guest_volumes(&rc->g, &rc->env.cfg, rc->err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < rc->g.n_vols; i++)
		volids[i] = rc->g.volids[i];
	r = receive_lock_all(NULL, volids, rc->g.n_vols, locks, rc->err);
	if (r == -EBUSY)
		return drover_fail_append(rc->err, r,
					  ": wait for it to end (or stop it), then recover again");
	if (r < 0)
		return r;
	r = find_replicas(rc);
	if (r == 0)
		r = rollback_all(rc);
	if (r == 0)
		r = move_conf(rc);
	receive_lock_release_all(locks, rc->g.n_vols);
	return r;
}

int repl_recover_guest(const char *socket, enum guest_type type, uint32_t vmid,
		       const struct drover_reporter *rep, struct repl_recover_result *res,
		       struct drover_err *err)
{
	struct recover rc = { .type = type, .vmid = vmid, .rep = rep, .res = res, .err = err };
	int r;

	memset(res, 0, sizeof(*res));
	r = storage_env_open(&rc.env, socket, err);
	if (r < 0)
		return r;
	r = check_quorum(&rc.env.cfs, err);
	if (r < 0)
		goto out;
	r = guest_cluster_lock_at(&rc.env.cfs, vmid, err);
	if (r < 0)
		goto out;
	r = recover_locked(&rc, socket);
	guest_cluster_unlock_at(&rc.env.cfs, vmid);
out:
	repl_guest_free(&rc.g);
	storage_env_close(&rc.env);
	return r;
}
