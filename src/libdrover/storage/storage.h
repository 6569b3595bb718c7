/* SPDX-License-Identifier: MIT */
/*
 * The storage layer every front end calls (drover storage, later droverd,
 * replication, migration, the API): above the plugins (plugin.h), it reads
 * storage.cfg from droverfs, checks volume IDs and their owners, picks the
 * plugin, negotiates stream formats and edits storage.cfg under the
 * cluster-wide lock. Nothing here prints; errors are -errno plus err.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "libdrover/cluster/cfs.h"
#include "plugin.h"
#include "volname.h"

/* Where operations run: droverfs (its mount, this node's name) and storage.cfg. */
struct storage_env {
	struct cfs_brief cfs;
	struct storage_cfg cfg;
};

/*
 * Reach droverfs (socket NULL: the default) and read storage.cfg (a
 * cluster without one has the built-in `local`). A malformed storage.cfg
 * fails here, naming storage.cfg:LINE.
 */
int storage_env_open(struct storage_env *env, const char *socket, struct drover_err *err);
void storage_env_close(struct storage_env *env);

/* storage.cfg from the tree into cfg (the built-in one when there is none). */
int storage_cfg_load(const struct cfs_brief *b, struct storage_cfg *cfg, struct drover_err *err);

/*
 * Change storage.cfg under the cluster lock priv/lock/file-storage_cfg:
 * read it again, refuse if digest (when not NULL) is no longer its digest,
 * let edit() change it, write it back. On failure nothing is written.
 */
int storage_cfg_edit(const struct cfs_brief *b, const char *digest,
		     int (*edit)(struct storage_cfg *cfg, void *ctx, struct drover_err *err),
		     void *ctx, struct drover_err *err);

/*
 * `drover storage add`: storage id of type with storage_cfg_add's keys
 * (set: "key=value"), under the cluster lock (refusing a stale digest when
 * not NULL). An rbd storage's keyring (its text, or NULL when the file is
 * put there otherwise) goes to priv/ceph/ID.keyring, and is removed again
 * when storage.cfg could not be written.
 */
int storage_add(const struct cfs_brief *b, const char *digest, const char *type, const char *id,
		char *const set[], size_t nset, const char *keyring, struct drover_err *err);

/*
 * `drover storage set`: storage id's keys set ("key=value") and deleted
 * (del: key names), under the cluster lock (refusing a stale digest when
 * not NULL).
 */
int storage_set(const struct cfs_brief *b, const char *digest, const char *id, char *const set[],
		size_t nset, char *const del[], size_t ndel, struct drover_err *err);

/* `drover storage remove`: storage id out of storage.cfg, under the cluster lock. */
int storage_remove(const struct cfs_brief *b, const char *digest, const char *id,
		   struct drover_err *err);

/* Write storage.cfg with the built-in `local` if the tree has none (cluster create). */
int storage_cfg_ensure(const struct cfs_brief *b, struct drover_err *err);

/* The plugin of a type, or NULL (a type this build has no plugin for). */
const struct storage_plugin *storage_plugin_find(const char *type);

/*
 * Open storage storeid of env for use on this node: it must exist, be
 * enabled and be available here (`nodes`). Close with storage_close().
 */
int storage_open(const struct storage_env *env, const char *storeid, struct storage *s,
		 struct drover_err *err);
void storage_close(struct storage *s);

/* A volume ID resolved: its storage opened, its name checked. */
struct storage_vol {
	struct storage st;
	char storeid[STORAGE_ID_MAX];
	char volname[STORAGE_VOLNAME_MAX];
	struct storage_volname name;
};

int storage_vol_open(const struct storage_env *env, const char *volid, struct storage_vol *v,
		     struct drover_err *err);
void storage_vol_close(struct storage_vol *v);

/* Stream formats: names as on the command line ("btrfs", "raw+size", ...). */
const char *storage_format_name(enum storage_format f);
int storage_format_parse(const char *s, enum storage_format *f);
/* "btrfs, raw+size" for a mask. */
void storage_formats_text(unsigned mask, char *out, size_t len);

