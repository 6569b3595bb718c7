/* SPDX-License-Identifier: MIT */
/* What a VM is doing: status of one (this node's), list of the cluster's. */
#include "vm.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/array.h"
#include "basic/util.h"
#include "conf_edit.h"
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

static void runtime_of(const struct vm_env *e, struct vm_status *st)
{
	struct guest_runtime rt;

	if (qemu_runtime_read(e->run_dir, st->vmid, &rt) < 0 || !rt.running)
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
	runtime_of(e, st);
	if (verbose && st->running && vm_qmp_open(e, vmid, &q, NULL) == 0) {
		qmp_query_status(q, VM_QMP_TIMEOUT_MS, st->qmpstatus, sizeof(st->qmpstatus), NULL);
		qmp_close(q);
	}
	return 0;
}

/* ---- list ---- */

struct node_state {
	char node[NODE_NAME_MAX + 1];
	int have; /* 0, or -errno: nothing published */
	int64_t time;
	struct guest_status *g;
	size_t ng;
};

static const struct node_state *state_of_node(struct ipc_client *cl, struct node_state **v,
					      size_t *n, const char *node)
{
	struct node_state *nv, *s;
	struct node_status ns;

	for (size_t i = 0; i < *n; i++)
		if (streq((*v)[i].node, node))
			return &(*v)[i];
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return NULL;
	*v = nv;
	s = &nv[(*n)++];
	memset(s, 0, sizeof(*s));
	snprintf(s->node, sizeof(s->node), "%s", node);
	s->have = node_status_read(cl, node, &ns, &s->g, &s->ng);
	s->time = s->have == 0 ? ns.time : 0;
	return s;
}

static void published(const struct node_state *s, struct vm_status *st)
{
	if (!s || s->have < 0) {
		st->unknown = true;
		return;
	}
	st->stale = now_wall_s() - s->time > STALE_S;
	for (size_t i = 0; i < s->ng; i++)
		if (s->g[i].vmid == st->vmid && s->g[i].type == GUEST_QEMU) {
			st->running = s->g[i].running;
			st->pid = s->g[i].pid;
			st->uptime_s = s->g[i].uptime_s;
			st->mem = s->g[i].mem;
			return;
		}
}

static int cmp_vmid(const void *a, const void *b)
{
	const struct vm_status *x = a, *y = b;

	return x->vmid < y->vmid ? -1 : x->vmid > y->vmid;
}

static int one(const struct vm_env *e, struct ipc_client *cl, struct node_state **nodes, size_t *nn,
	       uint32_t vmid, const char *node, struct vm_status *st)
{
	char rel[PATH_MAX], path[PATH_MAX];
	struct guest_conf *c = NULL;

	memset(st, 0, sizeof(*st));
	st->vmid = vmid;
	snprintf(st->node, sizeof(st->node), "%s", node);
	if (guest_conf_relpath(node, GUEST_QEMU, vmid, rel, sizeof(rel)) == 0 &&
	    cfs_path(&e->st.cfs, rel, path, sizeof(path)) == 0 &&
	    guest_conf_load(GUEST_QEMU, path, &c, NULL) == 0) {
		from_conf(c, st);
		guest_conf_free(c);
	}
	if (streq(node, e->st.cfs.node))
		runtime_of(e, st);
	else
		published(state_of_node(cl, nodes, nn, node), st);
	return 0;
}

int vm_list(const struct vm_env *e, struct vm_status **out, size_t *n, struct drover_err *err)
{
	struct json_object *list = NULL, *ids;
	struct node_state *nodes = NULL;
	struct ipc_client cl;
	struct buf b = BUF_INIT;
	size_t nn = 0, cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	r = ipc_client_connect(&cl, e->socket);
	if (r < 0)
		return ipc_client_unreachable(err, e->socket, r);
	r = cfs_ipc_set_timeout(&cl, 10000);
	if (r == 0)
		r = cfs_get_json(&cl, IPC_GET_VMLIST, &b);
	if (r == 0) {
		list = json_tokener_parse((char *)b.data);
		if (!list || !json_object_object_get_ex(list, "ids", &ids))
			r = -EPROTO;
	}
	buf_free(&b);
	if (r < 0) {
		ipc_client_close(&cl);
		json_object_put(list);
		return drover_fail(err, r, "reading the guest list: %s", strerror(-r));
	}
	json_object_object_foreach(ids, id, info)
	{
		struct json_object *jnode, *jtype;
		uint32_t vmid;

		if (vmid_parse_n(id, strlen(id), &vmid) < 0 ||
		    !json_object_object_get_ex(info, "node", &jnode) ||
		    !json_object_object_get_ex(info, "type", &jtype) ||
		    !streq(json_object_get_string(jtype), "qemu"))
			continue;
		if (ARRAY_GROW(*out, cap, *n + 1) < 0) {
			r = drover_fail(err, -ENOMEM, "out of memory");
			break;
		}
		one(e, &cl, &nodes, &nn, vmid, json_object_get_string(jnode), &(*out)[(*n)++]);
	}
	for (size_t i = 0; i < nn; i++)
		free(nodes[i].g);
	free(nodes);
	json_object_put(list);
	ipc_client_close(&cl);
	if (r < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
		return r;
	}
	if (*n)
		qsort(*out, *n, sizeof(**out), cmp_vmid);
	return 0;
}
