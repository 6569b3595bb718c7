/* SPDX-License-Identifier: MIT */
#include "corosync.h"

#include <corosync/cpg.h>
#include <corosync/quorum.h>
#include <corosync/votequorum.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libdrover/format/corosync_conf.h"
#include "basic/array.h"
#include "basic/hash.h"
#include "basic/hmap.h"
#include "basic/log.h"
#include "basic/util.h"
#include "basic/wire.h"
#include "droverfs/core/backup.h"
#include "conf_rollout.h"
#include "droverfs/shell/node_dirs.h"
#include "droverfs/replica/replica.h"
#include "droverfs/shell/status.h"
#include "droverfs/core/store.h"
#include "droverfs/shell/submit.h"

#define CPG_GROUP "drover_cfs_v1"
#define RETRY_SEND_US 2000
#define RECONNECT_US 1000000
/* How long a round waits for the quorum service to speak of the new ring. */
#define QUORUM_WAIT_US 3000000

struct inflight {
	struct hmap_node node;
	uint64_t reqid;
	cfs_done_fn done;
	void *ctx;
};

struct node_info {
	uint32_t nodeid;
	unsigned votes;
	char name[64];
	char addr[64];
};

struct cfs_corosync {
	struct cfs_daemon *d;
	struct cfs_replica *replica;

	cpg_handle_t cpg;
	bool cpg_up;
	quorum_handle_t quorum;
	bool quorum_up;
	votequorum_handle_t vq;
	bool vq_up;
	uint32_t nodeid;

	sd_event_source *cpg_io, *quorum_io;
	sd_event_source *retry_timer, *reconnect_timer, *verify_timer, *quorum_wait_timer;
	sd_event_source *ack_timer; /* own ops wait for their acks: ask everyone if too long */
	sd_event_source *send_source; /* sends the batch of own ops */

	/* Multicasts corosync could not take yet, in order. */
	struct buf *outq;
	size_t outq_head, outq_len, outq_cap;

	struct hmap inflight;
	uint64_t next_reqid;

	struct cpg_ring_id cpg_ring;
	bool cpg_ring_valid;
	struct quorum_ring_id quorum_ring;
	bool quorum_valid, quorate, forced;
	unsigned expected_votes; /* votequorum's, for safe acks (0: unknown) */

	/* The nodelist of the tree's corosync.conf, reparsed when it changes. */
	struct node_info *nodes;
	size_t nnodes, nodes_cap;
	uint64_t nodes_version;
	char cluster_name[64];
	uint64_t config_version;

	struct cfs_conf_rollout rollout;
};

/* ---- the tree's corosync.conf ---- */

static void load_nodelist(struct cfs_corosync *c)
{
	const struct cfs_entry *e = cfs_tree_corosync_conf(cfs_daemon_state(c->d));
	struct cc_error err;
	struct cc_node *root, *nodelist;
	const char *v, *text;
	size_t len;

	if (!e || e->version == c->nodes_version)
		return;
	text = cfs_entry_text(e, &len);
	c->nodes_version = e->version;
	free(c->nodes);
	c->nodes = NULL;
	c->nnodes = c->nodes_cap = 0;
	root = cc_parse(text, len, &err);
	if (!root) {
		log_warn("corosync.conf in the tree:%u: %s", err.line, err.text);
		return;
	}
	v = cc_get(root, "totem", "cluster_name");
	snprintf(c->cluster_name, sizeof(c->cluster_name), "%s", v ? v : "");
	c->config_version = cc_config_version(text, len);
	nodelist = cc_child(root, "nodelist");
	for (struct cc_node *n = nodelist ? nodelist->children : NULL; n; n = n->next) {
		struct node_info *ni;
		const char *id, *name, *addr, *votes;

		if (n->value || strcmp(n->name, "node") != 0)
			continue;
		id = cc_get(n, NULL, "nodeid");
		name = cc_get(n, NULL, "name");
		addr = cc_get(n, NULL, "ring0_addr");
		votes = cc_get(n, NULL, "quorum_votes");
		if (!id)
			continue;
		if (ARRAY_GROW(c->nodes, c->nodes_cap, c->nnodes + 1) < 0)
			break;
		ni = &c->nodes[c->nnodes++];
		ni->nodeid = (uint32_t)strtoul(id, NULL, 10);
		ni->votes = votes ? (unsigned)strtoul(votes, NULL, 10) : 1;
		snprintf(ni->name, sizeof(ni->name), "%s", name ? name : (addr ? addr : id));
		snprintf(ni->addr, sizeof(ni->addr), "%s", addr ? addr : "");
	}
	cc_free(root);
}

