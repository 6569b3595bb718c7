/* SPDX-License-Identifier: MIT */
#include "startall.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "basic/array.h"
#include "basic/util.h"
#include "libdrover/cfs/kv.h"
#include "libdrover/format/guest_conf.h"

static bool interrupted(const struct guests_all_hooks *h)
{
	return h->interrupted && h->interrupted(h->ctx);
}

static int cmp_start(const void *a, const void *b)
{
	return startup_cmp_start(&((const struct node_guest *)a)->s,
				 &((const struct node_guest *)b)->s);
}

static int cmp_stop(const void *a, const void *b)
{
	return cmp_start(b, a);
}

static int outcome(struct drover_err *err, unsigned failed, unsigned tried, const char *what)
{
	if (!failed)
		return 0;
	return drover_fail(err, -EIO, "%u of %u guests failed to %s", failed, tried, what);
}

int guests_startall(struct node_guest *g, size_t n, const struct guests_all_hooks *h,
		    const struct drover_reporter *log, struct drover_err *err)
{
	unsigned failed = 0, tried = 0, delay = 0;

	qsort(g, n, sizeof(*g), cmp_start);
	for (size_t i = 0; i < n; i++) {
		const char *kind = guest_kind(g[i].s.type);
		uint32_t vmid = g[i].s.vmid;
		struct drover_err e = { "" };

		if (!g[i].s.onboot)
			continue;
		if (g[i].lock[0]) {
			drover_report_log(log, "Skipping %s %" PRIu32 ": it is locked (%s)", kind,
					  vmid, g[i].lock);
			continue;
		}
		if (h->running(h->ctx, &g[i]))
			continue;
		/* the previous guest's up= delay, now that another one is to start */
		if (delay) {
			drover_report_log(log, "Waiting for %u seconds (startup delay)", delay);
			if (!h->sleep(h->ctx, delay))
				return drover_fail(err, -EINTR, "interrupted");
		}
		if (interrupted(h))
			return drover_fail(err, -EINTR, "interrupted");
		drover_report_log(log, "Starting %s %" PRIu32, kind, vmid);
		tried++;
		delay = 0;
		if (h->start(h->ctx, &g[i], &e) < 0) {
			drover_report_log(log, "Starting %s %" PRIu32 " failed: %s", kind, vmid,
					  e.text[0] ? e.text : "unknown error");
			failed++;
			continue;
		}
		delay = startup_up_delay(&g[i].s);
	}
	return outcome(err, failed, tried, "start");
}

int guests_stopall(struct node_guest *g, size_t n, unsigned default_timeout_s,
		   const struct guests_all_hooks *h, const struct drover_reporter *log,
		   struct drover_err *err)
{
	unsigned failed = 0, tried = 0;

	qsort(g, n, sizeof(*g), cmp_stop);
	for (size_t i = 0; i < n; i++) {
		const char *kind = guest_kind(g[i].s.type);
		unsigned timeout = startup_down_timeout(&g[i].s, default_timeout_s);
		struct drover_err e = { "" };

		if (!h->running(h->ctx, &g[i]))
			continue;
		if (interrupted(h))
			return drover_fail(err, -EINTR, "interrupted");
		drover_report_log(log, "Stopping %s %" PRIu32 " (timeout = %u seconds)", kind,
				  g[i].s.vmid, timeout);
		tried++;
		if (h->shutdown(h->ctx, &g[i], timeout, &e) < 0) {
			drover_report_log(log, "Stopping %s %" PRIu32 " failed: %s", kind,
					  g[i].s.vmid, e.text[0] ? e.text : "unknown error");
			failed++;
		}
	}
	return outcome(err, failed, tried, "stop");
}

/* One guest's config into g. Returns 0 or -errno with err. */
static int load_one(struct ipc_client *c, const char *node, enum guest_type type, uint32_t vmid,
		    struct node_guest *g, struct drover_err *err)
{
	struct buf text = BUF_INIT;
	struct guest_conf *conf = NULL;
	const char *lock;
	char path[256];
	int r;

