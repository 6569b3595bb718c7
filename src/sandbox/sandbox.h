/* SPDX-License-Identifier: MIT */
/*
 * drover sandbox: a whole cluster on one machine. Each node is a network
 * namespace (dsb-NAME-nodeK, kept by `ip netns`), a mount namespace and a
 * UTS namespace (kept by bind mounts of their /proc/PID/ns files under the
 * state directory), wired by veth pairs to bridges in a namespace of their
 * own (dsb-NAME-br). Everything a sandbox owns lives under
 * /var/lib/drover-sandbox/NAME, so `down` can find it again even when the
 * sandbox is half broken.
 *
 * A sandbox may also have a QNetd host ("qnetd", up --qnetd): built like a
 * node and on the same bridges, but running only sshd and corosync-qnetd,
 * the external vote a cluster's corosync-qdevice asks for. Internally it is
 * host number SB_QNETD_HOST. And a Ceph host ("ceph", up --ceph), host
 * number SB_CEPH_HOST: one ceph-mon, one ceph-osd and a ceph-mgr, the
 * cluster behind every node's rbd storage (with --ceph-local a second
 * cluster beside it, for the nodes' own /etc/ceph). "host" below means a node or one
 * of these.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libdrover/error.h"
#include "libdrover/report.h"

#define SANDBOX_ROOT "/var/lib/drover-sandbox"
#define SANDBOX_NAME_MAX 15 /* corosync's cluster_name is at most 15 bytes */
#define SANDBOX_NODES_MAX 16
#define SANDBOX_NETS_MAX 2
#define SANDBOX_DEFAULT_NAME "default"
#define SANDBOX_SUBNET "10.99" /* node K on network L: 10.99.L.K/24 */
#define SB_QNETD_HOST 254 /* the QNetd host: 10.99.L.254, named "qnetd" */
#define SB_QNETD_NAME "qnetd"
#define SB_CEPH_HOST 253 /* the Ceph host: 10.99.L.253, named "ceph" */
#define SB_CEPH_NAME "ceph"
/* On network 0 a node's address is on this bridge, eth0 its port (VMs' taps join it). */
#define SB_VM_BRIDGE "vmbr0"

/* The Ceph host's OSD store (up --ceph[=STORE]). */
enum sb_ceph {
	SB_CEPH_NONE, /* no Ceph host */
	SB_CEPH_MEMSTORE, /* objects in the OSD's memory: quickest to start */
	SB_CEPH_BLUESTORE, /* objects in a sparse file, as a real OSD keeps them */
};

/* In start order; stopped in reverse. */
enum sb_daemon {
	SB_COROSYNC,
	SB_DROVERFS,
	SB_SSHD,
	SB_QDEVICE, /* nodes, once `drover cluster qdevice setup` configured it */
	SB_DROVERD, /* nodes of a cluster: the node agent (kept running by the keeper) */
	SB_QNETD, /* the QNetd host only */
	SB_CEPH_MON, /* the Ceph host only */
	SB_CEPH_OSD,
	SB_CEPH_MGR,
	SB_CEPH2_MON, /* the Ceph host's second cluster "ceph2" (up --ceph-local) */
	SB_CEPH2_OSD,
	SB_CEPH2_MGR,
	SB_DAEMONS,
};

struct sandbox {
	char name[SANDBOX_NAME_MAX + 1];
	char dir[PATH_MAX]; /* SANDBOX_ROOT/NAME */
	unsigned nodes;
	unsigned networks;
	bool qnetd; /* has the QNetd host */
	enum sb_ceph ceph; /* has the Ceph host, its OSD on this store */
	/*
	 * up --ceph-local: the Ceph host also runs a second cluster "ceph2",
	 * and each node has its own /etc/ceph/ceph.conf naming one of the two
	 * (odd nodes "ceph", even nodes "ceph2"), behind the rbd storage
	 * "ceph-local" (no monhost, shared 0).
	 */
	bool ceph_local;
	/*
	 * corosync with its realtime priority, as on real hosts. Off by default:
	 * the nodes share this machine's CPUs, and a realtime corosync spinning
	 * its token under load starves the other nodes' daemons.
	 */
	bool realtime;
	uint64_t disk_size; /* bytes of each node's btrfs loop file */
};

/* A network fault in force on one link of a node (all zero: none). */
struct sb_netem {
	unsigned delay_ms;
	unsigned jitter_ms;
	double loss_pct;
};