static const struct node_info *node_by_id(struct cfs_corosync *c, uint32_t nodeid)
{
	load_nodelist(c);
	for (size_t i = 0; i < c->nnodes; i++)
		if (c->nodes[i].nodeid == nodeid)
			return &c->nodes[i];
	return NULL;
}

static void node_name(struct cfs_corosync *c, uint32_t nodeid, char *out, size_t len)
{
	const struct node_info *n = node_by_id(c, nodeid);

	if (n)
		snprintf(out, len, "%s", n->name);
	else
		snprintf(out, len, "node%" PRIu32, nodeid);
}

static unsigned configured_votes(struct cfs_corosync *c)
{
	unsigned sum = 0;

	load_nodelist(c);
	for (size_t i = 0; i < c->nnodes; i++)
		sum += c->nodes[i].votes;
	return sum;
}

/* ---- sending ---- */

static int outq_push(struct cfs_corosync *c, const void *data, size_t len)
{
	if (c->outq_head + c->outq_len == c->outq_cap) {
		if (c->outq_head > 0) {
			memmove(c->outq, c->outq + c->outq_head, c->outq_len * sizeof(*c->outq));
			c->outq_head = 0;
		} else if (ARRAY_GROW(c->outq, c->outq_cap, c->outq_len + 1) < 0) {
			return -ENOMEM;
		}
	}
	c->outq[c->outq_head + c->outq_len] = (struct buf)BUF_INIT;
	if (buf_append(&c->outq[c->outq_head + c->outq_len], data, len) < 0)
		return -ENOMEM;
	c->outq_len++;
	return 0;
}

static cs_error_t mcast(struct cfs_corosync *c, const void *data, size_t len)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };

	return cpg_mcast_joined(c->cpg, CPG_TYPE_AGREED, &iov, 1);
}

static void arm_retry(struct cfs_corosync *c)
{
	uint64_t now;

	sd_event_now(c->d->event, CLOCK_MONOTONIC, &now);
	sd_event_source_set_time(c->retry_timer, now + RETRY_SEND_US);
	sd_event_source_set_enabled(c->retry_timer, SD_EVENT_ONESHOT);
}

/* Send what waits, in order. 0, or -EIO when the connection is broken. */
static int flush_outq(struct cfs_corosync *c)
{
	while (c->outq_len) {
		struct buf *b = &c->outq[c->outq_head];
		cs_error_t e = mcast(c, b->data, b->len);

		if (e == CS_ERR_TRY_AGAIN) {
			arm_retry(c);
			return 0;
		}
		if (e != CS_OK) {
			log_err("cluster: cannot multicast (corosync error %d)", e);
			return -EIO;
		}
		buf_free(b);
		c->outq_head++;
		c->outq_len--;
	}
	c->outq_head = 0;
	return 0;
}

static void outq_clear(struct cfs_corosync *c)
{
	for (size_t i = 0; i < c->outq_len; i++)
		buf_free(&c->outq[c->outq_head + i]);
	c->outq_head = c->outq_len = 0;
}

static int replica_send(void *ctx, const void *data, size_t len)
{
	struct cfs_corosync *c = ctx;
	cs_error_t e;

	if (!c->cpg_up)
		return -ENOTCONN;
	if (c->outq_len == 0) {
		e = mcast(c, data, len);
		if (e == CS_OK)
			return 0;
		if (e != CS_ERR_TRY_AGAIN) {
			log_err("cluster: cannot multicast (corosync error %d)", e);
			return -EIO;
		}
		arm_retry(c);
	}
	return outq_push(c, data, len);
}

static void replica_flush_soon(void *ctx)
{
	struct cfs_corosync *c = ctx;

	sd_event_source_set_enabled(c->send_source, SD_EVENT_ONESHOT);
}

static void cluster_flush(void *repl)
{
	struct cfs_corosync *c = repl;

	if (c->cpg_up)
		cfs_replica_flush(c->replica);
}

static int on_send(sd_event_source *s, void *userdata)
{
	cluster_flush(userdata);
	return 0;
}

static void cluster_committed(void *part)
{
	struct cfs_corosync *c = part;

	if (c->cpg_up)
		cfs_replica_committed(c->replica);
}

/* ---- completions and side channels ---- */

