/* SPDX-License-Identifier: MIT */
/*
 * Containers as `drover ct` (pct's verbs) and droverd run them: one
 * operation per file (ct_create.c, ct_start.c, ...). A container's config
 * is nodes/<this node>/lxc/CTID.conf in droverfs, changed only through
 * guest_conf_update() (conf_edit.h: under the guest's lock, refusing a
 * config locked by another operation); its root file system is a storage
 * volume (a btrfs subvolume on btrfs, a raw image with ext4 elsewhere);
 * LXC runs it from a config generated at every start (lxc_conf.h) under
 * CT_LXC_PATH/CTID. Nothing here prints: progress goes to the reporter,
 * errors are -errno plus err.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libdrover/error.h"
#include "libdrover/report.h"
#include "libdrover/guest/guest_destroy.h"
#include "libdrover/guest/guest_runtime.h"
#include "libdrover/storage/storage.h"

/* LXC's lxcpath for drover's containers: CTID/config, CTID/console.log, the rootfs mount. */
#define CT_LXC_PATH "/run/drover/lxc"
#define CT_SHUTDOWN_TIMEOUT_DEFAULT 60
#define CT_TEMPLATE_STORAGE_DEFAULT "local"

/* A key and its value as given on the command line (--hostname web1: "hostname", "web1"). */
struct ct_kv {
	const char *key;
	const char *value;
};

/*
 * Make a root file system tarball with Debian's busybox-static (the host's
 * /bin/busybox) and its applets, an init that brings up lo and a shell,
 * and store it as STOREID:vztmpl/NAME (name NULL: "busybox.tar.gz").
 * The volume ID into volid.
 */
int ct_template_busybox(const struct storage_env *env, const char *storeid, const char *name,
			char *volid, size_t len, const struct drover_reporter *rep,
			struct drover_err *err);

/*
 * Create container ctid from template (a vztmpl volume ID) with the keys
 * in kv; "rootfs" is STORE:SIZE_GB, allocated and filled with the
 * template. A NIC without hwaddr gets one. The VMID must be free in the
 * whole cluster; on failure nothing is left behind.
 */
int ct_create(const struct storage_env *env, uint32_t ctid, const char *template,
	      const struct ct_kv *kv, size_t n, const struct drover_reporter *rep,
	      struct drover_err *err);

/*
 * Set the keys of kv and delete the keys of del (comma-separated, or
 * NULL); digest (NULL: any) must be the config's. rootfs and mpN volumes
 * cannot be set here (they are created with the container).
 */
int ct_set(uint32_t ctid, const struct ct_kv *kv, size_t n, const char *del, const char *digest,
	   struct drover_err *err);

/* Start it (its config: this node's). Returns once LXC says RUNNING. */
int ct_start(uint32_t ctid, const struct drover_reporter *rep, struct drover_err *err);

/* Stop it at once (lxc-stop --kill); a stopped container is no error. */
int ct_stop(uint32_t ctid, const struct drover_reporter *rep, struct drover_err *err);

/*
 * Ask its init to power off, wait up to timeout_s; then, with force_stop,
 * kill it (-ETIMEDOUT otherwise). A stopped container is no error.
 */
int ct_shutdown(uint32_t ctid, unsigned timeout_s, bool force_stop,
		const struct drover_reporter *rep, struct drover_err *err);

/*
 * After it stopped by itself (poweroff inside, its init died): release the
 * volumes its start mounted (droverd calls this when it sees the container
 * gone), under the guest's lock. A running container, or one whose
 * config has lock: set (the operation under way uses them), is left alone.
 */
int ct_cleanup(uint32_t ctid, const struct drover_reporter *rep, struct drover_err *err);
/* Does a stopped container still hold volumes its start mounted? */
bool ct_leftovers(uint32_t ctid);

/* Is it running here (LXC's cgroup holds a process)? */
bool ct_running(uint32_t ctid);

/*
 * pct status: what container ctid, which must be this node's (-ENOENT
 * naming the node that has it), is doing, from LXC's cgroup.
 */
int ct_status(uint32_t ctid, struct guest_runtime *rt, struct drover_err *err);

/*
 * The lxc-attach command line that runs cmd (NULL: a login shell) in
 * running container ctid, for the caller to exec: *argv is the caller's
 * to free (its strings point into cmd, id and static text).
 */
int ct_attach_argv(uint32_t ctid, char *const cmd[], char id[16], char ***argv,
		   struct drover_err *err);

/*
 * Remove it: stopped, not protected; its volumes freed, then its config;
 * hook (may be NULL) checks first and follows last, all under the
 * guest's lock.
 */
int ct_destroy(const struct storage_env *env, uint32_t ctid, const struct guest_destroy_hook *hook,
	       const struct drover_reporter *rep, struct drover_err *err);

/* Snapshots of the rootfs and mpN volumes plus a config section, under lock: snapshot. */
int ct_snapshot(const struct storage_env *env, uint32_t ctid, const char *name,
		const char *description, const struct drover_reporter *rep, struct drover_err *err);
/* Back to snapshot name (the container must be stopped). */
int ct_rollback(const struct storage_env *env, uint32_t ctid, const char *name,
		const struct drover_reporter *rep, struct drover_err *err);
int ct_delsnapshot(const struct storage_env *env, uint32_t ctid, const char *name,
		   const struct drover_reporter *rep, struct drover_err *err);

/* Remove lock: whatever it is. */
int ct_unlock(uint32_t ctid, struct drover_err *err);

/* A container of the cluster as `drover ct list` shows it. */
struct ct_entry {
	uint32_t vmid;
	char node[64];
	char hostname[128];
	char status[16]; /* running, stopped, unknown */
	char lock[32];
};

/*
 * The cluster's containers, sorted by VMID (*v is the caller's to free),
 * read through droverfs's socket (NULL: the default).
 */
int ct_list(const struct storage_env *env, const char *socket, struct ct_entry **v, size_t *n,
	    struct drover_err *err);
