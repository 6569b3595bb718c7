/* SPDX-License-Identifier: MIT */
#include "startup_order.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "libdrover/format/guest_options.h"
#include "libdrover/format/propstr.h"

int startup_cmp_start(const struct startup_guest *a, const struct startup_guest *b)
{
	bool ua = a->order < 0, ub = b->order < 0;

	if (ua != ub)
		return ua ? 1 : -1;
	if (a->order != b->order)
		return a->order < b->order ? -1 : 1;
	if (a->vmid != b->vmid)
		return a->vmid < b->vmid ? -1 : 1;
	return 0;
}

static int cmp_start(const void *pa, const void *pb)
{
	return startup_cmp_start(pa, pb);
}

static int cmp_stop(const void *pa, const void *pb)
{
	return startup_cmp_start(pb, pa);
}

void startup_sort_start(struct startup_guest *g, size_t n)
{
	qsort(g, n, sizeof(*g), cmp_start);
}

void startup_sort_stop(struct startup_guest *g, size_t n)
{
	qsort(g, n, sizeof(*g), cmp_stop);
}

unsigned startup_up_delay(const struct startup_guest *g)
{
	return g->up > 0 ? (unsigned)g->up : 0;
}

unsigned startup_down_timeout(const struct startup_guest *g, unsigned default_timeout)
{
	return g->down >= 0 ? (unsigned)g->down : default_timeout;
}

int startup_guest_from_conf(struct guest_conf *c, uint32_t vmid, struct startup_guest *g,
			    struct drover_err *err)
{
	struct guest_section *cur = guest_conf_current(c);
	const char *onboot = guest_get(cur, "onboot");
	const char *startup = guest_get(cur, "startup");
	struct guest_startup s = { -1, -1, -1 };

	memset(g, 0, sizeof(*g));
	g->vmid = vmid;
	g->type = guest_conf_type(c);
	if (onboot && propstr_bool(onboot, &g->onboot) < 0)
		return drover_fail(err, -EINVAL, "onboot must be 0 or 1, not '%s'", onboot);
	if (startup && guest_startup_parse(startup, &s, err) < 0)
		return -EINVAL;
	g->order = s.order;
	g->up = s.up;
	g->down = s.down;
	return 0;
}