static void replica_op_done(void *ctx, uint64_t reqid, int result, const struct cfs_result *res)
{
	struct cfs_corosync *c = ctx;
	struct hmap_node *n;

	hmap_for_each_hash (n, &c->inflight, hash_mix64(reqid)) {
		struct inflight *f = container_of(n, struct inflight, node);

		if (f->reqid != reqid)
			continue;
		hmap_remove(&c->inflight, n);
		cfs_submit_complete(c->d, f->done, f->ctx, result, res);
		free(f);
		return;
	}
}

static void fail_inflight(struct cfs_corosync *c, int err)
{
	struct cfs_result res = { 0 };
	struct hmap_iter it;
	struct hmap_node *n;

	while ((n = hmap_iter_first(&it, &c->inflight))) {
		struct inflight *f = container_of(n, struct inflight, node);

		hmap_remove(&c->inflight, n);
		cfs_submit_complete(c->d, f->done, f->ctx, err, &res);
		free(f);
	}
}

static void replica_kv(void *ctx, uint32_t nodeid, const void *payload, size_t len)
{
	struct cfs_corosync *c = ctx;
	struct wire_reader r;
	char name[64], *key;
	const void *data;
	size_t size;

	if (nodeid == c->nodeid)
		return;
	wire_reader_init(&r, payload, len);
	key = wire_get_str(&r);
	data = wire_get_blob(&r, &size);
	node_name(c, nodeid, name, sizeof(name));
	if (key && data && r.error == 0)
		cfs_kvstore_set(&c->d->kv, name, key, data, size);
	free(key);
}

static void replica_log(void *ctx, uint32_t nodeid, const void *payload, size_t len)
{
	struct cfs_corosync *c = ctx;
	struct wire_reader r;
	struct cfs_clog_entry e = { 0 };

	if (nodeid == c->nodeid)
		return;
	wire_reader_init(&r, payload, len);
	e.uid = wire_get_u64(&r);
	e.time = (int64_t)wire_get_u64(&r);
	e.pid = wire_get_u32(&r);
	e.priority = wire_get_u8(&r);
	e.node = wire_get_str(&r);
	e.ident = wire_get_str(&r);
	e.tag = wire_get_str(&r);
	e.msg = wire_get_str(&r);
	if (r.error == 0)
		cfs_clusterlog_merge(&c->d->clog, &e);
	free(e.node);
	free(e.ident);
	free(e.tag);
	free(e.msg);
}

static void cluster_send_kv(void *repl, const char *key, const void *data, size_t len)
{
	struct cfs_corosync *c = repl;
	struct buf b = BUF_INIT;
	struct wire_writer w;

	wire_writer_init(&w, &b);
	wire_put_str(&w, key);
	wire_put_blob(&w, data, len);
	if (w.error == 0)
		cfs_replica_send_other(c->replica, CMSG_KV, b.data, b.len);
	buf_free(&b);
}

static void cluster_send_log(void *repl, const struct cfs_clog_entry *e)
{
	struct cfs_corosync *c = repl;
	struct buf b = BUF_INIT;
	struct wire_writer w;

	wire_writer_init(&w, &b);
	wire_put_u64(&w, e->uid);
	wire_put_u64(&w, (uint64_t)e->time);
	wire_put_u32(&w, e->pid);
	wire_put_u8(&w, e->priority);
	wire_put_str(&w, e->node);
	wire_put_str(&w, e->ident);
	wire_put_str(&w, e->tag);
	wire_put_str(&w, e->msg);
	if (w.error == 0)
		cfs_replica_send_other(c->replica, CMSG_LOG, b.data, b.len);
	buf_free(&b);
}

/* After a sync the group may hold nodes that never heard our status and log. */
static void resend_own_status(struct cfs_corosync *c)
{
	size_t n;
	const struct cfs_kv_value **vals = cfs_kvstore_sorted(&c->d->kv, &n);
	const struct cfs_clog_entry *e;

	for (size_t i = 0; vals && i < n; i++)
		if (streq(vals[i]->nodename, c->d->opt.nodename))
			cluster_send_kv(c, vals[i]->key, vals[i]->data, vals[i]->size);
	free(vals);
	for (size_t i = 0; i < 100 && (e = cfs_clusterlog_newest(&c->d->clog, i)); i++)
		if (streq(e->node, c->d->opt.nodename))
			cluster_send_log(c, e);
}

static void replica_conf_written(void *ctx, uint32_t nodeid, const void *payload, size_t len)
{
	struct cfs_corosync *c = ctx;

	cfs_conf_rollout_written(&c->rollout, nodeid, payload, len);
}

