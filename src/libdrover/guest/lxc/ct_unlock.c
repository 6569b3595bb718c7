/* SPDX-License-Identifier: MIT */
/* pct unlock: remove whatever lock: the config has (an operation that died left it). */
#include "ct_internal.h"
#include "libdrover/guest/conf_edit.h"

int ct_unlock(uint32_t ctid, struct drover_err *err)
{
	return guest_conf_unlock(GUEST_LXC, ctid, NULL, err);
}
