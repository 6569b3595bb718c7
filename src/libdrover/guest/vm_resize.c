/* SPDX-License-Identifier: MIT */
/* Growing a VM's disk: the volume, a running QEMU's view of it, the config's size=. */
#include "vm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/buf.h"
#include "basic/util.h"
#include "conf_edit.h"
#include "libdrover/format/guest_drive.h"

struct resize {
	const struct vm_env *e;
	uint32_t vmid;
	const char *disk;
	const char *size;
	const struct drover_reporter *log;
};

/* value with its size= item replaced by (or given) size. */
static int with_size(const char *value, const char *size, char **out)
{
	struct buf b = BUF_INIT;
	const char *p = value;
	int r = 0;

	while (r == 0 && *p) {
		size_t n = strcspn(p, ",");

		if (!(n > 5 && strncmp(p, "size=", 5) == 0))
			r = buf_printf(&b, "%s%.*s", b.len ? "," : "", (int)n, p);
		p += n + (p[n] == ',');
	}
	if (r == 0)
		r = buf_printf(&b, ",size=%s", size);
	if (r == 0)
		r = buf_terminate(&b);
	if (r < 0) {
		buf_free(&b);
		return r;
	}
	*out = (char *)b.data;
	return 0;
}

static int new_size(const char *text, uint64_t cur, uint64_t *size, struct drover_err *err)
{
	bool grow = text[0] == '+';
	uint64_t v;

	if (guest_size_parse(text + grow, &v) < 0 || v == 0)
		return drover_fail(err, -EINVAL, "bad size '%s' (e.g. +1G or 10G)", text);
	*size = grow ? cur + v : v;
	if (*size < cur)
		return drover_fail(err, -EINVAL,
				   "shrinking a disk is not supported (%s is %" PRIu64 " bytes)",
				   text, cur);
	return 0;
}

static int resize_locked(struct guest_conf *c, void *arg, struct drover_err *err)
{
	struct resize *z = arg;
	struct guest_section *cur = guest_conf_current(c);
	const char *value = guest_get(cur, z->disk);
	struct storage_volume info;
	struct guest_drive d;
	struct qmp *q = NULL;
	char sz[32], node[32], *nv = NULL;
	uint64_t size = 0;
	int r;

	if (!value)
		return drover_fail(err, -ENOENT, "VM %" PRIu32 " has no disk %s", z->vmid, z->disk);
	r = guest_drive_parse(z->disk, value, &d, err);
	if (r == 0 && (d.cdrom || d.kind != GUEST_VOLUME_STORAGE))
		r = drover_fail(err, -EINVAL, "%s is not a storage volume", z->disk);
	if (r == 0)
		r = storage_volume_info(&z->e->st, d.volume, &info, err);
	if (r == 0)
		r = new_size(z->size, info.size, &size, err);
	if (r == 0)
		r = storage_resize(&z->e->st, d.volume, size, err);
	if (r < 0)
		return r;
	guest_size_format(size, sz, sizeof(sz));
	drover_report_log(z->log, "%s: %s resized to %s", z->disk, d.volume, sz);
	if (vm_running(z->e, z->vmid, NULL) && vm_qmp_open(z->e, z->vmid, &q, err) == 0) {
		struct json_object *args = json_object_new_object();

		snprintf(node, sizeof(node), "drive-%s", z->disk);
		json_object_object_add(args, "node-name", json_object_new_string(node));
		json_object_object_add(args, "size", json_object_new_int64((int64_t)size));
		r = qmp_execute(q, "block_resize", args, VM_QMP_TIMEOUT_MS, NULL, err);
		json_object_put(args);
		qmp_close(q);
		if (r < 0)
			return drover_fail_prefix(err, r, "telling QEMU about %s's new size",
						  z->disk);
	}
	r = with_size(value, sz, &nv);
	if (r < 0)
		return drover_fail(err, r, "out of memory");
	r = guest_set(cur, z->disk, nv, err);
	free(nv);
	return r;
}

int vm_resize(const struct vm_env *e, uint32_t vmid, const char *disk, const char *size,
	      const struct drover_reporter *log, struct drover_err *err)
{
	struct resize z = { e, vmid, disk, size, log };

	return guest_conf_update_at(&e->st.cfs, GUEST_QEMU, vmid, NULL, resize_locked, &z, err);
}