static void cluster_changed(void *part, const struct cfs_change *ch)
{
	struct cfs_corosync *c = part;

	cfs_conf_rollout_changed(&c->rollout, ch);
}

/* ---- state transfer hooks ---- */

static void replica_commit(void *ctx)
{
	struct cfs_corosync *c = ctx;

	cfs_submit_commit(c->d);
}

static int replica_backup(void *ctx)
{
	struct cfs_corosync *c = ctx;
	uint64_t version = cfs_daemon_state(c->d)->tree.version;
	char path[PATH_MAX + 64];
	int r = cfs_backup_keep(c->d->persist, c->d->opt.db_path, path, sizeof(path));

	if (r == 0 && path[0])
		log_notice("cluster: this node's tree (version %" PRIu64 ") is replaced by the "
			   "cluster's; a copy is kept in %s",
			   version, path);
	return r;
}

static void replica_reload(void *ctx)
{
	struct cfs_corosync *c = ctx;
	int r = cfs_persist_reload(c->d->persist);

	if (r < 0)
		log_err("cluster: cannot reload the state from %s: %s", c->d->opt.db_path,
			strerror(-r));
	cfs_submit_observe_transfer(c->d);
}

static int replica_resynced(void *ctx, bool full)
{
	struct cfs_corosync *c = ctx;
	int r = cfs_persist_flush_all(c->d->persist);

	cfs_submit_observe_transfer(c->d);
	cfs_conf_rollout_install(&c->rollout);
	return r;
}

static void replica_writable(void *ctx, bool writable)
{
	struct cfs_corosync *c = ctx;

	if (c->d->quorate != writable)
		log_notice("cluster: %s", writable ? "quorate: writable" : "read-only");
	c->d->quorate = writable;
}

static void replica_synced(void *ctx)
{
	struct cfs_corosync *c = ctx;

	resend_own_status(c);
	if (c->d->quorate)
		cfs_node_dirs_ensure(c->d);
}

static int on_leave(sd_event_source *s, void *userdata)
{
	struct cfs_corosync *c = userdata;

	/* s is a floating one-shot source: the loop owns and frees it. */
	if (c->cpg_up) {
		struct cpg_name group;

		snprintf(group.value, sizeof(group.value), "%s", CPG_GROUP);
		group.length = (uint32_t)strlen(CPG_GROUP);
		cpg_leave(c->cpg, &group);
	}
	return 0;
}

/* Not from within the CPG callback that found the error: leave on the next loop turn. */
static void replica_stopped(void *ctx)
{
	struct cfs_corosync *c = ctx;

	log_err("cluster: leaving the group; restart droverfs once the cause is fixed");
	fail_inflight(c, -EIO);
	if (sd_event_add_defer(c->d->event, NULL, on_leave, c) < 0)
		log_err("cluster: cannot leave the group");
}

static unsigned replica_node_votes(void *ctx, uint32_t nodeid)
{
	const struct node_info *n = node_by_id(ctx, nodeid);

	return n ? n->votes : 1;
}

static unsigned replica_expected_votes(void *ctx)
{
	struct cfs_corosync *c = ctx;

	return c->expected_votes;
}

static const struct cfs_replica_ops replica_ops = {
	.node_votes = replica_node_votes,
	.expected_votes = replica_expected_votes,
	.stopped = replica_stopped,
	.send = replica_send,
	.flush_soon = replica_flush_soon,
	.op_done = replica_op_done,
	.kv = replica_kv,
	.log = replica_log,
	.conf_written = replica_conf_written,
	.synced = replica_synced,
	.commit = replica_commit,
	.backup = replica_backup,
	.reload = replica_reload,
	.resynced = replica_resynced,
	.writable = replica_writable,
};

/* ---- quorum ---- */

/* Has the quorum service spoken of the ring CPG is in? */
static bool quorum_known(const struct cfs_corosync *c)
{
	return c->quorum_valid && c->cpg_ring_valid && c->quorum_ring.seq == c->cpg_ring.seq &&
	       c->quorum_ring.nodeid == c->cpg_ring.nodeid;
}

static void read_votequorum(struct cfs_corosync *c, bool *forced);

static void update_quorum(struct cfs_corosync *c, bool force_known)
{
	bool known = quorum_known(c), forced;

	read_votequorum(c, &forced); /* expected votes may have changed without a quorum event */

	cfs_replica_quorum(c->replica, known || (force_known && c->quorum_valid), c->quorate,
			   c->forced);
}