/*
 * The format two sides agree on: the first (in enum order, Proxmox's
 * preference) both masks have. -ENOTSUP when they share none.
 */
int storage_format_pick(unsigned export_mask, unsigned import_mask, enum storage_format *f);

/* The operations, by volume ID. */
int storage_alloc(const struct storage_env *env, const char *storeid, unsigned vmid,
		  const char *name, enum storage_volformat fmt, bool fmt_given, uint64_t size,
		  char *volid, size_t len, struct drover_err *err);
int storage_free_volume(const struct storage_env *env, const char *volid, struct drover_err *err);
int storage_volume_path(const struct storage_env *env, const char *volid, const char *snap,
			char *out, size_t len, struct drover_err *err);
int storage_resize(const struct storage_env *env, const char *volid, uint64_t size,
		   struct drover_err *err);
/* storage_resize() to the volume's size plus by (`resize VOLID +SIZE`). */
int storage_grow(const struct storage_env *env, const char *volid, uint64_t by,
		 struct drover_err *err);
int storage_volume_info(const struct storage_env *env, const char *volid,
			struct storage_volume *info, struct drover_err *err);

enum storage_snap_op { STORAGE_SNAP_CREATE, STORAGE_SNAP_DELETE, STORAGE_SNAP_ROLLBACK };
int storage_snapshot_op(const struct storage_env *env, const char *volid, enum storage_snap_op op,
			const char *snap, struct drover_err *err);
int storage_snapshot_list(const struct storage_env *env, const char *volid,
			  struct storage_snapshot **snaps, size_t *n, struct drover_err *err);

/* The volumes of a storage (of vmid when not 0, of content when not 0). */
int storage_list(const struct storage_env *env, const char *storeid, unsigned vmid,
		 unsigned content, struct storage_volume **vols, size_t *n, struct drover_err *err);

/*
 * Export volid in fmt to fd (the stream only; the caller closes fd).
 * Checks the snapshot names and that the format is one the volume offers.
 */
int storage_export(const struct storage_env *env, const char *volid, enum storage_format fmt,
		   const struct storage_export_opts *o, int fd, const struct drover_reporter *rep,
		   struct drover_err *err);

/*
 * Import a stream of fmt from fd as volid (another free name under
 * o->allow_rename when volid exists); the volume ID made into imported.
 */
int storage_import(const struct storage_env *env, const char *volid, enum storage_format fmt,
		   const struct storage_import_opts *o, int fd, char *imported, size_t len,
		   const struct drover_reporter *rep, struct drover_err *err);

/* storeid's location (plugin.h); "" when its type has none. */
int storage_location(const struct storage_env *env, const char *storeid, char *out, size_t len,
		     struct drover_err *err);

/* What killed imports left on storeid, for vmid (0: all): see plugin.h's sweep. */
int storage_sweep(const struct storage_env *env, const char *storeid, unsigned vmid,
		  struct drover_err *err);

/* The formats volid can be exported in / imported in, as a mask. */
int storage_export_mask(const struct storage_env *env, const char *volid,
			const struct storage_export_opts *o, unsigned *mask,
			struct drover_err *err);
/*
 * What storage storeid would accept for volname (the target side of a
 * copy, asked on the source: storage.cfg is the same on every node, and a
 * plugin answers this without opening the storage).
 */
int storage_import_mask(const struct storage_env *env, const char *storeid, const char *volname,
			const struct storage_import_opts *o, unsigned *mask,
			struct drover_err *err);

/* A storage as `storage status` (and later the API) shows it on this node. */
struct storage_state {
	const struct storage_props *p;
	const char *status; /* "active", "inactive", "disabled", "not on this node" */
	struct storage_status st; /* all zero unless the plugin answered */
	char error[DROVER_ERR_MAX]; /* why it is inactive, if it says */
};

/* Look at storage p on this node (opened and asked for its status when it is there). */
void storage_probe(const struct storage_env *env, const struct storage_props *p,
		   struct storage_state *s);
