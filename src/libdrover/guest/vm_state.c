/* SPDX-License-Identifier: MIT */
/*
 * The state volume of a snapshot with RAM (--vmstate), as qm lays it out:
 * "vm-VMID-state-SNAP" on the storage of the VM's first disk, sized for
 * the RAM. Pure: what these return depends on their arguments alone.
 */
#include "vm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/util.h"
#include "libdrover/format/guest_drive.h"
#include "libdrover/format/guest_options.h"

int vm_state_volume_name(uint32_t vmid, const char *snap, char *out, size_t len)
{
	int n = snprintf(out, len, "vm-%" PRIu32 "-state-%s", vmid, snap);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

uint64_t vm_state_size(uint64_t memory_kib)
{
	/*
	 * The migration stream holds every RAM page once plus the devices'
	 * state (the video RAM the largest part); twice the RAM and 500 MiB
	 * is qm's margin. On file storages the volume is sparse: only what
	 * the stream writes takes room.
	 */
	uint64_t mib = (memory_kib + 1023) / 1024;

	return (2 * mib + VM_STATE_EXTRA_MIB) << 20;
}

struct first_store {
	char *out;
	size_t len;
};

static int take_store(void *ctx, const char *key, const char *volid)
{
	struct first_store *f = ctx;
	size_t n = strcspn(volid, ":");

	/* the first attached disk's storage wins (a detached one is no home) */
	if (f->out[0] || str_has_prefix(key, "unused") || volid[n] != ':' || n == 0 || n >= f->len)
		return 0;
	snprintf(f->out, f->len, "%.*s", (int)n, volid);
	return 0;
}

int vm_state_storage(struct guest_section *s, char *out, size_t len, struct drover_err *err)
{
	struct first_store f = { out, len };

	out[0] = '\0';
	if (vm_section_volumes(s, take_store, &f) < 0 || !out[0])
		return drover_fail(err, -ENOENT,
				   "no storage for the RAM state: the VM has no disk on a storage");
	return 0;
}

int vm_state_memory_kib(struct guest_section *s, uint64_t *kib, struct drover_err *err)
{
	const char *v = guest_get(s, "memory");

	*kib = VM_DEFAULT_MEMORY_MIB << 10;
	return v ? guest_memory_parse(v, kib, err) : 0;
}