/* Expected votes as votequorum sees them now; forced: lowered below the configured votes. */
static void read_votequorum(struct cfs_corosync *c, bool *forced)
{
	struct votequorum_info info;
	unsigned configured = configured_votes(c);

	*forced = false;
	if (!c->vq_up || votequorum_getinfo(c->vq, c->nodeid, &info) != CS_OK)
		return;
	c->expected_votes = info.node_expected_votes;
	*forced = configured > 0 && info.node_expected_votes < configured;
}

static void on_quorum(quorum_handle_t h, uint32_t quorate, struct quorum_ring_id ring, uint32_t n,
		      const uint32_t *members)
{
	struct cfs_corosync *c = NULL;
	bool forced;

	quorum_context_get(h, (const void **)&c);
	if (!c)
		return;
	c->quorum_ring = ring;
	c->quorum_valid = true;
	c->quorate = quorate;
	read_votequorum(c, &forced);
	c->forced = quorate && forced;
	log_info("cluster: quorum %s (ring %" PRIu32 ".%" PRIu64 ", %" PRIu32 " nodes%s)",
		 quorate ? "yes" : "no", ring.nodeid, ring.seq, n, c->forced ? ", forced" : "");
	update_quorum(c, false);
}

static void on_quorum_nodelist(quorum_handle_t h, struct quorum_ring_id ring, uint32_t n,
			       const uint32_t *m, uint32_t nj, const uint32_t *j, uint32_t nl,
			       const uint32_t *l)
{
}

static int on_quorum_wait(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct cfs_corosync *c = userdata;

	if (quorum_known(c))
		return 0;
	log_warn("cluster: the quorum service has not spoken of ring %" PRIu32 ".%" PRIu64
		 " yet; using what it said last",
		 c->cpg_ring.nodeid, c->cpg_ring.seq);
	update_quorum(c, true);
	return 0;
}

/* ---- CPG ---- */

static void on_deliver(cpg_handle_t h, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
		       void *msg, size_t len)
{
	struct cfs_corosync *c = NULL;

	cpg_context_get(h, (void **)&c);
	if (c)
		cfs_replica_deliver(c->replica, (struct cfs_member){ nodeid, pid }, msg, len);
}

static void on_confchg(cpg_handle_t h, const struct cpg_name *group,
		       const struct cpg_address *members, size_t n, const struct cpg_address *left,
		       size_t nleft, const struct cpg_address *joined, size_t njoined)
{
	struct cfs_corosync *c = NULL;
	struct cfs_member m[64];
	size_t k = 0;

	cpg_context_get(h, (void **)&c);
	if (!c)
		return;
	for (size_t i = 0; i < n && k < ARRAY_SIZE(m); i++)
		m[k++] = (struct cfs_member){ members[i].nodeid, members[i].pid };
	log_info("cluster: membership: %zu members (%zu left, %zu joined)", n, nleft, njoined);
	cfs_replica_confchg(c->replica, m, k);
	update_quorum(c, false);
}

static void on_totem_confchg(cpg_handle_t h, struct cpg_ring_id ring, uint32_t n,
			     const uint32_t *members)
{
	struct cfs_corosync *c = NULL;
	uint64_t now;

	cpg_context_get(h, (void **)&c);
	if (!c)
		return;
	c->cpg_ring = ring;
	c->cpg_ring_valid = true;
	update_quorum(c, false);
	sd_event_now(c->d->event, CLOCK_MONOTONIC, &now);
	sd_event_source_set_time(c->quorum_wait_timer, now + QUORUM_WAIT_US);
	sd_event_source_set_enabled(c->quorum_wait_timer, SD_EVENT_ONESHOT);
}

static cpg_model_v1_data_t cpg_model = {
	.model = CPG_MODEL_V1,
	.cpg_deliver_fn = on_deliver,
	.cpg_confchg_fn = on_confchg,
	.cpg_totem_confchg_fn = on_totem_confchg,
	.flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF,
};

static quorum_model_v1_data_t quorum_model = {
	.model = QUORUM_MODEL_V1,
	.quorum_notify_fn = on_quorum,
	.nodelist_notify_fn = on_quorum_nodelist,
};

static void disconnect(struct cfs_corosync *c);

static void connection_lost(struct cfs_corosync *c, const char *what)
{
	uint64_t now;

	log_err("cluster: lost the connection to corosync (%s); read-only until it is back", what);
	disconnect(c);
	sd_event_now(c->d->event, CLOCK_MONOTONIC, &now);
	sd_event_source_set_time(c->reconnect_timer, now + RECONNECT_US);
	sd_event_source_set_enabled(c->reconnect_timer, SD_EVENT_ONESHOT);
}

