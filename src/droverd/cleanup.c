/* SPDX-License-Identifier: MIT */
/*
 * Cleaning up after a guest that ended by itself: it powered off from
 * inside, or its QEMU or container died. Its start left taps, a pid file,
 * sockets or mounts that a stop would have removed; the status tick
 * notices the guest gone (or, after droverd started, a guest that is
 * VM stopped with leftovers) and runs the type's cleanup as a task
 * (qmcleanup, vzcleanup), so the next start finds the node as a stop
 * leaves it. A guest stopped through drover left nothing: no task then.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "basic/log.h"
#include "droverd.h"

struct cleanup_arg {
	struct droverd *d;
	enum guest_type type;
	uint32_t vmid;
};

/* In the worker (a fork: the arg is the worker's own copy). */
static int cleanup_task(void *arg, const struct drover_reporter *log, struct drover_err *err)
{
	struct cleanup_arg *a = arg;

	return guest_cleanup(&a->d->ops, a->type, a->vmid, log, err);
}

bool droverd_guest_cleanup(struct droverd *d, struct droverd_guest *g, bool first_look)
{
	struct cleanup_arg a = { d, g->type, g->vmid };
	char id[16];
	struct task_spec spec = { .type = g->type == GUEST_LXC ? "vzcleanup" : "qmcleanup",
				  .id = id };

	if (!d->ops.type[g->type].cleanup)
		return false;
	/*
	 * A container first seen stopped may be one being created (its rootfs
	 * mounted for the unpack): only one seen running and gone is swept. A
	 * VM's leftovers come from a start alone, which holds the guest lock
	 * the cleanup waits for.
	 */
	if (first_look && g->type == GUEST_LXC)
		return false;
	if (!guest_leftovers(&d->ops, g->type, g->vmid))
		return false;
	snprintf(id, sizeof(id), "%" PRIu32, g->vmid);
	log_notice("%s %" PRIu32 " stopped by itself: cleaning up after it", guest_kind(g->type),
		   g->vmid);
	droverd_worker_start(d, &spec, cleanup_task, &a, NULL, NULL);
	return true;
}
