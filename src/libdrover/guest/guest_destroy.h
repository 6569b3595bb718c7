/* SPDX-License-Identifier: MIT */
/*
 * What a guest's destroy does for the layers above the guest (replication
 * today; HA and backup jobs later), inside its own locked step: vm_destroy
 * and ct_destroy call the hook under priv/lock/guest-VMID, so no other
 * operation on the guest runs between the check, the freeing and what
 * follows. The guest code knows only this callback, never who fills it,
 * so its dependencies keep pointing down (replication/guest_jobs.h fills
 * it for `drover vm destroy` and `drover ct destroy`).
 */
#pragma once

#include <stdint.h>

#include "libdrover/error.h"
#include "libdrover/report.h"

struct guest_destroy_hook {
	/* Before anything is checked or freed: -errno (with err) refuses the destroy. NULL: none. */
	int (*check)(void *ctx, uint32_t vmid, struct drover_err *err);
	/* Once the guest and its config are gone. -errno fails the operation. NULL: none. */
	int (*after)(void *ctx, uint32_t vmid, const struct drover_reporter *log,
		     struct drover_err *err);
	void *ctx;
};

/* hook's check (0 when hook or its check is NULL). */
static inline int guest_destroy_check(const struct guest_destroy_hook *hook, uint32_t vmid,
				      struct drover_err *err)
{
	return hook && hook->check ? hook->check(hook->ctx, vmid, err) : 0;
}

/* hook's after (0 when hook or its after is NULL). */
static inline int guest_destroy_after(const struct guest_destroy_hook *hook, uint32_t vmid,
				      const struct drover_reporter *log, struct drover_err *err)
{
	return hook && hook->after ? hook->after(hook->ctx, vmid, log, err) : 0;
}