/*
 * The members asked to acknowledge an own op answer within milliseconds; if
 * one is stuck or slow, every member is asked after ACK_OVERDUE_US.
 */
#define ACK_OVERDUE_US 100000

static void arm_ack_timer(struct cfs_corosync *c)
{
	int enabled = SD_EVENT_OFF;
	uint64_t now;

	sd_event_source_get_enabled(c->ack_timer, &enabled);
	if (enabled != SD_EVENT_OFF)
		return;
	sd_event_now(c->d->event, CLOCK_MONOTONIC, &now);
	sd_event_source_set_time(c->ack_timer, now + ACK_OVERDUE_US / 2);
	sd_event_source_set_enabled(c->ack_timer, SD_EVENT_ONESHOT);
}

static int on_ack_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct cfs_corosync *c = userdata;

	if (c->cpg_up && cfs_replica_check_acks(c->replica, ACK_OVERDUE_US * 1000) > 0)
		arm_ack_timer(c);
	return 0;
}

static int on_cpg_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct cfs_corosync *c = userdata;
	cs_error_t e = cpg_dispatch(c->cpg, CS_DISPATCH_ALL);

	/* Ops of other nodes were applied too: they need a commit as well. */
	if (cfs_persist_batch_open(c->d->persist))
		cfs_submit_schedule_commit(c->d);
	if (e != CS_OK && e != CS_ERR_TRY_AGAIN) {
		connection_lost(c, "cpg");
		return 0;
	}
	cluster_flush(c); /* our message came back: the next batch may go */
	{
		struct cfs_replica_status st;

		cfs_replica_status(c->replica, &st);
		if (st.unconfirmed)
			arm_ack_timer(c);
	}
	return 0;
}

static int on_quorum_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct cfs_corosync *c = userdata;
	cs_error_t e = quorum_dispatch(c->quorum, CS_DISPATCH_ALL);

	if (e != CS_OK && e != CS_ERR_TRY_AGAIN)
		connection_lost(c, "quorum");
	return 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct cfs_corosync *c = userdata;

	if (c->cpg_up && flush_outq(c) < 0)
		connection_lost(c, "multicast");
	return 0;
}

static void disconnect(struct cfs_corosync *c)
{
	c->cpg_io = sd_event_source_disable_unref(c->cpg_io);
	c->quorum_io = sd_event_source_disable_unref(c->quorum_io);
	if (c->cpg_up) {
		cpg_finalize(c->cpg);
		c->cpg_up = false;
	}
	if (c->quorum_up) {
		quorum_finalize(c->quorum);
		c->quorum_up = false;
	}
	if (c->vq_up) {
		votequorum_finalize(c->vq);
		c->vq_up = false;
	}
	outq_clear(c);
	c->cpg_ring_valid = c->quorum_valid = false;
	cfs_replica_left(c->replica);
	fail_inflight(c, -EIO);
}

static int connect_quorum(struct cfs_corosync *c)
{
	uint32_t type;
	int fd;

	if (quorum_model_initialize(&c->quorum, QUORUM_MODEL_V1,
				    (quorum_model_data_t *)&quorum_model, &type, c) != CS_OK)
		return -ECONNREFUSED;
	c->quorum_up = true;
	if (quorum_trackstart(c->quorum, CS_TRACK_CHANGES | CS_TRACK_CURRENT) != CS_OK ||
	    quorum_fd_get(c->quorum, &fd) != CS_OK)
		return -EIO;
	if (votequorum_initialize(&c->vq, NULL) == CS_OK)
		c->vq_up = true;
	return sd_event_add_io(c->d->event, &c->quorum_io, fd, EPOLLIN, on_quorum_io, c);
}

static int connect_cpg(struct cfs_corosync *c)
{
	struct cpg_name group;
	cs_error_t e;
	int fd;

	if (cpg_model_initialize(&c->cpg, CPG_MODEL_V1, (cpg_model_data_t *)&cpg_model, c) != CS_OK)
		return -ECONNREFUSED;
	c->cpg_up = true;
	if (cpg_local_get(c->cpg, &c->nodeid) != CS_OK)
		return -EIO;
	snprintf(group.value, sizeof(group.value), "%s", CPG_GROUP);
	group.length = (uint32_t)strlen(CPG_GROUP);
	for (int i = 0; i < 50; i++) {
		e = cpg_join(c->cpg, &group);
		if (e != CS_ERR_TRY_AGAIN)
			break;
		usleep(20000);
	}
	if (e != CS_OK)
		return -EIO;
	if (cpg_fd_get(c->cpg, &fd) != CS_OK)
		return -EIO;
	c->d->nodeid = c->nodeid;
	cfs_replica_joined(c->replica, (struct cfs_member){ c->nodeid, (uint32_t)getpid() });
	return sd_event_add_io(c->d->event, &c->cpg_io, fd, EPOLLIN, on_cpg_io, c);
}

