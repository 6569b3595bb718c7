/* SPDX-License-Identifier: MIT */
/* create and set: options into a VM's config, new disks allocated, new NICs given a MAC. */
#include "vm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/util.h"
#include "conf_edit.h"
#include "libdrover/format/guest_drive.h"
#include "libdrover/format/guest_net.h"
#include "libdrover/format/guest_value.h"

#define NEW_VOLS_MAX 64

struct edit {
	const struct vm_env *e;
	uint32_t vmid;
	const struct vm_opt *opts;
	size_t n;
	char *const *del;
	size_t n_del;
	const char *digest;
	const struct drover_reporter *log;
	char new_vols[NEW_VOLS_MAX][GUEST_VOLID_MAX]; /* allocated here: freed on failure */
	size_t n_new;
};

/*
 * A new disk is "STORE:SIZE[,options]": SIZE a number of GiB (qm's form) or
 * a size with a unit ("64M"). Returns 1 and the size, 0 for anything else
 * (an existing volume), -EINVAL for a bad size.
 */
static int new_disk(const char *value, char *store, size_t store_len, uint64_t *size)
{
	size_t first = strcspn(value, ",");
	const char *colon = memchr(value, ':', first);
	char num[64], *end;
	double gib;

	if (!colon || memchr(value, '/', first) || memchr(value, '=', first) ||
	    (size_t)(colon - value) >= store_len || first - (size_t)(colon - value) > sizeof(num))
		return 0;
	snprintf(num, sizeof(num), "%.*s", (int)(first - (size_t)(colon - value) - 1), colon + 1);
	if (!num[0] || !(num[0] >= '0' && num[0] <= '9'))
		return 0;
	snprintf(store, store_len, "%.*s", (int)(colon - value), value);
	gib = strtod(num, &end);
	if (*end == '\0') {
		if (gib <= 0 || gib > 65536)
			return -EINVAL;
		*size = (uint64_t)(gib * 1024 * 1024 * 1024);
	} else if (guest_size_parse(num, size) < 0 || *size == 0) {
		return -EINVAL;
	}
	/* storage sizes are whole KiB */
	*size = (*size + 1023) / 1024 * 1024;
	return 1;
}

static int alloc_disk(struct edit *ed, const char *key, const char *value, char **out,
		      struct drover_err *err)
{
	char store[GUEST_STORE_MAX], volid[GUEST_VOLID_MAX], sz[32], *with = NULL;
	uint64_t size = 0;
	int r = new_disk(value, store, sizeof(store), &size);

	*out = NULL;
	if (r <= 0)
		return r < 0 ? drover_fail(err, r, "%s: bad size in '%s' (STORE:GiB or STORE:64M)",
					   key, value)
			     : 0;
	if (ed->n_new == NEW_VOLS_MAX)
		return drover_fail(err, -E2BIG, "too many new disks");
	r = storage_alloc(&ed->e->st, store, ed->vmid, NULL, STORAGE_VOLFORMAT_RAW, false, size,
			  volid, sizeof(volid), err);
	if (r < 0)
		return drover_fail_prefix(err, r, "%s", key);
	snprintf(ed->new_vols[ed->n_new++], GUEST_VOLID_MAX, "%s", volid);
	drover_report_log(ed->log, "%s: allocated %s (%s)", key, volid,
			  guest_size_format(size, sz, sizeof(sz)));
	r = guest_value_with_volume(value, volid, &with, err);
	if (r < 0)
		return drover_fail_prefix(err, r, "%s", key);
	if (asprintf(out, "%s,size=%s", with, sz) < 0) {
		*out = NULL;
		r = drover_fail(err, -ENOMEM, "out of memory");
	}
	free(with);
	return r;
}