	guest_conf_relpath(node, type, vmid, path, sizeof(path));
	r = cfs_read_file(c, path, &text);
	if (r < 0)
		return drover_fail(err, r, "%s: %s", path, strerror(-r));
	r = guest_conf_parse(type, path, (char *)text.data, text.len, &conf, err);
	if (r == 0)
		r = startup_guest_from_conf(conf, vmid, &g->s, err);
	if (r == 0) {
		lock = guest_get(guest_conf_current(conf), "lock");
		snprintf(g->lock, sizeof(g->lock), "%s", lock ? lock : "");
	}
	guest_conf_free(conf);
	buf_free(&text);
	return r;
}

static int push(struct node_guest **v, size_t *n, size_t *cap, const struct node_guest *g)
{
	if (array_grow((void **)v, cap, *n + 1, sizeof(**v)) < 0)
		return -ENOMEM;
	(*v)[(*n)++] = *g;
	return 0;
}

int node_guests_load(struct ipc_client *c, const char *node, struct node_guest **v, size_t *n,
		     const struct drover_reporter *log, struct drover_err *err)
{
	struct json_object *list = NULL, *ids;
	struct buf b = BUF_INIT;
	size_t cap = 0;
	int r = cfs_get_json(c, IPC_GET_VMLIST, &b);

	*v = NULL;
	*n = 0;
	if (r < 0) {
		buf_free(&b);
		return drover_fail(err, r, "reading the guest list: %s", strerror(-r));
	}
	list = json_tokener_parse((char *)b.data);
	buf_free(&b);
	if (!list || !json_object_object_get_ex(list, "ids", &ids) ||
	    !json_object_is_type(ids, json_type_object)) {
		json_object_put(list);
		return drover_fail(err, -EINVAL, "droverfs sent a guest list that is not one");
	}
	json_object_object_foreach(ids, id, info)
	{
		struct json_object *jnode, *jtype;
		struct node_guest g = { 0 };
		struct drover_err e = { "" };
		enum guest_type type;
		uint32_t vmid;

		if (vmid_parse_n(id, strlen(id), &vmid) < 0 ||
		    !json_object_object_get_ex(info, "node", &jnode) ||
		    !json_object_object_get_ex(info, "type", &jtype) ||
		    !streq(json_object_get_string(jnode), node))
			continue;
		type = streq(json_object_get_string(jtype), "lxc") ? GUEST_LXC : GUEST_QEMU;
		if (load_one(c, node, type, vmid, &g, &e) < 0) {
			drover_report_log(log, "Skipping %s %" PRIu32 ": %s", guest_kind(type),
					  vmid, e.text);
			continue;
		}
		r = push(v, n, &cap, &g);
		if (r < 0)
			break;
	}
	json_object_put(list);
	if (r < 0) {
		free(*v);
		*v = NULL;
		*n = 0;
		return drover_fail(err, r, "out of memory");
	}
	return 0;
}

/* ---- the hooks of a task worker: each guest's start or shutdown as a task of its own ---- */

struct one_op {
	const struct guests_task_ctx *ctx;
	const struct node_guest *g;
	unsigned timeout_s;
};

static int op_start(void *arg, const struct drover_reporter *log, struct drover_err *err)
{
	struct one_op *o = arg;

	return guest_start(o->ctx->ops, o->g->s.type, o->g->s.vmid, log, err);
}

static int op_shutdown(void *arg, const struct drover_reporter *log, struct drover_err *err)
{
	struct one_op *o = arg;

	return guest_shutdown(o->ctx->ops, o->g->s.type, o->g->s.vmid, o->timeout_s, true, log,
			      err);
}

static int as_task(const struct guests_task_ctx *ctx, const char *type, task_fn fn,
		   struct one_op *o, struct drover_err *err)
{
	struct task_spec spec = { .type = type };
	struct task_worker w;
	char id[16], status[TASK_STATUS_MAX];
	int r;

