/* SPDX-License-Identifier: MIT */
/*
 * A node's status as droverd publishes it every few seconds in droverfs's
 * status store, so that any node can show the whole cluster (`drover node
 * status`, and `drover vm list`/`drover ct list`):
 *
 *   key "status":   {"time": 1700000000, "uptime": 3600, "cpus": 2,
 *                    "cpu": 0.12, "loadavg": [0.5, 0.4, 0.3],
 *                    "memory": {"total": N, "used": N},
 *                    "swap": {"total": N, "used": N}, "guest_chunks": 1}
 *   keys "guests/0", "guests/1", ...: at most NODE_GUESTS_PER_CHUNK each
 *                   [{"vmid": 100, "type": "qemu", "status": "running",
 *                     "pid": 1234, "uptime": 55, "cpu": 0.013,
 *                     "mem": 262144000}, ...]
 *
 * (a status store value holds at most 32 KiB). "cpu" of the node is the
 * share of all its CPUs that was busy since the last sample; a guest's is
 * in CPUs (1.0: one CPU busy). A reader that finds "time" old knows the
 * node stopped publishing.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/buf.h"
#include "libdrover/cfs/ipc_client.h"
#include "libdrover/error.h"
#include "libdrover/format/names.h"

#define NODE_STATUS_KEY "status"
#define NODE_GUESTS_KEY "guests/" /* + chunk number */
#define NODE_GUESTS_PER_CHUNK 200

struct node_status {
	int64_t time; /* when it was taken (epoch seconds) */
	uint64_t uptime_s;
	unsigned cpus;
	double cpu; /* 0..1 of all CPUs */
	double load[3];
	uint64_t mem_total, mem_used;
	uint64_t swap_total, swap_used;
	unsigned guest_chunks;
};

struct guest_status {
	uint32_t vmid;
	enum guest_type type;
	bool running;
	int pid;
	uint64_t uptime_s;
	double cpu; /* CPUs busy */
	uint64_t mem; /* bytes */
};

/* The JSON texts (the caller frees *out). Returns 0 or -ENOMEM. */
int node_status_to_json(const struct node_status *st, char **out);
int guest_status_to_json(const struct guest_status *g, size_t n, char **out);

/*
 * Parse them. Missing fields read as 0; a wrong type, or guests that are
 * not (a bad VMID or type), are refused: -EINVAL. Guests are appended to
 * *v (the caller frees it).
 */
int node_status_from_json(const char *text, struct node_status *st);
int guest_status_from_json(const char *text, struct guest_status **v, size_t *n);

/*
 * Publish st and its guests: the guest chunks first, then the status
 * (with the chunk count), then delete the chunks of an earlier, longer
 * list (*chunks: the count published last time, updated). Returns 0 or
 * -errno.
 */
int node_status_publish(struct ipc_client *c, struct node_status *st, const struct guest_status *g,
			size_t n, unsigned *chunks);

/*
 * Read node's status and guests (appended to *g, the caller frees it).
 * Returns 0, -ENOENT (the node published nothing) or -errno.
 */
int node_status_read(struct ipc_client *c, const char *node, struct node_status *st,
		     struct guest_status **g, size_t *n);

/* A node of the cluster as droverfs's .members shows it. */
struct cluster_node {
	char name[NODE_NAME_MAX + 1];
	bool online;
	bool self;
	char addr[64]; /* its address as .members has it ("" in local mode) */
};

/*
 * The nodes of the cluster (local mode: this node alone), from droverfs's
 * members JSON, sorted by name. Returns 0 or -errno (-EINVAL: not that JSON).
 */
int cluster_nodes_from_json(const char *text, struct cluster_node **v, size_t *n);

/* The same, asked of droverfs. */
int cluster_nodes_get(struct ipc_client *c, struct cluster_node **v, size_t *n);

/* A status older than this is from a droverd that stopped publishing. */
#define NODE_STATUS_STALE_S 60

/* A node of the cluster and what it published. */
struct node_view {
	struct cluster_node node;
	int have; /* 0, or -errno: nothing published */
	struct node_status st;
	struct guest_status *g;
	size_t ng;
};

/*
 * Every node of the cluster with its published status and guests, sorted
 * by name (free with node_views_free). Returns 0 or -errno (the nodes
 * could not be read); a node that published nothing has have < 0.
 */
int node_views_get(struct ipc_client *c, struct node_view **v, size_t *n);
/* The same through droverfs at socket (NULL: the default); -errno with err. */
int node_views_read(const char *socket, struct node_view **v, size_t *n, struct drover_err *err);
void node_views_free(struct node_view *v, size_t n);

/* "offline", "no-status", "stale" (nothing for NODE_STATUS_STALE_S) or "online". */
const char *node_view_state(const struct node_view *v, int64_t now);
