/* SPDX-License-Identifier: MIT */
/*
 * The order in which a node starts its onboot guests and stops its guests
 * (Proxmox's startall/stopall): guests with a startup order start in
 * ascending order, those without one after them, equal orders by
 * ascending VMID; stopping is exactly the reverse. After starting a guest
 * with up=N the next one waits N seconds; stopping a guest with down=N
 * waits at most N seconds for its shutdown.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libdrover/error.h"
#include "libdrover/format/guest_conf.h"

struct startup_guest {
	uint32_t vmid;
	enum guest_type type;
	bool onboot;
	long order; /* -1: none (after every ordered guest) */
	long up; /* seconds to wait after starting it; -1: none */
	long down; /* seconds its shutdown may take; -1: the caller's default */
};

/*
 * Compare in start order (<0: a starts first): ordered guests by order,
 * then the unordered; VMID breaks ties. For sorting structs that hold a
 * startup_guest.
 */
int startup_cmp_start(const struct startup_guest *a, const struct startup_guest *b);

/* Sort into start order. */
void startup_sort_start(struct startup_guest *g, size_t n);

/* Sort into stop order (the reverse of the start order). */
void startup_sort_stop(struct startup_guest *g, size_t n);

/* Seconds to wait after starting g before the next guest (0 when none). */
unsigned startup_up_delay(const struct startup_guest *g);

/* Seconds g's shutdown may take: its down= or default_timeout. */
unsigned startup_down_timeout(const struct startup_guest *g, unsigned default_timeout);

/*
 * Fill g from a guest's current config (onboot, startup). Returns 0 or
 * -EINVAL (a startup value the schema would have refused).
 */
int startup_guest_from_conf(struct guest_conf *c, uint32_t vmid, struct startup_guest *g,
			    struct drover_err *err);
