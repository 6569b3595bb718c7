/* SPDX-License-Identifier: MIT */
/*
 * The contract between the storage layer and a storage type (dir, btrfs,
 * rbd, zfspool, lvmthin): one function table per type, one file per type,
 * as SQLite's VFS. The layer above (storage.c) parses storage.cfg, checks
 * volume names and ownership, negotiates stream formats and takes locks;
 * a plugin only does what its storage can do, on names already checked.
 *
 * Every function returns 0 or a negative errno and, on failure, fills err
 * with a sentence naming the step ("btrfs subvolume snapshot: exited with 1:
 * ERROR: ..."). Nothing here prints.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libdrover/error.h"
#include "libdrover/report.h"

#define STORAGE_ID_MAX 64 /* a storage ID: [a-z][a-z0-9\-_.]*, at most 63 */
#define STORAGE_VOLNAME_MAX 256 /* the part of a volume ID after "STOREID:" */
#define STORAGE_VOLID_MAX (STORAGE_ID_MAX + STORAGE_VOLNAME_MAX)
#define STORAGE_SNAPNAME_MAX 64 /* pvesm: [a-z0-9_\-]{1,40}; __replicate_ names fit */
#define STORAGE_UUID_MAX 64

/* What a storage may hold (storage.cfg `content`). */
enum storage_content {
	STORAGE_CONTENT_IMAGES = 1u << 0, /* VM disks */
	STORAGE_CONTENT_ROOTDIR = 1u << 1, /* container root file systems */
	STORAGE_CONTENT_ISO = 1u << 2,
	STORAGE_CONTENT_VZTMPL = 1u << 3, /* container templates */
};

/*
 * Stream formats of export/import, in the order negotiation prefers them:
 * the first format both sides support wins (Proxmox's habit).
 */
enum storage_format {
	STORAGE_FORMAT_ZFS, /* zfs send / zfs recv */
	STORAGE_FORMAT_BTRFS, /* btrfs send stream (incremental with a parent) */
	STORAGE_FORMAT_RBD_DIFF, /* Ceph's "rbd diff v1" stream */
	STORAGE_FORMAT_RAW_SIZE, /* u64 little-endian size, then the raw bytes */
	STORAGE_FORMAT_COUNT,
};

/* The format of a volume's data as QEMU sees it. */
enum storage_volformat {
	STORAGE_VOLFORMAT_RAW,
	STORAGE_VOLFORMAT_QCOW2,
	STORAGE_VOLFORMAT_SUBVOL, /* a directory tree (container root on btrfs/zfs) */
};

/* One configured storage as a plugin sees it: storage.cfg's section, parsed. */
struct storage_props {
	char type[16];
	char id[STORAGE_ID_MAX];
	unsigned content; /* enum storage_content bits */
	bool shared; /* the same data on every node (NFS, Ceph) */
	bool disable;
	char **nodes; /* NULL-terminated, NULL: every node */
	char path[4096]; /* dir, btrfs */
	enum storage_volformat default_format; /* dir: `format` */
	char pool[256]; /* rbd, zfspool */
	char monhost[1024]; /* rbd: space- or comma-separated monitor addresses */
	char username[128]; /* rbd: client name without "client." (default admin) */
	char keyring[4096]; /* rbd: priv/ceph/STOREID.keyring under the droverfs mount */
	bool sparse; /* zfspool */
	char blocksize[16]; /* zfspool: volblocksize, e.g. "16k" */
	char vgname[128], thinpool[128]; /* lvmthin */
};

/* An open storage: the properties, the plugin and its private state. */
struct storage {
	const struct storage_plugin *plugin;
	struct storage_props props;
	void *priv; /* owned by the plugin: set by open, released by close */
};

struct storage_status {
	uint64_t total, used, avail; /* bytes */
	bool active; /* reachable and usable now */
};

struct storage_volume {
	char volname[STORAGE_VOLNAME_MAX]; /* "100/vm-100-disk-0.raw", "vm-100-disk-0" */
	unsigned vmid; /* owner, 0 for templates and ISOs */
	enum storage_content content;
	enum storage_volformat format;
	uint64_t size; /* virtual size in bytes */
	uint64_t used; /* bytes allocated, when the storage knows (0 otherwise) */
};

struct storage_snapshot {
	char name[STORAGE_SNAPNAME_MAX];
	int64_t ctime; /* creation, seconds since the epoch */
	/*
	 * Identity, so that two sides never match snapshots by name alone:
	 * id is the snapshot's own (ZFS guid, btrfs subvolume UUID, rbd: the
	 * id drover stores in the image's metadata when it creates one);
	 * origin_id is what it was received from (btrfs received_uuid, ZFS: the
	 * guid travels and equals id; rbd: the sender's id recorded by import).
	 * "" when the storage has none.
	 */
	char id[STORAGE_UUID_MAX];
	char origin_id[STORAGE_UUID_MAX];
};

struct storage_alloc_req {
	unsigned vmid;
	const char *name; /* NULL: the next free vm-VMID-disk-N (or subvol-VMID-disk-N) */
	enum storage_volformat format;
	uint64_t size; /* bytes; 0 for a subvol without quota */
};

struct storage_export_opts {
	const char *snapshot; /* export this snapshot (NULL: the volume now, if the type can) */
	const char *base; /* incremental from this snapshot (NULL: full) */
	bool with_snapshots; /* keep the snapshots in the stream (replication) */
};

