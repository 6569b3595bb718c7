/* SPDX-License-Identifier: MIT */
/*
 * pct set: keys set and deleted in one read-modify-write under the
 * guest's lock (a locked container refuses it). Volumes (rootfs, mpN,
 * unusedN) are not set this way: they are made with the container.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "ct_internal.h"
#include "libdrover/format/guest_net.h"
#include "libdrover/format/guest_value.h"
#include "libdrover/guest/conf_edit.h"

struct set_req {
	const struct ct_kv *kv;
	size_t n;
	const char *del;
	const char *digest;
};

static bool volume_key(const char *k)
{
	return streq(k, "rootfs") || str_has_prefix(k, "mp") || str_has_prefix(k, "unused");
}

/* netN without hwaddr: keep the one it had, or make one. */
static int nic_value(struct guest_section *cur, const char *key, const char *value, char **out,
		     struct drover_err *err)
{
	struct guest_ct_nic n, old;
	const char *prev = guest_get(cur, key);
	char mac[18];

	*out = NULL;
	if (guest_ct_nic_parse(key, value, &n, err) < 0)
		return drover_fail_prefix(err, -EINVAL, "%s", key);
	if (n.hwaddr[0])
		return 0;
	if (prev && guest_ct_nic_parse(key, prev, &old, NULL) == 0 && old.hwaddr[0])
		snprintf(mac, sizeof(mac), "%s", old.hwaddr);
	else if (guest_mac_random(mac) < 0)
		return drover_fail(err, -EIO, "%s: no random MAC address", key);
	return asprintf(out, "%s,hwaddr=%s", value, mac) < 0
		       ? drover_fail(err, -ENOMEM, "out of memory")
		       : 0;
}

static int delete_keys(struct guest_section *cur, const char *del, struct drover_err *err)
{
	char *copy = strdup(del), *save = NULL;
	int r = copy ? 0 : drover_fail(err, -ENOMEM, "out of memory");

	for (char *k = copy ? strtok_r(copy, ",", &save) : NULL; k && r == 0;
	     k = strtok_r(NULL, ",", &save)) {
		if (volume_key(k))
			r = drover_fail(err, -EINVAL, "%s cannot be deleted with set", k);
		else
			guest_delete(cur, k); /* deleting what is not there is no error */
	}
	free(copy);
	return r;
}

static int edit(struct guest_conf *c, void *arg, struct drover_err *err)
{
	struct set_req *q = arg;
	struct guest_section *cur = guest_conf_current(c);
	int r = guest_conf_check_digest(c, q->digest, err);

	for (size_t i = 0; r == 0 && i < q->n; i++) {
		const char *k = q->kv[i].key;
		char *v = NULL;

		if (volume_key(k))
			r = drover_fail(err, -EINVAL, "%s cannot be changed with set", k);
		else if (str_has_prefix(k, "net"))
			r = nic_value(cur, k, q->kv[i].value, &v, err);
		if (r == 0)
			r = guest_set(cur, k, v ? v : q->kv[i].value, err);
		free(v);
	}
	if (r == 0 && q->del)
		r = delete_keys(cur, q->del, err);
	return r;
}

int ct_set(uint32_t ctid, const struct ct_kv *kv, size_t n, const char *del, const char *digest,
	   struct drover_err *err)
{
	struct set_req q = { kv, n, del, digest };

	return guest_conf_update(GUEST_LXC, ctid, NULL, edit, &q, err);
}
