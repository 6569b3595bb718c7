/* SPDX-License-Identifier: MIT */
/*
 * The node's status and its guests' state, published every tick. The
 * guest list is the vmlist's entries of this node, fetched again only
 * when droverfs's vmlist version changed; each guest's state is read
 * from the host (guest_runtime.h), its CPU use is the difference to the
 * previous tick.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "basic/array.h"
#include "basic/log.h"
#include "basic/procstat.h"
#include "basic/util.h"
#include "droverd.h"
#include "libdrover/cfs/kv.h"

/* The vmlist's version, from droverfs's .version document; -errno on failure. */
static int vmlist_version(struct ipc_client *c, uint64_t *version)
{
	struct buf b = BUF_INIT;
	struct json_object *o = NULL, *v;
	int r = cfs_get_json(c, IPC_GET_VERSION, &b);

	if (r == 0) {
		o = json_tokener_parse((char *)b.data);
		r = o && json_object_object_get_ex(o, "vmlist", &v) ? 0 : -EBADMSG;
		if (r == 0)
			*version = json_object_get_uint64(v);
	}
	json_object_put(o);
	buf_free(&b);
	return r;
}

/* The previous sample of vmid, to carry over; NULL if new. */
static const struct droverd_guest *previous(const struct droverd *d, uint32_t vmid)
{
	for (size_t i = 0; i < d->nguests; i++)
		if (d->guests[i].vmid == vmid)
			return &d->guests[i];
	return NULL;
}

static int cmp_guest(const void *a, const void *b)
{
	uint32_t x = ((const struct droverd_guest *)a)->vmid;
	uint32_t y = ((const struct droverd_guest *)b)->vmid;

	return x < y ? -1 : x > y;
}

/* Replace the guest list with the vmlist's guests of this node. */
static int load_guests(struct droverd *d, struct ipc_client *c)
{
	struct buf b = BUF_INIT;
	struct json_object *o = NULL, *ids;
	struct droverd_guest *v = NULL;
	size_t n = 0, cap = 0;
	int r = cfs_get_json(c, IPC_GET_VMLIST, &b);

	if (r == 0) {
		o = json_tokener_parse((char *)b.data);
		if (!o || !json_object_object_get_ex(o, "ids", &ids))
			r = -EBADMSG;
	}
	if (r == 0) {
		json_object_object_foreach(ids, id, info)
		{
			struct json_object *node, *type;
			const struct droverd_guest *old;
			uint32_t vmid;

			if (vmid_parse_n(id, strlen(id), &vmid) < 0 ||
			    !json_object_object_get_ex(info, "node", &node) ||
			    !json_object_object_get_ex(info, "type", &type) ||
			    !streq(json_object_get_string(node), d->node))
				continue;
			if (ARRAY_GROW(v, cap, n + 1) < 0) {
				r = -ENOMEM;
				break;
			}
			old = previous(d, vmid);
			v[n] = old ? *old : (struct droverd_guest){ .vmid = vmid };
			v[n].type =
				streq(json_object_get_string(type), "lxc") ? GUEST_LXC : GUEST_QEMU;
			n++;
		}
	}
	json_object_put(o);
	buf_free(&b);
	if (r < 0) {
		free(v);
		return r;
	}
	qsort(v, n, sizeof(*v), cmp_guest);
	free(d->guests);
	d->guests = v;
	d->nguests = n;
	return 0;
}

static int refresh_guests(struct droverd *d, struct ipc_client *c)
{
	uint64_t version = 0;
	int r = vmlist_version(c, &version);

	if (r < 0 || (d->vmlist_known && version == d->vmlist_version))
		return r;
	r = load_guests(d, c);
	if (r == 0) {
		d->vmlist_version = version;
		d->vmlist_known = true;
		log_debug("guest list: %zu guests on this node", d->nguests);
	}
	return r;
}

