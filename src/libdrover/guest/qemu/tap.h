/* SPDX-License-Identifier: MIT */
/*
 * The tap devices of a VM's NICs: made before QEMU starts (QEMU opens
 * them by name), on the bridge the config names, as Proxmox's tapVMIDiN.
 * They are persistent, so a tap outlives a QEMU that died; the next start
 * takes it over, and qemu_tap_delete() removes it after a stop.
 */
#pragma once

#include <stdbool.h>

#include "libdrover/error.h"

/*
 * Make tap `name` (or take over an existing, unused one), attach it to
 * `bridge`, set its MTU (0: the bridge's) and bring it up; with tag (a
 * VLAN, 0: none) the bridge must filter VLANs and the port gets the VLAN
 * untagged. multiqueue for a NIC with queues > 1. Returns 0, -ENODEV (no
 * such bridge), -EBUSY (the tap is open: the VM runs), or -errno.
 */
int qemu_tap_create(const char *name, const char *bridge, unsigned mtu, unsigned tag,
		    bool multiqueue, struct drover_err *err);

/* Remove the tap (a missing one is fine). -EBUSY while QEMU still holds it. */
int qemu_tap_delete(const char *name, struct drover_err *err);
