/* SPDX-License-Identifier: MIT */
/*
 * The VM operations (Proxmox's qm verbs) behind `drover vm` and droverd:
 * each reads or changes the VM's config through conf_edit.h (so a guest
 * with `lock:` set is refused, and every change is read-modify-write
 * under priv/lock/guest-VMID), reaches disks through the storage layer,
 * and QEMU through its command line generator (qemu/cmdline.h), QMP
 * (qemu/qmp.h) and the guest agent (qemu/agent.h). One job per file:
 * vm_env.c (the environment, the volume resolver, QMP/agent sessions),
 * vm_create.c (create, set, disk allocation), vm_start.c, vm_stop.c
 * (stop, shutdown, reboot, suspend, resume), vm_status.c (status, list),
 * vm_destroy.c, vm_snapshot.c (snapshot, rollback, delsnapshot),
 * vm_resize.c. Nothing here prints; progress goes to a reporter.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "libdrover/error.h"
#include "libdrover/format/guest_conf.h"
#include "libdrover/report.h"
#include "libdrover/storage/storage.h"
#include "guest_destroy.h"
#include "qemu/agent.h"
#include "qemu/qmp.h"

/* Proxmox's defaults: qm shutdown waits this long, qm stop gives QEMU this long to quit. */
#define VM_SHUTDOWN_TIMEOUT_S 180
#define VM_STOP_TIMEOUT_S 5
/* How long a start waits for QEMU to set up and QMP to say "running". */
#define VM_START_TIMEOUT_MS 60000
#define VM_QMP_TIMEOUT_MS 10000
/* saving a snapshot's RAM state: at most this long */
#define VM_STATE_SAVE_TIMEOUT_MS 600000
/* room for the devices' state in a state volume, past twice the RAM */
#define VM_STATE_EXTRA_MIB 500
/* memory: when the config has none (as the command line's -m) */
#define VM_DEFAULT_MEMORY_MIB 512ull

/* Where operations run: droverfs and storage.cfg (st), and QEMU's run directory. */
struct vm_env {
	struct storage_env st;
	char run_dir[PATH_MAX];
	const char *socket; /* droverfs's IPC socket (NULL: the default), as given to open */
};

/* socket NULL: the default droverfs socket; run_dir NULL: QEMU_RUN_DIR. */
int vm_env_open(struct vm_env *e, const char *socket, const char *run_dir, struct drover_err *err);
void vm_env_close(struct vm_env *e);

/* One "--key value" of create/set. */
struct vm_opt {
	const char *key;
	const char *value;
};

/*
 * Create VM vmid on this node with opts (a disk given as STORE:SIZE, SIZE
 * in GiB as qm takes it or with a unit suffix such as 64M, is allocated
 * on STORE; a NIC without a MAC gets one). Refuses a VMID that exists
 * anywhere in the cluster. Disks allocated before a failure are freed.
 */
int vm_create(const struct vm_env *e, uint32_t vmid, const struct vm_opt *opts, size_t n,
	      const struct drover_reporter *log, struct drover_err *err);

/* Set opts and delete the keys in del (n_del) in vm's config; digest: see guest_conf.h. */
int vm_set(const struct vm_env *e, uint32_t vmid, const struct vm_opt *opts, size_t n,
	   char *const *del, size_t n_del, const char *digest, const struct drover_reporter *log,
	   struct drover_err *err);

/* The VM's config (its own node's), parsed; *out is the caller's. */
int vm_config(const struct vm_env *e, uint32_t vmid, struct guest_conf **out,
	      struct drover_err *err);

/* Start the VM: taps, QEMU under service control, until QMP says "running". */
int vm_start(const struct vm_env *e, uint32_t vmid, const struct drover_reporter *log,
	     struct drover_err *err);

/*
 * The QEMU command line (argv, NULL-terminated; free it with
 * strv_free_array()) that vm_start() would run for the VM now: KVM
 * probed as a start probes it, without the service-control wrapper.
 * Nothing is created (no taps, no run directory).
 */
int vm_showcmd(const struct vm_env *e, uint32_t vmid, char ***argv, struct drover_err *err);

/* Stop hard: QMP quit, then SIGTERM/SIGKILL after timeout_s. A stopped VM is no error. */
int vm_stop(const struct vm_env *e, uint32_t vmid, unsigned timeout_s, bool skiplock,
	    const struct drover_reporter *log, struct drover_err *err);