static int try_connect(struct cfs_corosync *c)
{
	int r = connect_quorum(c);

	if (r == 0)
		r = connect_cpg(c);
	if (r < 0) {
		disconnect(c);
		return r;
	}
	log_notice("cluster: joined group %s as node %" PRIu32, CPG_GROUP, c->nodeid);
	return 0;
}

static int on_reconnect(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct cfs_corosync *c = userdata;
	static const uint64_t step = RECONNECT_US;

	if (try_connect(c) < 0) {
		sd_event_source_set_time(s, usec + step);
		sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	}
	return 0;
}

static int on_verify(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct cfs_corosync *c = userdata;

	cfs_replica_verify(c->replica);
	sd_event_source_set_time(s, usec + (uint64_t)c->d->opt.verify_interval * 1000000);
	sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	return 0;
}

/* ---- the public side ---- */

/* Send an op through the group; its done runs once it came back applied (or refused). */
static int cluster_submit(void *repl, const struct cfs_op *op, cfs_done_fn done, void *ctx)
{
	struct cfs_corosync *c = repl;
	struct inflight *f = calloc(1, sizeof(*f));
	uint64_t reqid = ++c->next_reqid;
	int r;

	if (!f)
		return -ENOMEM;
	f->reqid = reqid;
	f->done = done;
	f->ctx = ctx;
	if (hmap_insert(&c->inflight, &f->node, hash_mix64(reqid)) < 0) {
		free(f);
		return -ENOMEM;
	}
	r = cfs_replica_submit(c->replica, op, reqid);
	if (r < 0) {
		hmap_remove(&c->inflight, &f->node);
		free(f);
		return r == -ENOTCONN ? -EACCES : r; /* no group (yet): read-only */
	}
	return 0;
}

static const struct cfs_replicator_ops replicator_ops = {
	.submit = cluster_submit,
	.flush = cluster_flush,
	.send_kv = cluster_send_kv,
	.send_log = cluster_send_log,
};

static void cluster_status(void *part, struct cfs_status *s);

static const struct cfs_part_ops part_ops = {
	.changed = cluster_changed,
	.committed = cluster_committed,
	.status = cluster_status,
};

static int add_timer(struct cfs_corosync *c, sd_event_source **s, sd_event_time_handler_t fn)
{
	int r = sd_event_add_time(c->d->event, s, CLOCK_MONOTONIC, UINT64_MAX, 0, fn, c);

	if (r < 0)
		return r;
	return sd_event_source_set_enabled(*s, SD_EVENT_OFF);
}

/*
 * Below every I/O source, above the group commit: the requests that are
 * ready now (FUSE, IPC, corosync) are read first, so that concurrent
 * writers' ops leave in one message.
 */
static int add_send_source(struct cfs_corosync *c)
{
	int r = sd_event_add_defer(c->d->event, &c->send_source, on_send, c);

	if (r == 0)
		r = sd_event_source_set_priority(c->send_source, SD_EVENT_PRIORITY_NORMAL + 5);
	if (r == 0)
		r = sd_event_source_set_enabled(c->send_source, SD_EVENT_OFF);
	return r;
}

