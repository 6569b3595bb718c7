/* SPDX-License-Identifier: MIT */
/* What a VM is doing: status of one (this node's), list of the cluster's. */
#include "vm.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "conf_edit.h"
#include "guest_list.h"
#include "guest_runtime.h"
#include "libdrover/cfs/ipc_client.h"
#include "libdrover/cfs/kv.h"
#include "libdrover/format/guest_drive.h"
#include "libdrover/node/status.h"

/* A published status older than this is from a droverd that stopped. */
#define STALE_S 60

static uint64_t memory_bytes(const char *v)
{
	uint64_t b = 0;

	if (!v)
		return 512ull << 20; /* Proxmox's default */
	if (parse_u64(v, UINT64_MAX >> 20, &b) == 0)
		return b << 20; /* MiB */
	return guest_size_parse(v, &b) == 0 ? b : 0;
}

static int add_size(void *ctx, const char *key, const char *value, unsigned index)
{
	uint64_t *sum = ctx;
	struct guest_drive d;

	(void)index;
	if (guest_drive_parse(key, value, &d, NULL) == 0 && !d.cdrom)
		*sum += d.size;
	return 0;
}

static void from_conf(struct guest_conf *c, struct vm_status *st)
{
	struct guest_section *cur = guest_conf_current(c);
	const char *name = guest_get(cur, "name"), *lock = guest_get(cur, "lock");
	const char *cores = guest_get(cur, "cores"), *sockets = guest_get(cur, "sockets");
	static const char *const buses[] = { "ide", "sata", "scsi", "virtio" };

	snprintf(st->name, sizeof(st->name), "%s", name ? name : "");
	snprintf(st->lock, sizeof(st->lock), "%s", lock ? lock : "");
	st->maxmem = memory_bytes(guest_get(cur, "memory"));
	st->cpus = (unsigned)((cores ? atoi(cores) : 1) * (sockets ? atoi(sockets) : 1));
	for (size_t i = 0; i < sizeof(buses) / sizeof(buses[0]); i++)
		guest_each_numbered(cur, buses[i], 32, add_size, &st->maxdisk);
}

/* ix: vm_list's index of the node's QEMUs, NULL for one VM. */
static void runtime_of(const struct vm_env *e, struct vm_status *st, struct qemu_proc_index *ix)
{
	struct guest_runtime rt;

	if (qemu_runtime_read(e->run_dir, st->vmid, ix, &rt) < 0 || !rt.running)
		return;
	st->running = true;
	st->pid = rt.pid;
	st->uptime_s = rt.uptime_s;
	st->mem = rt.mem_bytes;
	st->cpu_s = (double)rt.cpu_ns / 1e9;
}

int vm_status_get(const struct vm_env *e, uint32_t vmid, bool verbose, struct vm_status *st,
		  struct drover_err *err)
{
	struct guest_conf *c = NULL;
	struct qmp *q = NULL;
	int r = vm_config(e, vmid, &c, err);

	memset(st, 0, sizeof(*st));
	if (r < 0)
		return r;
	st->vmid = vmid;
	snprintf(st->node, sizeof(st->node), "%s", e->st.cfs.node);
	from_conf(c, st);
	guest_conf_free(c);
	runtime_of(e, st, NULL);
	if (verbose && st->running && vm_qmp_open(e, vmid, &q, NULL) == 0) {
		qmp_query_status(q, VM_QMP_TIMEOUT_MS, st->qmpstatus, sizeof(st->qmpstatus), NULL);
		qmp_close(q);
	}
	return 0;
}

/* ---- list ---- */

/* Another node's VM: its state as that node's droverd published it. */
static void published(struct guest_published *pub, struct ipc_client *cl, struct vm_status *st)
{
	struct guest_status g;
	int64_t time = 0;
	int r = guest_published_find(pub, cl, st->node, st->vmid, GUEST_QEMU, &g, &time);

	if (r < 0) {
		st->unknown = true;
		return;
	}
	st->stale = now_wall_s() - time > STALE_S;
	if (r == 1) {
		st->running = g.running;
		st->pid = g.pid;
		st->uptime_s = g.uptime_s;
		st->mem = g.mem;
	}
}

int vm_list(const struct vm_env *e, struct vm_status **out, size_t *n, struct drover_err *err)
{
	struct guest_published pub = { 0 };
	struct guest_listed *v = NULL;
	struct qemu_proc_index *ix = NULL;
	struct ipc_client cl;
	size_t nv = 0;
	int r;

	*out = NULL;
	*n = 0;
	r = ipc_client_connect(&cl, e->socket);
	if (r < 0)
		return ipc_client_unreachable(err, e->socket, r);
	r = cfs_ipc_set_timeout(&cl, 10000);
	if (r < 0)
		r = drover_fail(err, r, "droverfs socket: %s", strerror(-r));
	else
		r = guest_list_read(&cl, GUEST_QEMU, &v, &nv, err);
	if (r == 0 && nv && !(*out = calloc(nv, sizeof(**out))))
		r = drover_fail(err, -ENOMEM, "out of memory");
	/* this node's stopped VMs share one look at its processes (none without memory) */
	if (r == 0)
		(void)qemu_proc_index_new(NULL, &ix);
	for (size_t i = 0; i < nv && r == 0; i++) {
		struct vm_status *st = &(*out)[i];

		st->vmid = v[i].vmid;
		snprintf(st->node, sizeof(st->node), "%s", v[i].node);
		if (v[i].conf)
			from_conf(v[i].conf, st);
		if (streq(st->node, e->st.cfs.node))
			runtime_of(e, st, ix);
		else
			published(&pub, &cl, st);
	}
	if (r == 0)
		*n = nv;
	qemu_proc_index_free(ix);
	guest_published_free(&pub);
	guest_listed_free(v, nv);
	ipc_client_close(&cl);
	return r;
}