/*
 * Shut down cleanly (the guest agent's guest-shutdown with agent: 1, else
 * ACPI powerdown), wait timeout_s, then with force_stop stop it hard
 * (-ETIMEDOUT otherwise).
 */
int vm_shutdown(const struct vm_env *e, uint32_t vmid, unsigned timeout_s, bool force_stop,
		bool skiplock, const struct drover_reporter *log, struct drover_err *err);

/*
 * After QEMU ended by itself (the guest powered off, QEMU died): remove
 * the taps, pid file and sockets its start made, under the guest's lock
 * (so no start is under way). A VM that runs again, or whose config has
 * lock: set (the operation under way owns them), is left alone. What was
 * removed goes to log.
 */
int vm_cleanup(const struct vm_env *e, uint32_t vmid, const struct drover_reporter *log,
	       struct drover_err *err);
/* Does a stopped VM have any of those left (cheap: stat and ioctl calls)? */
bool vm_leftovers(const char *run_dir, uint32_t vmid);

/* Shutdown, then start. */
int vm_reboot(const struct vm_env *e, uint32_t vmid, unsigned timeout_s,
	      const struct drover_reporter *log, struct drover_err *err);

/* Pause the CPUs (QMP stop) / go on (cont). */
int vm_suspend(const struct vm_env *e, uint32_t vmid, struct drover_err *err);
int vm_resume(const struct vm_env *e, uint32_t vmid, struct drover_err *err);

/* What `status` shows. */
struct vm_status {
	uint32_t vmid;
	char node[NODE_NAME_MAX + 1];
	char name[64];
	bool running;
	char qmpstatus[32]; /* "running", "paused", ... ("" when stopped or not asked) */
	int pid;
	uint64_t uptime_s;
	uint64_t maxmem; /* bytes, from the config */
	uint64_t mem; /* resident, bytes */
	uint64_t maxdisk; /* bytes: the sum of the disks' size= */
	double cpu_s; /* CPU seconds used */
	unsigned cpus;
	char lock[32];
	bool stale; /* a node's published state older than a minute (list) */
	bool unknown; /* nothing known about its state (list: another node published none) */
};

/* Status of a VM of this node; verbose asks QMP for its run state. */
int vm_status_get(const struct vm_env *e, uint32_t vmid, bool verbose, struct vm_status *st,
		  struct drover_err *err);

/*
 * The cluster's VMs (every node's qemu-server configs), sorted by VMID:
 * this node's state from the host, the others' from what their droverd
 * published. *out is the caller's to free.
 */
int vm_list(const struct vm_env *e, struct vm_status **out, size_t *n, struct drover_err *err);

/*
 * Destroy a stopped, unprotected, unlocked VM: free every volume it owns
 * (attached, unused and in snapshots), then remove its config; hook (may
 * be NULL) checks first and follows last, all under the guest's lock.
 */
int vm_destroy(const struct vm_env *e, uint32_t vmid, const struct guest_destroy_hook *hook,
	       const struct drover_reporter *log, struct drover_err *err);

/*
 * Snapshot every disk (the file systems frozen through the agent while
 * the VM runs with agent: 1) and the config, under lock: snapshot.
 * With vmstate and a running VM, the RAM too: the VM paused, its disks
 * snapshotted and its state written to a state volume (vmstate:,
 * runningmachine:, runningcpu: in the section), then resumed. A stopped
 * VM has no RAM to save: vmstate is ignored (with a log line), as qm does.
 */
int vm_snapshot(const struct vm_env *e, uint32_t vmid, const char *name, const char *description,
		bool vmstate, const struct drover_reporter *log, struct drover_err *err);
/*
 * Roll disks and config back to snapshot name (a stopped VM), under lock:
 * rollback. A snapshot with RAM state starts the VM from that state.
 */
int vm_rollback(const struct vm_env *e, uint32_t vmid, const char *name,
		const struct drover_reporter *log, struct drover_err *err);
/* Delete snapshot name from the disks and the config, under lock: snapshot-delete. */
int vm_delsnapshot(const struct vm_env *e, uint32_t vmid, const char *name,
		   const struct drover_reporter *log, struct drover_err *err);