/* "virtio,bridge=vmbr0" gets a MAC: "virtio=BC:24:11:XX:XX:XX,bridge=vmbr0". */
static int add_mac(const char *key, const char *value, char **out, struct drover_err *err)
{
	struct guest_nic nic;
	size_t first = strcspn(value, ",");
	char mac[18];
	int r = guest_nic_parse(key, value, &nic, err);

	*out = NULL;
	if (r < 0)
		return r;
	if (nic.mac[0] || memchr(value, '=', first))
		return 0;
	r = guest_mac_random(mac);
	if (r < 0)
		return drover_fail(err, r, "%s: no random bytes for a MAC address: %s", key,
				   strerror(-r));
	if (asprintf(out, "%.*s=%s%s", (int)first, value, mac, value + first) < 0) {
		*out = NULL;
		return drover_fail(err, -ENOMEM, "out of memory");
	}
	return 0;
}

static int set_one(struct edit *ed, struct guest_section *cur, const struct vm_opt *o,
		   struct drover_err *err)
{
	enum guest_bus bus;
	unsigned index;
	char *value = NULL;
	int r = 0;

	if (streq(o->key, "lock") || streq(o->key, "digest"))
		return drover_fail(err, -EINVAL, "%s cannot be set (see 'drover vm unlock')",
				   o->key);
	if (guest_drive_key(o->key, &bus, &index) == 0 && bus != GUEST_BUS_UNUSED)
		r = alloc_disk(ed, o->key, o->value, &value, err);
	else if (str_has_prefix(o->key, "net"))
		r = add_mac(o->key, o->value, &value, err);
	if (r == 0)
		r = guest_set(cur, o->key, value ? value : o->value, err);
	free(value);
	return r;
}

static int apply(struct guest_conf *c, void *arg, struct drover_err *err)
{
	struct edit *ed = arg;
	struct guest_section *cur = guest_conf_current(c);
	int r = guest_conf_check_digest(c, ed->digest, err);

	for (size_t i = 0; r == 0 && i < ed->n_del; i++)
		if (guest_delete(cur, ed->del[i]) == -ENOENT)
			drover_report_warn(ed->log, "%s was not set", ed->del[i]);
	for (size_t i = 0; r == 0 && i < ed->n; i++)
		r = set_one(ed, cur, &ed->opts[i], err);
	return r;
}

/* Free the disks this edit allocated (the config that would name them was not written). */
static void undo(struct edit *ed)
{
	for (size_t i = 0; i < ed->n_new; i++) {
		struct drover_err e;

		if (storage_free_volume(&ed->e->st, ed->new_vols[i], &e) < 0)
			drover_report_warn(ed->log, "could not free %s: %s", ed->new_vols[i],
					   e.text);
	}
}

int vm_create(const struct vm_env *e, uint32_t vmid, const struct vm_opt *opts, size_t n,
	      const struct drover_reporter *log, struct drover_err *err)
{
	struct edit *ed = calloc(1, sizeof(*ed));
	int r;

	if (!ed)
		return drover_fail(err, -ENOMEM, "out of memory");
	*ed = (struct edit){ .e = e, .vmid = vmid, .opts = opts, .n = n, .log = log };
	r = guest_conf_create_at(&e->st.cfs, GUEST_QEMU, vmid, apply, ed, err);
	if (r < 0)
		undo(ed);
	free(ed);
	return r;
}

int vm_set(const struct vm_env *e, uint32_t vmid, const struct vm_opt *opts, size_t n,
	   char *const *del, size_t n_del, const char *digest, const struct drover_reporter *log,
	   struct drover_err *err)
{
	struct edit *ed = calloc(1, sizeof(*ed));
	int r;

	if (!ed)
		return drover_fail(err, -ENOMEM, "out of memory");
	*ed = (struct edit){ .e = e,
			     .vmid = vmid,
			     .opts = opts,
			     .n = n,
			     .del = del,
			     .n_del = n_del,
			     .digest = digest,
			     .log = log };
	r = guest_conf_update_at(&e->st.cfs, GUEST_QEMU, vmid, NULL, apply, ed, err);
	if (r < 0)
		undo(ed);
	free(ed);
	return r;
}
