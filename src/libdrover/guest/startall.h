/* SPDX-License-Identifier: MIT */
/*
 * A node's guests as a whole (Proxmox's startall and stopall): the cold
 * start of the guests with onboot: 1 in startup order, waiting each one's
 * up= seconds before the next, and the stop of every running guest in the
 * reverse order, each shutdown given its down= seconds (or a default)
 * before it is stopped hard. Locked guests are not started (a log line
 * says so); stopping ignores locks, as the node is going down.
 *
 * The order and the log lines are decided here, on a list of guests and a
 * table of hooks, so a unit test can check them without guests or time;
 * guests_all_task_hooks() gives the hooks droverd uses: each guest's start
 * or shutdown runs as a task of its own (qmstart, vzshutdown, ...).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "libdrover/cfs/ipc_client.h"
#include "libdrover/error.h"
#include "libdrover/report.h"
#include "libdrover/task/startup_order.h"
#include "libdrover/task/task.h"
#include "ops.h"

/* Proxmox's default for a guest's shutdown during stopall. */
#define GUESTS_STOP_TIMEOUT_DEFAULT 180

struct node_guest {
	struct startup_guest s; /* vmid, type, onboot, order, up, down */
	char lock[32]; /* the config's lock: value, "" for none */
};

struct guests_all_hooks {
	/* Start g and wait until it runs (or failed). 0 or -errno with err. */
	int (*start)(void *ctx, const struct node_guest *g, struct drover_err *err);
	/* Shut g down within timeout_s, then stop it hard. 0 or -errno with err. */
	int (*shutdown)(void *ctx, const struct node_guest *g, unsigned timeout_s,
			struct drover_err *err);
	/* Does g run now? */
	bool (*running)(void *ctx, const struct node_guest *g);
	/* Wait seconds (an up= delay). false: interrupted, give up. */
	bool (*sleep)(void *ctx, unsigned seconds);
	/* Should the run stop (the task was asked to)? NULL: never. */
	bool (*interrupted)(void *ctx);
	void *ctx;
};

/*
 * Start the onboot guests of g (sorted here) one after the other. A guest
 * that fails is logged and the next one started. Returns 0, -EIO (err:
 * how many failed), or -EINTR when interrupted.
 */
int guests_startall(struct node_guest *g, size_t n, const struct guests_all_hooks *h,
		    const struct drover_reporter *log, struct drover_err *err);

/* Shut down every running guest of g in reverse start order. Returns as guests_startall. */
int guests_stopall(struct node_guest *g, size_t n, unsigned default_timeout_s,
		   const struct guests_all_hooks *h, const struct drover_reporter *log,
		   struct drover_err *err);

/*
 * This node's guests from droverfs: the vmlist's entries of node, each
 * config read and parsed. A config that does not parse is logged and left
 * out (it cannot say whether it should start). *v: the caller frees it.
 */
int node_guests_load(struct ipc_client *c, const char *node, struct node_guest **v, size_t *n,
		     const struct drover_reporter *log, struct drover_err *err);

/* What the task hooks need. */
struct guests_task_ctx {
	const struct task_env *env;
	const struct guest_ops_table *ops;
	/*
	 * The pass's index of QEMU processes for the running hook (see
	 * qemu_proc_index_new()), NULL: each VM looks by itself.
	 * guests_all_run() makes one for its pass.
	 */
	struct qemu_proc_index *procs;
};

/*
 * Hooks for a task worker (startall, stopall): every start and shutdown
 * runs as a task of its own (qmstart/vzstart, qmshutdown/vzshutdown with
 * the VMID), waited for; a stop signal to the worker is passed on to it.
 */
void guests_all_task_hooks(struct guests_task_ctx *ctx, struct guests_all_hooks *h);

/* A whole startall or stopall, as a task worker runs it. */
struct guests_all_run {
	const struct guests_task_ctx *tasks;
	const char *node; /* this node */
	bool stop; /* stopall (else startall) */
	unsigned stop_timeout_s; /* stopall: a guest's shutdown without down= */
	/*
	 * stopall when droverfs cannot give the configs: these guests (no
	 * order, default timeouts) instead; NULL: fail.
	 */
	const struct node_guest *fallback;
	size_t nfallback;
};

/*
 * Read this node's guests from droverfs (env's socket) on a connection of
 * its own and start or stop them (guests_startall/guests_stopall with the
 * task hooks). Returns as those, or -errno with err.
 */
int guests_all_run(const struct guests_all_run *run, const struct drover_reporter *log,
		   struct drover_err *err);
