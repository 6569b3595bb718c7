/* SPDX-License-Identifier: MIT */
/*
 * What the node agent and the CLI need from a guest type: start a guest,
 * shut it down, and read its runtime state. One table per type (QEMU,
 * LXC), held by the caller (droverd keeps one in its context), so a test
 * program can put a type of its own in and production code cannot.
 *
 * guest_ops_defaults() fills the tables with what drover has: the
 * runtime readers (guest_runtime.h) and the VM (vm.h) and container
 * (lxc/ct.h) operations. This is the dispatcher on top of them: ops.c
 * includes vm.h and lxc/ct.h, and nothing below includes ops.h (what they
 * share with it, struct guest_runtime and guest_kind(), lives in
 * guest_runtime.h and format/names.h). A table without start or shutdown
 * makes guest_start()/guest_shutdown() refuse with -ENOTSUP and say so:
 * nothing pretends to have started a guest.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "libdrover/error.h"
#include "libdrover/format/names.h"
#include "libdrover/report.h"
#include "guest_runtime.h"

#define GUEST_TYPES 3 /* indexed by enum guest_type */

struct guest_ops {
	/* Start vmid (its config: nodes/<this node>/<type dir>/VMID.conf); return once it runs. */
	int (*start)(void *ctx, uint32_t vmid, const struct drover_reporter *log,
		     struct drover_err *err);
	/*
	 * Shut vmid down cleanly, waiting up to timeout_s; then, with
	 * force_stop, stop it hard (-ETIMEDOUT otherwise). A stopped guest is
	 * no error.
	 */
	int (*shutdown)(void *ctx, uint32_t vmid, unsigned timeout_s, bool force_stop,
			const struct drover_reporter *log, struct drover_err *err);
	/*
	 * Fill rt (a stopped guest: running false). procs: the QEMU process
	 * index of a pass over many guests (guest_runtime.h), NULL: none.
	 * Returns 0 or -errno.
	 */
	int (*runtime)(void *ctx, uint32_t vmid, struct qemu_proc_index *procs,
		       struct guest_runtime *rt);
	/*
	 * Does stopped guest vmid still have what its start made (taps, pid
	 * file, sockets, mounts)? Cheap: droverd asks when it sees a guest
	 * gone. NULL: never.
	 */
	bool (*leftovers)(void *ctx, uint32_t vmid);
	/* Remove those (the guest ended by itself). NULL: nothing to do. */
	int (*cleanup)(void *ctx, uint32_t vmid, const struct drover_reporter *log,
		       struct drover_err *err);
	void *ctx;
};

struct guest_ops_table {
	struct guest_ops type[GUEST_TYPES];
};

/*
 * Where the runtime readers look (NULL: the defaults), for a node whose
 * /run or cgroups are elsewhere (tests).
 */
struct guest_ops_paths {
	const char *qemu_run_dir; /* NULL: QEMU_RUN_DIR */
	const char *cgroup_root; /* NULL: /sys/fs/cgroup */
};

/* The tables drover has for QEMU and LXC. paths must outlive t (may be NULL). */
void guest_ops_defaults(struct guest_ops_table *t, const struct guest_ops_paths *paths);

/* Start guest vmid of type through t. -ENOTSUP (with err) when the type cannot be started yet. */
int guest_start(const struct guest_ops_table *t, enum guest_type type, uint32_t vmid,
		const struct drover_reporter *log, struct drover_err *err);

/* Shut it down (see struct guest_ops). -ENOTSUP (with err) as guest_start. */
int guest_shutdown(const struct guest_ops_table *t, enum guest_type type, uint32_t vmid,
		   unsigned timeout_s, bool force_stop, const struct drover_reporter *log,
		   struct drover_err *err);

/* Did stopped guest vmid leave something behind (false when the type cannot tell)? */
bool guest_leftovers(const struct guest_ops_table *t, enum guest_type type, uint32_t vmid);

/* Clean up after stopped guest vmid. -ENOTSUP (with err) when the type has no cleanup. */
int guest_cleanup(const struct guest_ops_table *t, enum guest_type type, uint32_t vmid,
		  const struct drover_reporter *log, struct drover_err *err);

/*
 * Its runtime state. procs: a qemu_proc_index_new() shared by the calls of
 * one pass over many guests, so that the stopped VMs among them cost one
 * look at /proc together; NULL: each VM looks by itself. -ENOTSUP when the
 * type has no reader.
 */
int guest_runtime_get(const struct guest_ops_table *t, enum guest_type type, uint32_t vmid,
		      struct qemu_proc_index *procs, struct guest_runtime *rt);
