/* SPDX-License-Identifier: MIT */
/*
 * Saving a paused VM's RAM and device state into a state volume without
 * Proxmox's savevm patches: QEMU's migration stream into a command that
 * writes the volume (QEMU 7.2 has no "file:" migration yet), the
 * bandwidth limit lifted for the save and put back after. Also what a
 * snapshot with RAM records besides: the running machine type (the
 * versioned name QEMU resolved "pc" or "q35" to) and the running CPU.
 */
#include "vm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "basic/util.h"
#include "qemu/qmp.h"

/* max-bandwidth while saving: 1 TiB/s, no limit in practice */
#define STATE_SAVE_BANDWIDTH (1ull << 40)

static int max_bandwidth(struct qmp *q, int64_t *bw, struct drover_err *err)
{
	struct json_object *ret = NULL, *v;
	int r = qmp_execute(q, "query-migrate-parameters", NULL, VM_QMP_TIMEOUT_MS, &ret, err);

	if (r == 0 && !json_object_object_get_ex(ret, "max-bandwidth", &v))
		r = drover_fail(err, -EPROTO, "query-migrate-parameters: no max-bandwidth");
	if (r == 0)
		*bw = json_object_get_int64(v);
	json_object_put(ret);
	return r;
}

static int set_max_bandwidth(struct qmp *q, int64_t bw, struct drover_err *err)
{
	struct json_object *a = json_object_new_object();
	int r;

	json_object_object_add(a, "max-bandwidth", json_object_new_int64(bw));
	r = qmp_execute(q, "migrate-set-parameters", a, VM_QMP_TIMEOUT_MS, NULL, err);
	json_object_put(a);
	return r;
}

/* query-migrate until the migration ended: 0 when completed. */
static int wait_migration(struct qmp *q, struct drover_err *err)
{
	uint64_t deadline = now_monotonic_ns() + (uint64_t)VM_STATE_SAVE_TIMEOUT_MS * 1000000ull;
	struct timespec pause = { 0, 50 * 1000 * 1000 };

	for (;;) {
		struct json_object *ret = NULL, *v;
		const char *status = "", *why = NULL;
		int r = qmp_execute(q, "query-migrate", NULL, VM_QMP_TIMEOUT_MS, &ret, err);

		if (r < 0)
			return r;
		if (json_object_object_get_ex(ret, "status", &v))
			status = json_object_get_string(v);
		if (json_object_object_get_ex(ret, "error-desc", &v))
			why = json_object_get_string(v);
		if (streq(status, "completed"))
			r = 1;
		else if (streq(status, "failed") || streq(status, "cancelled"))
			r = drover_fail(err, -EIO, "saving the RAM state %s: %s", status,
					why ? why : "QEMU gave no reason");
		json_object_put(ret);
		if (r != 0)
			return r < 0 ? r : 0;
		if (now_monotonic_ns() >= deadline)
			return drover_fail(err, -ETIMEDOUT, "saving the RAM state took over %d s",
					   VM_STATE_SAVE_TIMEOUT_MS / 1000);
		nanosleep(&pause, NULL);
	}
}

int vm_state_save(struct qmp *q, const char *path, struct drover_err *err)
{
	struct json_object *a;
	char *uri = NULL;
	int64_t bw = 0;
	int r;

	/* the path goes to sh -c: quoted, and no quote of its own */
	if (strchr(path, '\''))
		return drover_fail(err, -EINVAL, "state volume path %s has a quote", path);
	r = max_bandwidth(q, &bw, err);
	if (r == 0)
		r = set_max_bandwidth(q, STATE_SAVE_BANDWIDTH, err);
	if (r < 0)
		return drover_fail_prefix(err, r, "QMP");
	/* notrunc: the volume keeps its size (a block device cannot shrink) */
	if (asprintf(&uri, "exec:dd of='%s' bs=1M conv=notrunc,fsync status=none", path) < 0) {
		uri = NULL;
		r = drover_fail(err, -ENOMEM, "out of memory");
	}
	a = json_object_new_object();
	if (r == 0) {
		json_object_object_add(a, "uri", json_object_new_string(uri));
		r = qmp_execute(q, "migrate", a, VM_QMP_TIMEOUT_MS, NULL, err);
	}
	if (r == 0)
		r = wait_migration(q, err);
	/* no half-done migration stays behind the caller's cont */
	if (r < 0)
		qmp_execute(q, "migrate_cancel", NULL, VM_QMP_TIMEOUT_MS, NULL, NULL);
	json_object_put(a);
	free(uri);
	set_max_bandwidth(q, bw, NULL);
	return r;
}

int vm_state_machine(struct qmp *q, const char *configured, char *out, size_t len,
		     struct drover_err *err)
{
	struct json_object *ret = NULL;
	const char *want = configured ? configured : "pc";
	char type[64];
	int r = qmp_execute(q, "query-machines", NULL, VM_QMP_TIMEOUT_MS, &ret, err);

	snprintf(type, sizeof(type), "%.*s", (int)strcspn(want, "+"), want);
	out[0] = '\0';
	for (size_t i = 0; r == 0 && i < json_object_array_length(ret); i++) {
		struct json_object *m = json_object_array_get_idx(ret, i), *name, *alias;

		if (!json_object_object_get_ex(m, "name", &name))
			continue;
		if (streq(json_object_get_string(name), type) ||
		    (json_object_object_get_ex(m, "alias", &alias) &&
		     streq(json_object_get_string(alias), type)))
			snprintf(out, len, "%s", json_object_get_string(name));
	}
	json_object_put(ret);
	if (r == 0 && !out[0])
		r = drover_fail(err, -ENOENT, "QEMU knows no machine type '%s'", type);
	return r;
}

int vm_state_cpu(int pid, char *out, size_t len)
{
	char path[64], *argv = NULL;
	size_t n = 0;
	FILE *f;
	int r = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* NUL-separated arguments: the one after "-cpu" */
	for (bool next = false; getdelim(&argv, &n, '\0', f) > 0;) {
		if (next) {
			snprintf(out, len, "%s", argv);
			r = 0;
			break;
		}
		next = streq(argv, "-cpu");
	}
	free(argv);
	fclose(f);
	return r;
}