struct storage_import_opts {
	const char *snapshot; /* the snapshot the stream brings (named on the target too) */
	const char *base; /* the stream is incremental on top of this snapshot */
	bool with_snapshots;
	bool allow_rename; /* the volume exists: import under a free name instead of failing */
	const char *delete_snapshot; /* after success, delete this snapshot (the old base) */
};

/*
 * A storage type. Names handed to these functions have been checked by the
 * layer above (owner VMID, no "..", no "/" where the type has none); a
 * plugin still never builds a path or command from a name without quoting
 * it as one argument (no shell).
 */
struct storage_plugin {
	const char *type; /* "dir", "btrfs", "rbd", "zfspool", "lvmthin" */
	unsigned content; /* content types it can hold */
	bool snapshots; /* has snapshots (dir: only on qcow2, so false) */

	/* Checks a parsed section beyond the generic ones (required keys). */
	int (*check)(const struct storage_props *p, struct drover_err *err);
	/* Activate: connect (rbd), check the path/pool exists. Sets s->priv. */
	int (*open)(struct storage *s, struct drover_err *err);
	void (*close)(struct storage *s);

	int (*status)(struct storage *s, struct storage_status *st, struct drover_err *err);

	/* Create a volume; its name (chosen or given) into volname. -EEXIST if it exists. */
	int (*alloc)(struct storage *s, const struct storage_alloc_req *req, char *volname,
		     size_t len, struct drover_err *err);
	/* Remove a volume and all its snapshots. -ENOENT if it does not exist. */
	int (*free)(struct storage *s, const char *volname, struct drover_err *err);
	/*
	 * The volumes (of vmid, or all when 0), as an array the caller frees
	 * with free(). -ENOENT never: an empty storage is n = 0.
	 */
	int (*list)(struct storage *s, unsigned vmid, struct storage_volume **vols, size_t *n,
		    struct drover_err *err);
	int (*info)(struct storage *s, const char *volname, struct storage_volume *v,
		    struct drover_err *err);
	/*
	 * What QEMU or LXC opens: a file or directory path, or a URI
	 * ("rbd:pool/image:id=admin:mon_host=..."); of a snapshot when snap != NULL.
	 */
	int (*path)(struct storage *s, const char *volname, const char *snap, char *out, size_t len,
		    struct drover_err *err);
	/* Grow to size bytes (shrinking is refused with -EINVAL). */
	int (*resize)(struct storage *s, const char *volname, uint64_t size,
		      struct drover_err *err);

	int (*snapshot_create)(struct storage *s, const char *volname, const char *snap,
			       struct drover_err *err);
	int (*snapshot_delete)(struct storage *s, const char *volname, const char *snap,
			       struct drover_err *err);
	/* Roll back to snap (newer snapshots: refused with -EBUSY, as pvesm does for zfs). */
	int (*snapshot_rollback)(struct storage *s, const char *volname, const char *snap,
				 struct drover_err *err);
	/* Snapshots, oldest first, as an array the caller frees with free(). */
	int (*snapshot_list)(struct storage *s, const char *volname,
			     struct storage_snapshot **snaps, size_t *n, struct drover_err *err);

	/*
	 * Bit (1u << enum storage_format) per format this volume can be
	 * exported/imported in. import_formats is also asked on the sending node
	 * about the target's storage, which is not open there (s->priv NULL):
	 * answer from the props and the name alone.
	 */
	unsigned (*export_formats)(struct storage *s, const char *volname,
				   const struct storage_export_opts *o);
	unsigned (*import_formats)(struct storage *s, const char *volname,
				   const struct storage_import_opts *o);
	/*
	 * Write the volume as a stream of format fmt to fd (a pipe or socket;
	 * the caller closes it). Fails with the step and its error when a tool
	 * it runs fails; never reports success for a stream it did not finish.
	 */
	int (*export)(struct storage *s, const char *volname, enum storage_format fmt,
		      const struct storage_export_opts *o, int fd,
		      const struct drover_reporter *rep, struct drover_err *err);
	/*
	 * Read a stream of format fmt from fd into volname (or a free name when
	 * o->allow_rename and volname exists; the name used into imported).
	 * Trusts nothing in the stream: sizes, offsets and names are checked
	 * against the volume; on any failure (a short stream included) what was
	 * half-created is removed and the error returned.
	 */
	int (*import)(struct storage *s, const char *volname, enum storage_format fmt,
		      const struct storage_import_opts *o, int fd, char *imported, size_t len,
		      const struct drover_reporter *rep, struct drover_err *err);

	/*
	 * Optional. Remove what imports on this node left half-made when their
	 * process was killed (temporary names whose process is gone), for vmid
	 * (0: every VMID). An import does it for its VMID before it starts;
	 * the sender of a failed copy asks for it too, so nothing waits for
	 * the next import to go.
	 */
	int (*sweep)(struct storage *s, unsigned vmid, struct drover_err *err);

	/*
	 * Optional. Where the data is, as a text two nodes compare: equal texts
	 * are the same data (rbd: "rbd:FSID/POOLID", the cluster's fsid and the
	 * pool's id). Asked of a storage that is not shared, whose every node
	 * is to have its own (rbd shared 0): replication refuses a target whose
	 * storage turns out to be the source's own, where its runs and its
	 * removal would overwrite or free the guest's disks.
	 */
	int (*location)(struct storage *s, char *out, size_t len, struct drover_err *err);
};

extern const struct storage_plugin storage_plugin_dir;
extern const struct storage_plugin storage_plugin_btrfs;
extern const struct storage_plugin storage_plugin_rbd;
extern const struct storage_plugin storage_plugin_zfspool;
extern const struct storage_plugin storage_plugin_lvmthin;