int cfs_corosync_start(struct cfs_daemon *d, struct cfs_corosync **out)
{
	struct cfs_corosync *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->d = d;
	hmap_init(&c->inflight);
	c->replica = cfs_replica_new(d->persist, &replica_ops, c);
	if (!c->replica) {
		free(c);
		return -ENOMEM;
	}
	if ((r = add_timer(c, &c->retry_timer, on_retry)) < 0 ||
	    (r = add_timer(c, &c->reconnect_timer, on_reconnect)) < 0 ||
	    (r = add_timer(c, &c->verify_timer, on_verify)) < 0 ||
	    (r = add_timer(c, &c->quorum_wait_timer, on_quorum_wait)) < 0 ||
	    (r = cfs_conf_rollout_init(&c->rollout, d, c->replica)) < 0 ||
	    (r = add_timer(c, &c->ack_timer, on_ack_timer)) < 0 || (r = add_send_source(c)) < 0) {
		cfs_corosync_stop(c);
		return r;
	}
	r = cfs_daemon_add_part(d, &part_ops, c);
	if (r < 0) {
		cfs_corosync_stop(c);
		return r;
	}
	d->quorate = false;
	cfs_daemon_set_replicator(d, &replicator_ops, c);
	*out = c;
	cfs_conf_rollout_install(&c->rollout);
	if (try_connect(c) < 0) {
		log_warn("cluster: corosync is not running yet; retrying every second "
			 "(read-only until then)");
		sd_event_source_set_time(c->reconnect_timer, 1);
		sd_event_source_set_enabled(c->reconnect_timer, SD_EVENT_ONESHOT);
	}
	if (d->opt.verify_interval) {
		uint64_t now;

		sd_event_now(d->event, CLOCK_MONOTONIC, &now);
		sd_event_source_set_time(c->verify_timer,
					 now + (uint64_t)d->opt.verify_interval * 1000000);
		sd_event_source_set_enabled(c->verify_timer, SD_EVENT_ONESHOT);
	}
	return 0;
}

static void free_inflight_node(struct hmap_node *n)
{
	free(container_of(n, struct inflight, node));
}

void cfs_corosync_stop(struct cfs_corosync *c)
{
	if (!c)
		return;
	if (c->cpg_up) {
		struct cpg_name group;

		snprintf(group.value, sizeof(group.value), "%s", CPG_GROUP);
		group.length = (uint32_t)strlen(CPG_GROUP);
		flush_outq(c);
		cpg_leave(c->cpg, &group);
	}
	disconnect(c);
	c->retry_timer = sd_event_source_disable_unref(c->retry_timer);
	c->reconnect_timer = sd_event_source_disable_unref(c->reconnect_timer);
	c->verify_timer = sd_event_source_disable_unref(c->verify_timer);
	c->quorum_wait_timer = sd_event_source_disable_unref(c->quorum_wait_timer);
	cfs_conf_rollout_destroy(&c->rollout);
	c->ack_timer = sd_event_source_disable_unref(c->ack_timer);
	c->send_source = sd_event_source_disable_unref(c->send_source);
	hmap_destroy_all(&c->inflight, free_inflight_node);
	cfs_replica_free(c->replica);
	free(c->outq);
	free(c->nodes);
	if (c->d->repl == c)
		cfs_daemon_set_replicator(c->d, NULL, NULL);
	cfs_daemon_remove_part(c->d, c);
	free(c);
}

/* The figures of `drover cfs status` and .members; status_json.c makes the JSON. */
static void cluster_status(void *part, struct cfs_status *s)
{
	struct cfs_corosync *c = part;
	struct cfs_status_cluster *sc = &s->cluster;
	size_t nmembers = cfs_replica_member_count(c->replica);

	load_nodelist(c);
	cfs_replica_status(c->replica, &sc->replica);
	sc->nodeid = c->nodeid;
	snprintf(sc->name, sizeof(sc->name), "%s", c->cluster_name);
	sc->config_version = c->config_version;
	sc->forced = c->forced;
	sc->expected_votes = c->expected_votes;
	sc->in_flight = hmap_count(&c->inflight);
	sc->send_queue = c->outq_len;
	sc->members = calloc(nmembers ? nmembers : 1, sizeof(*sc->members));
	sc->nodes = calloc(c->nnodes ? c->nnodes : 1, sizeof(*sc->nodes));
	if (!sc->members || !sc->nodes) {
		cfs_status_free(s); /* the counts stay 0 */
		return;
	}
	for (size_t i = 0; i < nmembers; i++)
		node_name(c, cfs_replica_member(c->replica, i).nodeid, sc->members[i],
			  sizeof(sc->members[i]));
	sc->nmembers = nmembers;
	for (size_t i = 0; i < c->nnodes; i++) {
		struct cfs_status_node *n = &sc->nodes[i];

		snprintf(n->name, sizeof(n->name), "%s", c->nodes[i].name);
		snprintf(n->addr, sizeof(n->addr), "%s", c->nodes[i].addr);
		n->nodeid = c->nodes[i].nodeid;
		for (size_t k = 0; k < nmembers; k++)
			n->online |= cfs_replica_member(c->replica, k).nodeid == n->nodeid;
	}
	sc->nnodes = c->nnodes;
}
