/* SPDX-License-Identifier: MIT */
#include "ops.h"

#include <errno.h>
#include <string.h>

#include "guest_runtime.h"
#include "lxc/ct.h"
#include "vm.h"

static int qemu_runtime(void *ctx, uint32_t vmid, struct qemu_proc_index *procs,
			struct guest_runtime *rt)
{
	const struct guest_ops_paths *p = ctx;

	return qemu_runtime_read(p ? p->qemu_run_dir : NULL, vmid, procs, rt);
}

static int lxc_runtime(void *ctx, uint32_t vmid, struct qemu_proc_index *procs,
		       struct guest_runtime *rt)
{
	const struct guest_ops_paths *p = ctx;

	(void)procs;
	return lxc_runtime_read(p ? p->cgroup_root : NULL, vmid, rt);
}

static int qemu_start(void *ctx, uint32_t vmid, const struct drover_reporter *log,
		      struct drover_err *err)
{
	const struct guest_ops_paths *p = ctx;
	struct vm_env e;
	int r = vm_env_open(&e, NULL, p ? p->qemu_run_dir : NULL, err);

	if (r == 0)
		r = vm_start(&e, vmid, log, err);
	vm_env_close(&e);
	return r;
}

static int qemu_shutdown(void *ctx, uint32_t vmid, unsigned timeout_s, bool force_stop,
			 const struct drover_reporter *log, struct drover_err *err)
{
	const struct guest_ops_paths *p = ctx;
	struct vm_env e;
	int r = vm_env_open(&e, NULL, p ? p->qemu_run_dir : NULL, err);

	/* the node goes down (stopall): locks do not keep a VM running */
	if (r == 0)
		r = vm_shutdown(&e, vmid, timeout_s, force_stop, true, log, err);
	vm_env_close(&e);
	return r;
}

static bool qemu_leftovers(void *ctx, uint32_t vmid)
{
	const struct guest_ops_paths *p = ctx;

	return vm_leftovers(p ? p->qemu_run_dir : NULL, vmid);
}

static int qemu_cleanup(void *ctx, uint32_t vmid, const struct drover_reporter *log,
			struct drover_err *err)
{
	const struct guest_ops_paths *p = ctx;
	struct vm_env e;
	int r = vm_env_open(&e, NULL, p ? p->qemu_run_dir : NULL, err);

	if (r == 0)
		r = vm_cleanup(&e, vmid, log, err);
	vm_env_close(&e);
	return r;
}

static bool lxc_leftovers(void *ctx, uint32_t vmid)
{
	(void)ctx;
	return ct_leftovers(vmid);
}

static int lxc_cleanup(void *ctx, uint32_t vmid, const struct drover_reporter *log,
		       struct drover_err *err)
{
	(void)ctx;
	return ct_cleanup(vmid, log, err);
}

static int lxc_start(void *ctx, uint32_t vmid, const struct drover_reporter *log,
		     struct drover_err *err)
{
	(void)ctx;
	return ct_start(vmid, log, err);
}

static int lxc_shutdown(void *ctx, uint32_t vmid, unsigned timeout_s, bool force_stop,
			const struct drover_reporter *log, struct drover_err *err)
{
	(void)ctx;
	return ct_shutdown(vmid, timeout_s, force_stop, log, err);
}

void guest_ops_defaults(struct guest_ops_table *t, const struct guest_ops_paths *paths)
{
	memset(t, 0, sizeof(*t));
	t->type[GUEST_QEMU] = (struct guest_ops){ .start = qemu_start,
						  .shutdown = qemu_shutdown,
						  .runtime = qemu_runtime,
						  .leftovers = qemu_leftovers,
						  .cleanup = qemu_cleanup,
						  .ctx = (void *)paths };
	t->type[GUEST_LXC] = (struct guest_ops){ .start = lxc_start,
						 .shutdown = lxc_shutdown,
						 .runtime = lxc_runtime,
						 .leftovers = lxc_leftovers,
						 .cleanup = lxc_cleanup,
						 .ctx = (void *)paths };
}

static const struct guest_ops *ops_of(const struct guest_ops_table *t, enum guest_type type)
{
	return type > GUEST_NONE && type < GUEST_TYPES ? &t->type[type] : NULL;
}

int guest_start(const struct guest_ops_table *t, enum guest_type type, uint32_t vmid,
		const struct drover_reporter *log, struct drover_err *err)
{
	const struct guest_ops *o = ops_of(t, type);

	if (!o || !o->start)
		return drover_fail(err, -ENOTSUP,
				   "%s %u: starting a %s is not supported by this drover yet",
				   guest_kind(type), vmid, type == GUEST_LXC ? "container" : "VM");
	return o->start(o->ctx, vmid, log, err);
}

int guest_shutdown(const struct guest_ops_table *t, enum guest_type type, uint32_t vmid,
		   unsigned timeout_s, bool force_stop, const struct drover_reporter *log,
		   struct drover_err *err)
{
	const struct guest_ops *o = ops_of(t, type);

	if (!o || !o->shutdown)
		return drover_fail(err, -ENOTSUP,
				   "%s %u: shutting down a %s is not supported by this drover yet",
				   guest_kind(type), vmid, type == GUEST_LXC ? "container" : "VM");
	return o->shutdown(o->ctx, vmid, timeout_s, force_stop, log, err);
}

bool guest_leftovers(const struct guest_ops_table *t, enum guest_type type, uint32_t vmid)
{
	const struct guest_ops *o = ops_of(t, type);

	return o && o->leftovers && o->leftovers(o->ctx, vmid);
}

int guest_cleanup(const struct guest_ops_table *t, enum guest_type type, uint32_t vmid,
		  const struct drover_reporter *log, struct drover_err *err)
{
	const struct guest_ops *o = ops_of(t, type);

	if (!o || !o->cleanup)
		return drover_fail(err, -ENOTSUP, "%s %u: no cleanup for this guest type",
				   guest_kind(type), vmid);
	return o->cleanup(o->ctx, vmid, log, err);
}

int guest_runtime_get(const struct guest_ops_table *t, enum guest_type type, uint32_t vmid,
		      struct qemu_proc_index *procs, struct guest_runtime *rt)
{
	const struct guest_ops *o = ops_of(t, type);

	memset(rt, 0, sizeof(*rt));
	if (!o || !o->runtime)
		return -ENOTSUP;
	return o->runtime(o->ctx, vmid, procs, rt);
}