	snprintf(id, sizeof(id), "%" PRIu32, o->g->s.vmid);
	spec.id = id;
	r = task_fork(ctx->env, &spec, fn, o, &w, err);
	if (r < 0)
		return r;
	r = task_wait(ctx->env, &w, status, sizeof(status));
	if (r < 0)
		return drover_fail(err, r, "task %s: %s", w.upid, strerror(-r));
	if (!streq(status, TASK_STATUS_OK))
		return drover_fail(err, -EIO, "%s", status);
	return 0;
}

static int hook_start(void *c, const struct node_guest *g, struct drover_err *err)
{
	struct one_op o = { c, g, 0 };

	return as_task(c, g->s.type == GUEST_LXC ? "vzstart" : "qmstart", op_start, &o, err);
}

static int hook_shutdown(void *c, const struct node_guest *g, unsigned timeout_s,
			 struct drover_err *err)
{
	struct one_op o = { c, g, timeout_s };

	return as_task(c, g->s.type == GUEST_LXC ? "vzshutdown" : "qmshutdown", op_shutdown, &o,
		       err);
}

static bool hook_running(void *c, const struct node_guest *g)
{
	const struct guests_task_ctx *ctx = c;
	struct guest_runtime rt;

	return guest_runtime_get(ctx->ops, g->s.type, g->s.vmid, ctx->procs, &rt) == 0 &&
	       rt.running;
}

static bool hook_sleep(void *c, unsigned seconds)
{
	struct timespec left = { seconds, 0 };

	while (nanosleep(&left, &left) < 0)
		if (errno != EINTR || task_interrupted())
			return false;
	return !task_interrupted();
}

static bool hook_interrupted(void *c)
{
	return task_interrupted();
}

void guests_all_task_hooks(struct guests_task_ctx *ctx, struct guests_all_hooks *h)
{
	*h = (struct guests_all_hooks){
		.start = hook_start,
		.shutdown = hook_shutdown,
		.running = hook_running,
		.sleep = hook_sleep,
		.interrupted = hook_interrupted,
		.ctx = ctx,
	};
}

/* This node's guests, read on a connection of our own (never a caller's, shared across fork). */
static int load_own(const struct guests_all_run *run, struct node_guest **g, size_t *n,
		    const struct drover_reporter *log, struct drover_err *err)
{
	struct ipc_client c;
	int r = cfs_ipc_connect(&c, run->tasks->env->cfs_socket, 30000);

	if (r < 0)
		return drover_fail(err, r, "droverfs: %s", strerror(-r));
	r = node_guests_load(&c, run->node, g, n, log, err);
	ipc_client_close(&c);
	return r;
}

int guests_all_run(const struct guests_all_run *run, const struct drover_reporter *log,
		   struct drover_err *err)
{
	struct guests_task_ctx ctx = *run->tasks;
	struct qemu_proc_index *own = NULL;
	struct guests_all_hooks hooks;
	struct node_guest *g = NULL;
	size_t n = 0;
	int r = load_own(run, &g, &n, log, err);

	if (r < 0 && run->stop && run->fallback) {
		drover_report_log(log, "%s; stopping the guests last seen, in VMID order",
				  err ? err->text : strerror(-r));
		n = run->nfallback;
		g = calloc(n ? n : 1, sizeof(*g));
		if (!g)
			return drover_fail(err, -ENOMEM, "out of memory");
		memcpy(g, run->fallback, n * sizeof(*g));
		r = 0;
	}
	if (r < 0)
		return r;
	/* the pass's stopped VMs share one look at the processes (none without memory) */
	if (!ctx.procs && qemu_proc_index_new(NULL, &ctx.procs) == 0)
		own = ctx.procs;
	guests_all_task_hooks(&ctx, &hooks);
	r = run->stop ? guests_stopall(g, n, run->stop_timeout_s, &hooks, log, err)
		      : guests_startall(g, n, &hooks, log, err);
	qemu_proc_index_free(own);
	free(g);
	return r;
}