static void sample_node(struct droverd *d, struct node_status *st)
{
	struct sysstat s;

	memset(st, 0, sizeof(*st));
	st->time = now_wall_s();
	if (sysstat_read(&s) < 0)
		return;
	st->uptime_s = (uint64_t)s.uptime_s;
	st->cpus = s.cpus;
	memcpy(st->load, s.load, sizeof(st->load));
	st->mem_total = s.mem_total;
	st->mem_used = s.mem_total - MIN(s.mem_available, s.mem_total);
	st->swap_total = s.swap_total;
	st->swap_used = s.swap_total - MIN(s.swap_free, s.swap_total);
	if (d->cpu_total && s.cpu_total > d->cpu_total)
		st->cpu = (double)(s.cpu_busy - MIN(d->cpu_busy, s.cpu_busy)) /
			  (double)(s.cpu_total - d->cpu_total);
	d->cpu_busy = s.cpu_busy;
	d->cpu_total = s.cpu_total;
}

/*
 * A cleanup runs at once and, if leftovers remain (its task failed: the
 * guest lock was busy, say), once more three ticks later: never a task per tick.
 */
#define CLEANUP_RETRY_TICKS 3
#define CLEANUP_TICKS (2 * CLEANUP_RETRY_TICKS)

static void sample_guest(struct droverd *d, struct droverd_guest *g, struct qemu_proc_index *procs,
			 struct guest_status *out)
{
	struct guest_runtime rt;
	uint64_t now = now_monotonic_ns();

	memset(out, 0, sizeof(*out));
	out->vmid = g->vmid;
	out->type = g->type;
	if (guest_runtime_get(&d->ops, g->type, g->vmid, procs, &rt) < 0 || !rt.running) {
		/* gone since the last tick, or first seen stopped: anything left behind? */
		if (g->pid || !g->looked) {
			g->cleanup_ticks = CLEANUP_TICKS;
			g->cleanup_first_look = !g->pid;
		}
		if (g->cleanup_ticks && g->cleanup_ticks-- % CLEANUP_RETRY_TICKS == 0 &&
		    !droverd_guest_cleanup(d, g, g->cleanup_first_look))
			g->cleanup_ticks = 0; /* nothing (more) left: done */
		g->pid = 0;
		g->looked = true;
		return;
	}
	g->looked = true;
	out->running = true;
	out->pid = rt.pid;
	out->uptime_s = rt.uptime_s;
	out->mem = rt.mem_bytes;
	/* the same process as last time: its CPU time grew by this much since */
	if (g->pid == rt.pid && g->sampled_ns && now > g->sampled_ns && rt.cpu_ns >= g->cpu_ns)
		out->cpu = (double)(rt.cpu_ns - g->cpu_ns) / (double)(now - g->sampled_ns);
	g->pid = rt.pid;
	g->cpu_ns = rt.cpu_ns;
	g->sampled_ns = now;
}

void droverd_status_tick(struct droverd *d)
{
	struct ipc_client *c = droverd_cfs(d);
	struct guest_status *g = NULL;
	struct qemu_proc_index *procs = NULL;
	struct node_status st;
	int r;

	if (!c)
		return;
	r = refresh_guests(d, c);
	if (r < 0) {
		droverd_cfs_lost(d, r);
		return;
	}
	sample_node(d, &st);
	g = calloc(d->nguests ? d->nguests : 1, sizeof(*g));
	if (!g)
		return;
	/*
	 * The tick's stopped VMs share one look at the processes (made only
	 * if one needs it); without an index (no memory) each looks itself.
	 */
	if (qemu_proc_index_new(NULL, &procs) < 0)
		log_debug("status: no memory for a process index, each VM looks by itself");
	for (size_t i = 0; i < d->nguests; i++)
		sample_guest(d, &d->guests[i], procs, &g[i]);
	qemu_proc_index_free(procs);
	r = node_status_publish(c, &st, g, d->nguests, &d->guest_chunks);
	if (r < 0)
		droverd_cfs_lost(d, r);
	free(g);
}

void droverd_status_free(struct droverd *d)
{
	free(d->guests);
	d->guests = NULL;
	d->nguests = 0;
}