/* state.c: names, paths and the state file */
bool sb_name_valid(const char *name);
int sb_init(struct sandbox *sb, const char *name); /* -EINVAL for a bad name */
int sb_exists(const struct sandbox *sb);
int sb_load(struct sandbox *sb); /* -ENOENT: no such sandbox */
int sb_save(const struct sandbox *sb);
int sb_path(const struct sandbox *sb, char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int sb_node_path(const struct sandbox *sb, unsigned node, char *out, size_t len, const char *rel);
void sb_node_name(unsigned node, char *out, size_t len);
int sb_parse_node(const struct sandbox *sb, const char *s, unsigned *node);
bool sb_host_valid(const struct sandbox *sb, unsigned host); /* a node, the QNetd or Ceph host */
/* Every host: for (unsigned k = 1; k; k = sb_next_host(sb, k)) */
unsigned sb_next_host(const struct sandbox *sb, unsigned host);
void sb_netns_name(const struct sandbox *sb, unsigned node, char *out, size_t len); /* 0: bridge */
void sb_address(unsigned node, unsigned net, char *out, size_t len);
int sb_list(char names[][SANDBOX_NAME_MAX + 1], int max);
int sb_lock(const struct sandbox *sb); /* an flock'ed fd, or -errno */
void sb_lock_remove(const struct sandbox *sb, int lock); /* after down */
int sb_rm_rf(const char *path);

/* tools.c: where our own binaries are */
int sb_droverfs_path(char *out, size_t len);
int sb_droverd_path(char *out, size_t len); /* $DROVER_DROVERD, the build tree's, ... */
void sb_node_env_path(char *out, size_t len);

/* netns.c: network namespaces, bridges, links */
int sb_net_create(const struct sandbox *sb, struct drover_err *err);
void sb_net_destroy(const struct sandbox *sb);
int sb_link_set(const struct sandbox *sb, unsigned node, unsigned net, bool up,
		struct drover_err *err);
int sb_link_up(const struct sandbox *sb, unsigned node, unsigned net); /* 1, 0 or -errno */
int sb_run_in_netns(const struct sandbox *sb, unsigned node, char *const argv[], char *out,
		    size_t len);

/* nodens.c: the mount and UTS namespaces of a node, entering a node */
int sb_nodens_prepare(const struct sandbox *sb);
int sb_node_dirs_create(const struct sandbox *sb, unsigned node);
int sb_nodens_create(const struct sandbox *sb, unsigned node, struct drover_err *err);
int sb_nodens_destroy(const struct sandbox *sb, struct drover_err *err);
int sb_node_enter(const struct sandbox *sb, unsigned node);
char **sb_node_environ(const struct sandbox *sb, unsigned node, bool inherit);
void sb_environ_free(char **env);
int sb_run_in_node(const struct sandbox *sb, unsigned node, char *const argv[], char *out,
		   size_t len);
/* `drover ARGS` run in node; on failure err holds the command's output. */
int sb_run_drover(const struct sandbox *sb, unsigned node, char *const args[],
		  struct drover_err *err);

/* files.c: configuration and keys written by up */
int sb_files_create(const struct sandbox *sb, struct drover_err *err);

/* spawn.c and keeper.c: starting processes inside a node */
pid_t sb_spawn(const struct sandbox *sb, unsigned node, char *const argv[], const char *log_path);
int sb_keeper_start(const struct sandbox *sb);
int sb_keeper_main(const char *name);
pid_t sb_keeper_spawn(const struct sandbox *sb, unsigned node, char *const argv[],
		      const char *log_path);
/*
 * The same for a daemon the keeper keeps running: when it dies while its
 * pid file (pids/TAG.pid) still names it (nobody stopped it), the keeper
 * starts it again after a second and writes the new pid there.
 */
pid_t sb_keeper_spawn_kept(const struct sandbox *sb, unsigned node, const char *tag,
			   char *const argv[], const char *log_path);
pid_t sb_keeper_pid(const struct sandbox *sb);

/* daemon.c: corosync, droverfs, sshd and corosync-qdevice of a node, corosync-qnetd */
const char *sb_daemon_name(enum sb_daemon d);
int sb_daemon_parse(const char *s, enum sb_daemon *d);
unsigned sb_host_daemons(unsigned host); /* bit d: the host runs daemon d */
/* What `start` with no daemon named starts: corosync and corosync-qdevice only once configured. */
bool sb_daemon_configured(const struct sandbox *sb, unsigned host, enum sb_daemon d);
int sb_daemon_start(const struct sandbox *sb, unsigned node, enum sb_daemon d, char *const extra[]);
int sb_daemon_stop(const struct sandbox *sb, unsigned node, enum sb_daemon d, bool kill9);
/*
 * The daemons of mask (bit d: daemon d) on host: stopped in reverse start
 * order (one not running is no error), started in order (configured_only:
 * only what the host has configured; one already running is an error only
 * when restart). Each failure is reported as an error on rep and the others
 * are still tried; returns 0 or the last failure (-errno).
 */
int sb_daemons_stop(const struct sandbox *sb, unsigned host, unsigned mask, bool kill9,
		    const struct drover_reporter *rep);
int sb_daemons_start(const struct sandbox *sb, unsigned host, unsigned mask, bool configured_only,
		     bool restart, char *const extra[], const struct drover_reporter *rep);
pid_t sb_start_process(const struct sandbox *sb, unsigned node, const char *tag,
		       char *const argv[]);
int sb_stop_process(const struct sandbox *sb, unsigned node, const char *tag, bool kill9);
pid_t sb_daemon_pid(const struct sandbox *sb, unsigned node, const char *tag);
bool sb_pid_in_node(const struct sandbox *sb, unsigned node, pid_t pid);
int sb_node_quorate(const struct sandbox *sb, unsigned node); /* 1, 0 or -errno */
bool sb_droverfs_ready(const struct sandbox *sb, unsigned node);
void sb_kill_all(const struct sandbox *sb);

/* netem.c: delay and loss with iptables and an NFQUEUE helper */
int sb_netem_get(const struct sandbox *sb, unsigned node, unsigned net, struct sb_netem *n);
int sb_netem_set(const struct sandbox *sb, unsigned node, unsigned net, const struct sb_netem *n,
		 struct drover_err *err);
int sb_netem_helper_main(unsigned queue, unsigned delay_ms, unsigned jitter_ms);

/* ceph.c: the Ceph host */
const char *sb_ceph_store_name(enum sb_ceph store);
int sb_ceph_store_parse(const char *s, enum sb_ceph *store);
/*
 * Make the Ceph cluster (mon, OSD, mgr, pool "rbd") and start it, and with
 * ceph_local the second one, "ceph2"; up calls this.
 */
int sb_ceph_init(const struct sandbox *sb, struct drover_err *err);
/*
 * The rbd storage "ceph" in every node's view: its keyring in droverfs at
 * priv/ceph/ceph.keyring and its section in storage.cfg, written on node1
 * of a cluster (droverfs gives it to all) or on every bare node.
 */
int sb_ceph_storage(const struct sandbox *sb, bool bare, struct drover_err *err);
/* The Ceph cluster node k reaches with --ceph-local: "ceph" (odd k) or "ceph2" (even k). */
const char *sb_ceph_local_cluster(unsigned node);
/*
 * --ceph-local: each node's /etc/ceph/ceph.conf and client.admin keyring
 * (its cluster's), then the rbd storage "ceph-local" (pool rbd, no
 * monhost, shared 0) in storage.cfg, as sb_ceph_storage adds "ceph".
 */
int sb_ceph_local_storage(const struct sandbox *sb, bool bare, struct drover_err *err);
/* storage.c: each node's btrfs on a loop file, the shared directory, their storage.cfg entries */
#define SB_DISK_SIZE_DEFAULT (4ull << 30)
#define SB_DISK_SIZE_MIN (128ull << 20) /* mkfs.btrfs wants at least about 110 MiB */
#define SB_BTRFS_PATH "/var/lib/drover/local-btrfs"
#define SB_BTRFS_STORAGE "local-btrfs"
#define SB_SHARED_PATH "/var/lib/drover/shared"
#define SB_SHARED_STORAGE "shared"
/* after the node namespaces exist */
int sb_storage_create(const struct sandbox *sb, struct drover_err *err);
/* once droverfs runs */
int sb_storage_configure(const struct sandbox *sb, bool bare, struct drover_err *err);
void sb_storage_destroy(const struct sandbox *sb); /* detach this sandbox's loop devices */

/* lifecycle.c: up and down */
/*
 * The sandbox library never prints: a failure comes back as -errno with err
 * saying what failed (the command's own output included); the front end
 * prints it.
 */
/* bare nodes: droverfs (local mode), sshd; a failed up takes down what it made */
int sb_up(struct sandbox *sb, unsigned timeout_s, struct drover_err *err);
/* cluster create on node1, cluster add on the others; takes the sandbox down on failure */
int sb_form_cluster(struct sandbox *sb, unsigned timeout_s, struct drover_err *err);
int sb_down(struct sandbox *sb, struct drover_err *err);
/*
 * `drover sandbox up`: under the sandbox's lock the nodes (sb_up), then,
 * unlocked, the cluster (or with bare the storages alone), Ceph's storage
 * and with ceph_local the node-local rbd storages.
 */
int sb_create(struct sandbox *sb, bool bare, unsigned timeout_s, struct drover_err *err);
/* `drover sandbox down NAME`: sb_down under the sandbox's lock, which goes with it. */
int sb_destroy(const char *name, struct drover_err *err);