/* Clear lock:. */
int vm_unlock(const struct vm_env *e, uint32_t vmid, struct drover_err *err);

/* Grow disk (a drive key) to size, or by it with grow ("+1G"): storage, config, a running QEMU. */
int vm_resize(const struct vm_env *e, uint32_t vmid, const char *disk, const char *size,
	      const struct drover_reporter *log, struct drover_err *err);

/*
 * A guest agent command: ping, fsfreeze-freeze, fsfreeze-thaw,
 * fsfreeze-status, get-osinfo. *result: its JSON (the caller's; NULL for
 * ping).
 */
int vm_agent(const struct vm_env *e, uint32_t vmid, const char *cmd, int timeout_ms,
	     struct json_object **result, struct drover_err *err);

/* A QMP session with a running VM of this node (vm_monitor, suspend...). */
int vm_qmp_open(const struct vm_env *e, uint32_t vmid, struct qmp **q, struct drover_err *err);

/* The path of serial port index of a running VM (for the terminal). */
int vm_serial_path(const struct vm_env *e, uint32_t vmid, unsigned index, char *out, size_t len,
		   struct drover_err *err);
/* A connection to serial port index of a running VM (the terminal): *fd. */
int vm_serial_open(const struct vm_env *e, uint32_t vmid, unsigned index, int *fd,
		   struct drover_err *err);

/* Is the VM running on this node (its QEMU alive)? pid if so. */
bool vm_running(const struct vm_env *e, uint32_t vmid, int *pid);

/* --- the state volume of a snapshot with RAM (vm_state.c, pure) --- */

/* "vm-VMID-state-SNAP" into out; -ENAMETOOLONG. */
int vm_state_volume_name(uint32_t vmid, const char *snap, char *out, size_t len);
/* Bytes of the state volume of a VM with memory_kib of RAM (whole MiB). */
uint64_t vm_state_size(uint64_t memory_kib);
/* The storage ID of the section's first disk on a storage; -ENOENT. */
int vm_state_storage(struct guest_section *s, char *out, size_t len, struct drover_err *err);
/* memory: of the section in KiB (512 MiB when unset). */
int vm_state_memory_kib(struct guest_section *s, uint64_t *kib, struct drover_err *err);

/* --- saving and loading the RAM state (vm_state_save.c, vm_start.c) --- */

/*
 * Write the state of the paused VM behind q into the file or block device
 * path (QEMU's migration stream), waiting until it is complete. The VM
 * stays paused ("postmigrate"): the caller resumes it.
 */
int vm_state_save(struct qmp *q, const char *path, struct drover_err *err);
/* The versioned machine type QEMU runs for configured ("pc" when NULL). */
int vm_state_machine(struct qmp *q, const char *configured, char *out, size_t len,
		     struct drover_err *err);
/* The -cpu argument of the running QEMU pid. */
int vm_state_cpu(int pid, char *out, size_t len);
/*
 * Start the VM (unlocked, stopped) from the state saved in path, with
 * machine type machine (NULL: the config's): running once loaded.
 */
int vm_start_from_state(const struct vm_env *e, uint32_t vmid, const char *path,
			const char *machine, const struct drover_reporter *log,
			struct drover_err *err);

/* --- for the other files of this module --- */

/* Call fn for every storage volume the config holds (every section, unusedN too). */
int vm_each_volume(struct guest_conf *c, int (*fn)(void *ctx, const char *key, const char *volid),
		   void *ctx);
/* The same for the disks of one section (no CD-ROMs, no paths). */
int vm_section_volumes(struct guest_section *s,
		       int (*fn)(void *ctx, const char *key, const char *volid), void *ctx);
/* The qemu_volume_resolver on e's storage (ctx: the env). */
struct qemu_volume;
int vm_resolve_volume(void *ctx, uint32_t vmid, const char *volid, struct qemu_volume *vol,
		      struct drover_err *err);
/* Wait up to timeout_ms for pid to end. true if it did. */
bool vm_wait_gone(pid_t pid, unsigned timeout_ms);
/* Remove the VM's taps (after QEMU ended). */
void vm_taps_delete(struct guest_conf *c, uint32_t vmid);
/* Remove its pid file and sockets (after QEMU ended; the console logs stay). */
void vm_run_files_remove(const struct vm_env *e, uint32_t vmid);
