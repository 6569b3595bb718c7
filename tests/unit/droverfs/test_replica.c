/* SPDX-License-Identifier: MIT */
/*
 * The replication engine (replica.c) on a simulated, totally ordered group
 * bus: 2 to 4 "nodes", each with its own cfs_persist on a database in a
 * temporary directory, exchanging messages the way corosync CPG delivers
 * them.
 *
 * The bus is one FIFO of events:
 *
 *  - a message event, appended by the `send` callback and stamped with the
 *    sender and the ring the sender is in (the ring of its latest
 *    membership change, even if it has not processed that change yet:
 *    corosync sends a message submitted during a reconfiguration in the new
 *    ring). It is delivered, in FIFO order, to every node that is in that
 *    ring when the message reaches the head, the sender included;
 *  - a confchg event: a partition change appends one per new group of
 *    nodes, with that group's member list. Messages sent before the change
 *    are ahead of it in the FIFO, so they are delivered to the members of
 *    the old ring before its confchg (virtual synchrony). After handing a
 *    node its confchg, the bus tells it its quorum: quorate when its group
 *    holds a majority of all configured nodes, or when the test forces the
 *    node's quorum (then forced too).
 *
 * After every delivery the bus commits the open batch of every node, as the
 * daemon's event loop does after each round.
 *
 * Every reqid a node submits (and that cfs_replica_submit() accepted) must
 * be answered by exactly one op_done; check_reqs() asserts it at the end of
 * every test.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"
#include "tmpdir.h"

#include "droverfs/core/persist.h"
#include "droverfs/replica/replica.h"
#include "droverfs/core/store.h"
#include "basic/array.h"
#include "basic/log.h"

#define MAX_NODES 4
#define MAX_REQS 4096
#define MAX_STEPS 200000

enum ev_kind { EV_MSG, EV_CONFCHG };

struct event {
	enum ev_kind kind;
	uint64_t ring; /* EV_MSG: the ring it was sent in; EV_CONFCHG: the ring formed */
	struct cfs_member sender;
	unsigned char *data;
	size_t len;
	int members[MAX_NODES];
	struct cfs_member ids[MAX_NODES];
	size_t nmembers;
};

struct req {
	uint64_t reqid;
	int node;
	bool accepted; /* cfs_replica_submit() returned 0: one op_done is due */
	int done; /* op_done calls */
	int result;
	uint64_t inode;
};

struct sim;

struct node {
	struct sim *sim;
	int idx;
	struct cfs_member self;
	char db[160];
	struct cfs_persist *p;
	struct cfs_replica *r;
	bool up;
	bool forced; /* expected votes lowered: quorate alone */
	uint64_t ring; /* ring of the last confchg it processed */
	size_t ring_size;
	uint64_t ring_next; /* ring of its last confchg sent to the bus */
	unsigned mask_next; /* members of ring_next */

	/* What the callbacks saw. */
	unsigned synced, backups, reloads, resynced, resynced_full, kv, log, conf_written;
	uint64_t conf_version;
	bool writable;
	bool ever_writable; /* writable(true) since the test cleared it */
	bool last_quorate; /* what its quorum service said last */
	bool kicked; /* flush_soon: a batch of own ops waits */
};

struct sim {
	char dir[64];
	int n; /* configured nodes (expected votes) */
	struct node nodes[MAX_NODES];
	struct event *q;
	size_t head, tail, cap;
	uint64_t rings;
	uint32_t pids;
	int64_t clock;
	/*
	 * The quorum service speaks after the confchg: the bus first says
	 * "unknown" (as corosync.c does when the quorum's ring is not CPG's).
	 */
	bool quorum_late;
	/* Submitting does not send: ops wait for the next step (as for the event loop). */
	bool batching;
	struct req reqs[MAX_REQS];
	size_t nreqs;
};

/* ---- the bus ---- */

static void push(struct sim *s, const struct event *ev)
{
	assert_int_equal(ARRAY_GROW(s->q, s->cap, s->tail + 1), 0);
	s->q[s->tail++] = *ev;
}

static size_t pending_events(const struct sim *s)
{
	return s->tail - s->head;
}

static struct req *find_req(struct sim *s, uint64_t reqid)
{
	for (size_t i = 0; i < s->nreqs; i++)
		if (s->reqs[i].reqid == reqid)
			return &s->reqs[i];
	return NULL;
}

/* ---- callbacks ---- */

static int cb_send(void *ctx, const void *data, size_t len)
{
	struct node *nd = ctx;
	struct event ev = { .kind = EV_MSG, .ring = nd->ring_next, .sender = nd->self };

	assert_true(nd->up);
	ev.data = malloc(len);
	assert_non_null(ev.data);
	memcpy(ev.data, data, len);
	ev.len = len;
	push(nd->sim, &ev);
	return 0;
}

static void cb_flush_soon(void *ctx)
{
	struct node *nd = ctx;

	nd->kicked = true;
}

static void cb_op_done(void *ctx, uint64_t reqid, int result, const struct cfs_result *res)
{
	struct node *nd = ctx;
	struct req *q = find_req(nd->sim, reqid);

	if (!q)
		fail_msg("node %d: op_done for unknown reqid %llu", nd->idx + 1,
			 (unsigned long long)reqid);
	if (q->node != nd->idx)
		fail_msg("node %d: op_done for reqid %llu of node %d", nd->idx + 1,
			 (unsigned long long)reqid, q->node + 1);
	q->done++;
	q->result = result;
	q->inode = res ? res->inode : 0;
}

static void cb_kv(void *ctx, uint32_t nodeid, const void *payload, size_t len)
{
	struct node *nd = ctx;

	(void)nodeid, (void)payload, (void)len;
	nd->kv++;
}

static void cb_log(void *ctx, uint32_t nodeid, const void *payload, size_t len)
{
	struct node *nd = ctx;

	(void)nodeid, (void)payload, (void)len;
	nd->log++;
}

static void cb_conf_written(void *ctx, uint32_t nodeid, const void *payload, size_t len)
{
	struct node *nd = ctx;
	const unsigned char *b = payload;

	(void)nodeid;
	nd->conf_written++;
	nd->conf_version = 0;
	for (size_t i = 0; i < 8 && i < len; i++)
		nd->conf_version |= (uint64_t)b[i] << (8 * i);
}

static void cb_synced(void *ctx)
{
	struct node *nd = ctx;

	nd->synced++;
}

static void cb_commit(void *ctx)
{
	struct node *nd = ctx;

	if (cfs_persist_batch_open(nd->p))
		assert_int_equal(cfs_persist_commit(nd->p), 0);
}

static int cb_backup(void *ctx)
{
	struct node *nd = ctx;

	nd->backups++;
	return 0;
}

/*
 * The state is unusable after a failed update: load it from disk again.
 * Counted; check_no_reloads() fails the tests that do not expect one.
 */
static void cb_reload(void *ctx)
{
	struct node *nd = ctx;

	nd->reloads++;
	assert_int_equal(cfs_persist_reload(nd->p), 0);
}

/*
 * As corosync.c does: make the new state durable and, after a full update,
 * raise the tombstone floor (this node knows no removals before it).
 */
static int cb_resynced(void *ctx, bool full)
{
	struct node *nd = ctx;
	int r = cfs_persist_flush_all(nd->p);

	nd->resynced++;
	nd->resynced_full += full;
	if (r == 0 && full)
		r = cfs_store_set_tombstone_floor(nd->p->store, nd->p->state.tree.version);
	return r;
}

static void cb_writable(void *ctx, bool writable)
{
	struct node *nd = ctx;

	nd->writable = writable;
	nd->ever_writable |= writable;
}

/* Every configured node has one vote, as the bus's quorum rule says. */
static unsigned cb_expected_votes(void *ctx)
{
	struct node *nd = ctx;

	return (unsigned)nd->sim->n;
}

static const struct cfs_replica_ops ops = {
	.expected_votes = cb_expected_votes,
	.send = cb_send,
	.flush_soon = cb_flush_soon,
	.op_done = cb_op_done,
	.kv = cb_kv,
	.log = cb_log,
	.conf_written = cb_conf_written,
	.synced = cb_synced,
	.commit = cb_commit,
	.backup = cb_backup,
	.reload = cb_reload,
	.resynced = cb_resynced,
	.writable = cb_writable,
};

/* ---- delivery ---- */

static bool member_same(struct cfs_member a, struct cfs_member b)
{
	return a.nodeid == b.nodeid && a.pid == b.pid;
}

static void tell_quorum(struct sim *s, struct node *nd)
{
	bool majority = nd->ring_size * 2 > (size_t)s->n;

	nd->last_quorate = majority || nd->forced;
	cfs_replica_quorum(nd->r, true, majority || nd->forced, nd->forced && !majority);
}

static void commit_all(struct sim *s)
{
	for (int i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];

		if (!nd->up)
			continue;
		if (cfs_persist_batch_open(nd->p))
			assert_int_equal(cfs_persist_commit(nd->p), 0);
		cfs_replica_committed(nd->r);
	}
}

/* The event loop's send source: every waiting batch goes out. */
static void flush_all(struct sim *s)
{
	for (int i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];

		if (nd->up && nd->kicked) {
			nd->kicked = false;
			cfs_replica_flush(nd->r);
		}
	}
}

static bool deliver_next(struct sim *s);

/* One turn of the loop: waiting batches go out, then the head of the bus. */
static bool step(struct sim *s)
{
	flush_all(s);
	return deliver_next(s);
}

/* Deliver the head of the bus. false when the bus is empty. */
static bool deliver_next(struct sim *s)
{
	struct event ev;

	if (s->head == s->tail)
		return false;
	ev = s->q[s->head++];
	if (s->head == s->tail)
		s->head = s->tail = 0;
	if (ev.kind == EV_CONFCHG) {
		for (size_t k = 0; k < ev.nmembers; k++) {
			struct node *nd = &s->nodes[ev.members[k]];

			if (nd->up && member_same(nd->self, ev.ids[k])) {
				nd->ring = ev.ring;
				nd->ring_size = ev.nmembers;
			}
		}
		for (size_t k = 0; k < ev.nmembers; k++) {
			struct node *nd = &s->nodes[ev.members[k]];

			if (!nd->up || nd->ring != ev.ring)
				continue;
			cfs_replica_confchg(nd->r, ev.ids, ev.nmembers);
			if (s->quorum_late)
				cfs_replica_quorum(nd->r, false, nd->last_quorate, nd->forced);
			else
				tell_quorum(s, nd);
		}
	} else {
		for (int i = 0; i < s->n; i++) {
			struct node *nd = &s->nodes[i];

			if (nd->up && nd->ring == ev.ring)
				cfs_replica_deliver(nd->r, ev.sender, ev.data, ev.len);
		}
	}
	free(ev.data);
	commit_all(s);
	return true;
}

/*
 * The head of the bus is a message that only its sender delivers: the
 * others never receive it (corosync delivers in agreed order, so a sender
 * may deliver its own message and drop out of the membership before the
 * others have it; they go on without it).
 */
static void deliver_head_to_sender_only(struct sim *s)
{
	struct event ev;

	assert_true(s->head < s->tail);
	ev = s->q[s->head++];
	if (s->head == s->tail)
		s->head = s->tail = 0;
	assert_int_equal(ev.kind, EV_MSG);
	for (int i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];

		if (nd->up && nd->ring == ev.ring && member_same(nd->self, ev.sender))
			cfs_replica_deliver(nd->r, ev.sender, ev.data, ev.len);
	}
	free(ev.data);
	commit_all(s);
}

static void drain(struct sim *s)
{
	for (unsigned i = 0; step(s); i++)
		if (i > MAX_STEPS)
			fail_msg("the bus never drains (a message loop?)");
}

static size_t unconfirmed_total(struct sim *s)
{
	size_t n = 0;

	for (int i = 0; i < s->n; i++) {
		struct cfs_replica_status st;

		if (!s->nodes[i].up)
			continue;
		cfs_replica_status(s->nodes[i].r, &st);
		n += st.unconfirmed;
	}
	return n;
}

/*
 * Deliver everything. Then, as the daemon's timer does when own ops wait too
 * long for the members asked to acknowledge them, every node with such ops
 * asks everyone; repeated while that confirms some.
 */
static void run(struct sim *s)
{
	size_t before;

	drain(s);
	while ((before = unconfirmed_total(s)) > 0) {
		for (int i = 0; i < s->n; i++)
			if (s->nodes[i].up)
				cfs_replica_check_acks(s->nodes[i].r, 0);
		drain(s);
		if (unconfirmed_total(s) >= before)
			break;
	}
}

/*
 * Put the up nodes into groups: part[i] is node i's group. Every group whose
 * membership changed gets a new ring and a confchg on the bus.
 */
static void regroup(struct sim *s, const int *part)
{
	unsigned mask[MAX_NODES] = { 0 };
	bool seen[MAX_NODES] = { false };

	for (int i = 0; i < s->n; i++)
		for (int j = 0; j < s->n; j++)
			if (s->nodes[i].up && s->nodes[j].up && part[i] == part[j])
				mask[i] |= 1u << j;
	for (int i = 0; i < s->n; i++) {
		struct event ev = { .kind = EV_CONFCHG };
		bool changed = false;

		if (!s->nodes[i].up || seen[i])
			continue;
		for (int j = 0; j < s->n; j++)
			if (mask[i] & (1u << j)) {
				seen[j] = true;
				changed |= s->nodes[j].mask_next != mask[i];
			}
		if (!changed)
			continue;
		ev.ring = ++s->rings;
		for (int j = 0; j < s->n; j++) {
			if (!(mask[i] & (1u << j)))
				continue;
			ev.members[ev.nmembers] = j;
			ev.ids[ev.nmembers++] = s->nodes[j].self;
			s->nodes[j].ring_next = ev.ring;
			s->nodes[j].mask_next = mask[i];
		}
		push(s, &ev);
	}
}

static void regroup_all(struct sim *s)
{
	int part[MAX_NODES] = { 0 };

	regroup(s, part);
}

/* ---- nodes ---- */

static void wipe_db(struct node *nd)
{
	char path[200];

	unlink(nd->db);
	snprintf(path, sizeof(path), "%s-wal", nd->db);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", nd->db);
	unlink(path);
	snprintf(path, sizeof(path), "%s.journal", nd->db);
	unlink(path);
}

/* Start node i (a new process: new pid) and join the group; regroup() puts it in a ring. */
static void node_start(struct sim *s, int i, bool wipe)
{
	struct node *nd = &s->nodes[i];
	struct cfs_persist_config cfg;

	assert_false(nd->up);
	if (wipe)
		wipe_db(nd);
	cfs_persist_config_default(&cfg, nd->db);
	assert_int_equal(cfs_persist_open(&cfg, T0_NS, &nd->p), 0);
	nd->r = cfs_replica_new(nd->p, &ops, nd);
	assert_non_null(nd->r);
	nd->self = (struct cfs_member){ (uint32_t)i + 1, ++s->pids };
	nd->up = true;
	nd->ring = nd->ring_next = 0;
	nd->mask_next = 0;
	cfs_replica_joined(nd->r, nd->self);
}

/* The node leaves the group and its process ends. */
static void node_stop(struct sim *s, int i)
{
	struct node *nd = &s->nodes[i];

	assert_true(nd->up);
	cfs_replica_left(nd->r);
	cfs_replica_free(nd->r);
	assert_int_equal(cfs_persist_close(nd->p), 0);
	nd->r = NULL;
	nd->p = NULL;
	nd->up = false;
	nd->ring = nd->ring_next = 0;
	nd->mask_next = 0;
}

static int setup(void **ctx)
{
	struct sim *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	strcpy(s->dir, "/tmp/drover-replica-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	for (int i = 0; i < MAX_NODES; i++) {
		s->nodes[i].sim = s;
		s->nodes[i].idx = i;
		snprintf(s->nodes[i].db, sizeof(s->nodes[i].db), "%s/node%d.db", s->dir, i + 1);
	}
	s->clock = T0;
	*ctx = s;
	return 0;
}

static int teardown(void **ctx)
{
	struct sim *s = *ctx;

	for (size_t i = s->head; i < s->tail; i++)
		free(s->q[i].data);
	free(s->q);
	for (int i = 0; i < MAX_NODES; i++) {
		if (!s->nodes[i].up)
			continue;
		cfs_replica_free(s->nodes[i].r);
		cfs_persist_close(s->nodes[i].p);
	}
	tmpdir_remove(s->dir);
	free(s);
	return 0;
}

/* n nodes start together, form one ring and sync. */
static void start_cluster(struct sim *s, int n)
{
	s->n = n;
	for (int i = 0; i < n; i++)
		node_start(s, i, false);
	regroup_all(s);
	run(s);
}

/* ---- submitting, as the FUSE layer does ---- */

static struct req *submit_rc(struct sim *s, int i, struct cfs_op *op, int *rc)
{
	struct node *nd = &s->nodes[i];
	struct req *q;

	assert_true(s->nreqs < MAX_REQS);
	q = &s->reqs[s->nreqs++];
	*q = (struct req){ .reqid = (uint64_t)(i + 1) * 1000000 + s->nreqs, .node = i };
	op->writer = nd->self.nodeid;
	op->time_ns = ++s->clock;
	*rc = cfs_replica_submit(nd->r, op, q->reqid);
	q->accepted = *rc == 0;
	if (!s->batching && nd->kicked) {
		nd->kicked = false;
		cfs_replica_flush(nd->r);
	}
	return q;
}

static struct req *submit(struct sim *s, int i, struct cfs_op *op)
{
	int rc;
	struct req *q = submit_rc(s, i, op, &rc);

	assert_int_equal(rc, 0);
	return q;
}

static struct cfs_op named_op(uint8_t kind, uint64_t dir, const char *name)
{
	struct cfs_op op = { .kind = kind, .ino = dir };

	assert_int_equal(cfs_op_set_name(op.name, name), 0);
	return op;
}

static struct req *sub_create(struct sim *s, int i, uint64_t dir, const char *name)
{
	struct cfs_op op = named_op(CFS_OP_CREATE, dir, name);

	return submit(s, i, &op);
}

static struct req *sub_mkdir(struct sim *s, int i, uint64_t dir, const char *name)
{
	struct cfs_op op = named_op(CFS_OP_MKDIR, dir, name);

	return submit(s, i, &op);
}

static struct req *sub_unlink(struct sim *s, int i, uint64_t dir, const char *name)
{
	struct cfs_op op = named_op(CFS_OP_UNLINK, dir, name);

	return submit(s, i, &op);
}

static struct req *sub_rename(struct sim *s, int i, uint64_t dir, const char *name, uint64_t dir2,
			      const char *name2)
{
	struct cfs_op op = named_op(CFS_OP_RENAME, dir, name);

	op.ino2 = dir2;
	assert_int_equal(cfs_op_set_name(op.name2, name2), 0);
	return submit(s, i, &op);
}

static struct req *sub_write(struct sim *s, int i, uint64_t ino, const char *data)
{
	struct cfs_op op = { .kind = CFS_OP_WRITE, .flags = CFS_WRITE_REPLACE, .ino = ino };

	op.data = data;
	op.size = strlen(data);
	return submit(s, i, &op);
}

static void expect_result(const struct req *q, int result)
{
	if (q->done != 1)
		fail_msg("reqid %llu of node %d: %d op_done calls", (unsigned long long)q->reqid,
			 q->node + 1, q->done);
	if (q->result != result)
		fail_msg("reqid %llu of node %d: result %d, expected %d",
			 (unsigned long long)q->reqid, q->node + 1, q->result, result);
}

/* Create `name` in the root through node i and fill it, waiting for each step. */
static uint64_t put(struct sim *s, int i, const char *name, const char *data)
{
	struct req *c = sub_create(s, i, CFS_ROOT_INODE, name);
	struct req *w;

	run(s);
	expect_result(c, 0);
	w = sub_write(s, i, c->inode, data);
	run(s);
	expect_result(w, 0);
	return c->inode;
}

/* ---- checks ---- */

/* Every accepted reqid got exactly one op_done, every refused one none. */
static void check_reqs(struct sim *s)
{
	for (size_t i = 0; i < s->nreqs; i++) {
		const struct req *q = &s->reqs[i];

		if (q->done != (q->accepted ? 1 : 0))
			fail_msg("reqid %llu of node %d (%s): %d op_done calls",
				 (unsigned long long)q->reqid, q->node + 1,
				 q->accepted ? "accepted" : "refused", q->done);
	}
}

static void check_no_reloads(struct sim *s)
{
	for (int i = 0; i < s->n; i++)
		if (s->nodes[i].reloads)
			fail_msg("node %d reloaded its state %u times", i + 1, s->nodes[i].reloads);
}

static struct cfs_replica_status status(struct sim *s, int i)
{
	struct cfs_replica_status st;

	cfs_replica_status(s->nodes[i].r, &st);
	return st;
}

static void assert_mode(struct sim *s, int i, enum cfs_replica_mode mode)
{
	struct cfs_replica_status st = status(s, i);

	if (st.mode != mode)
		fail_msg("node %d is %s, expected %s", i + 1, cfs_replica_mode_name(st.mode),
			 cfs_replica_mode_name(mode));
}

/* The nodes of `mask` have the same tree and history. */
static void assert_same(struct sim *s, unsigned mask)
{
	const struct cfs_state *a = NULL;
	int first = -1;

	for (int i = 0; i < s->n; i++) {
		const struct cfs_state *b;

		if (!(mask & (1u << i)))
			continue;
		b = &s->nodes[i].p->state;
		if (!a) {
			a = b;
			first = i;
			continue;
		}
		if (a->tree.version != b->tree.version || a->tree.nentries != b->tree.nentries ||
		    a->tree.nbytes != b->tree.nbytes || a->tree.digest.sum != b->tree.digest.sum ||
		    a->tree.digest.xor != b->tree.digest.xor)
			fail_msg("node %d (version %llu, %llu entries) and node %d (version %llu, "
				 "%llu entries) differ",
				 first + 1, (unsigned long long)a->tree.version,
				 (unsigned long long)a->tree.nentries, i + 1,
				 (unsigned long long)b->tree.version,
				 (unsigned long long)b->tree.nentries);
		assert_int_equal(a->auth_version, b->auth_version);
		assert_int_equal(a->lineage, b->lineage);
	}
}

static void assert_all_synced(struct sim *s)
{
	for (int i = 0; i < s->n; i++)
		if (s->nodes[i].up)
			assert_mode(s, i, CFS_REPLICA_SYNCED);
}

static struct cfs_state *state(struct sim *s, int i)
{
	return &s->nodes[i].p->state;
}

static void assert_content(struct sim *s, int i, const char *path, const char *data)
{
	const char *c = content(state(s, i), path);

	if (!c)
		fail_msg("node %d: %s is missing", i + 1, path);
	if (strcmp(c, data) != 0)
		fail_msg("node %d: %s holds \"%s\", expected \"%s\"", i + 1, path, c, data);
}

static void finish(struct sim *s)
{
	run(s);
	check_reqs(s);
	check_no_reloads(s);
}

/* ---- the scenarios ---- */

/* (1) Nodes join one by one: read-only alone, writable with a majority, all in sync. */
static void test_join_sync(void **ctx)
{
	struct sim *s = *ctx;
	int rc;
	struct cfs_op op = named_op(CFS_OP_CREATE, CFS_ROOT_INODE, "early");
	struct req *q;

	s->n = 3;
	node_start(s, 0, false);
	regroup_all(s);
	run(s);
	assert_mode(s, 0, CFS_REPLICA_SYNCED);
	assert_false(cfs_replica_writable(s->nodes[0].r));
	assert_false(s->nodes[0].writable);
	q = submit_rc(s, 0, &op, &rc);
	assert_int_equal(rc, -EACCES);
	assert_int_equal(q->done, 0);

	node_start(s, 1, false);
	regroup_all(s);
	run(s);
	assert_true(cfs_replica_writable(s->nodes[0].r));
	assert_true(cfs_replica_writable(s->nodes[1].r));
	put(s, 0, "a", "A");

	node_start(s, 2, false);
	regroup_all(s);
	run(s);
	assert_all_synced(s);
	assert_same(s, 0x7);
	for (int i = 0; i < 3; i++) {
		struct cfs_replica_status st = status(s, i);

		assert_true(s->nodes[i].synced >= 1);
		assert_true(s->nodes[i].writable);
		assert_true(st.writable);
		assert_true(st.authoritative);
		assert_int_equal(st.members, 3);
		assert_int_equal(st.leader.nodeid, 1);
		assert_int_equal(st.queued, 0);
		assert_int_equal(st.held, 0);
		assert_int_equal(cfs_replica_member_count(s->nodes[i].r), 3);
		assert_int_equal(cfs_replica_member(s->nodes[i].r, 2).nodeid, 3);
		assert_content(s, i, "a", "A");
	}
	/* Node 3 had nothing: it took the whole tree. */
	assert_int_equal(status(s, 2).full_updates_received, 1);
	assert_int_equal(status(s, 0).updates_sent, 1);
	/* The side channels reach everyone. */
	assert_int_equal(cfs_replica_send_other(s->nodes[1].r, CMSG_KV, "k=v", 3), 0);
	assert_int_equal(cfs_replica_send_other(s->nodes[1].r, CMSG_LOG, "log", 3), 0);
	assert_int_equal(
		cfs_replica_send_other(s->nodes[2].r, CMSG_CONF_WRITTEN, "\x07\0\0\0\0\0\0\0", 8),
		0);
	run(s);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(s->nodes[i].kv, 1);
		assert_int_equal(s->nodes[i].log, 1);
		assert_int_equal(s->nodes[i].conf_written, 1);
		assert_int_equal(s->nodes[i].conf_version, 7);
	}
	finish(s);
}

/* (2) Writes from all nodes, interleaved: the same tree everywhere, every op answered 0. */
static void test_interleaved_writes(void **ctx)
{
	struct sim *s = *ctx;
	struct req *c[3][10], *d[3];
	char name[64], data[64];

	start_cluster(s, 3);
	assert_all_synced(s);
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "dir%d", i + 1);
		d[i] = sub_mkdir(s, i, CFS_ROOT_INODE, name);
	}
	for (int k = 0; k < 10; k++)
		for (int i = 0; i < 3; i++) {
			snprintf(name, sizeof(name), "n%d-%d", i + 1, k);
			c[i][k] = sub_create(s, i, CFS_ROOT_INODE, name);
		}
	run(s);
	for (int i = 0; i < 3; i++) {
		expect_result(d[i], 0);
		for (int k = 0; k < 10; k++)
			expect_result(c[i][k], 0);
	}
	/* Each file is written by the next node; some move into directories, some go. */
	for (int k = 0; k < 10; k++)
		for (int i = 0; i < 3; i++) {
			snprintf(data, sizeof(data), "data %d-%d by %d", i + 1, k, (i + 1) % 3 + 1);
			sub_write(s, (i + 1) % 3, c[i][k]->inode, data);
		}
	/* Ops of different nodes have no order among them: the writes land first. */
	run(s);
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "n%d-0", i + 1);
		sub_rename(s, (i + 2) % 3, CFS_ROOT_INODE, name, d[(i + 1) % 3]->inode, "moved");
		snprintf(name, sizeof(name), "n%d-9", i + 1);
		sub_unlink(s, i, CFS_ROOT_INODE, name);
	}
	run(s);
	for (size_t i = 0; i < s->nreqs; i++)
		expect_result(&s->reqs[i], 0);
	assert_same(s, 0x7);
	for (int i = 0; i < 3; i++) {
		assert_content(s, i, "n2-5", "data 2-5 by 3");
		assert_content(s, i, "n3-1", "data 3-1 by 1");
		assert_content(s, i, "dir2/moved", "data 1-0 by 2");
		assert_content(s, i, "dir1/moved", "data 3-0 by 1");
		assert_null(at(state(s, i), "n1-9"));
		assert_int_equal(state(s, i)->tree.nentries, 1 + 3 + 3 * 9);
		assert_int_equal(state(s, i)->auth_version, state(s, i)->tree.version);
	}
	finish(s);
}

/* (3) Two nodes create the same name: the first in the total order wins, everywhere. */
static void test_duplicate_create(void **ctx)
{
	struct sim *s = *ctx;
	struct req *a, *b;
	uint64_t ino;

	start_cluster(s, 3);
	a = sub_create(s, 1, CFS_ROOT_INODE, "dup");
	b = sub_create(s, 0, CFS_ROOT_INODE, "dup");
	run(s);
	expect_result(a, 0);
	expect_result(b, -EEXIST);
	ino = a->inode;
	assert_int_not_equal(ino, 0);
	assert_same(s, 0x7);
	for (int i = 0; i < 3; i++) {
		struct cfs_entry *e = at(state(s, i), "dup");

		assert_non_null(e);
		assert_int_equal(e->inode, ino);
		assert_int_equal(e->writer, 2);
	}
	finish(s);
}

/* (4) A minority partition is read-only and catches up incrementally when it comes back. */
static void test_partition_incremental(void **ctx)
{
	struct sim *s = *ctx;
	struct cfs_replica_status before;
	struct cfs_op op = named_op(CFS_OP_CREATE, CFS_ROOT_INODE, "minority");
	struct req *c[50], *q;
	char name[64], data[64];
	int rc;

	start_cluster(s, 3);
	put(s, 0, "old", "old");
	put(s, 2, "gone", "soon");
	before = status(s, 2);

	regroup(s, (int[]){ 0, 0, 1 });
	run(s);
	assert_all_synced(s);
	assert_false(cfs_replica_writable(s->nodes[2].r));
	assert_false(s->nodes[2].writable);
	assert_true(cfs_replica_writable(s->nodes[0].r));
	q = submit_rc(s, 2, &op, &rc);
	assert_int_equal(rc, -EACCES);
	assert_int_equal(q->done, 0);

	for (int k = 0; k < 50; k++) {
		snprintf(name, sizeof(name), "f%02d", k);
		c[k] = sub_create(s, k % 2, CFS_ROOT_INODE, name);
	}
	run(s);
	for (int k = 0; k < 50; k++) {
		expect_result(c[k], 0);
		snprintf(data, sizeof(data), "file %d", k);
		sub_write(s, (k + 1) % 2, c[k]->inode, data);
	}
	sub_unlink(s, 0, CFS_ROOT_INODE, "gone");
	sub_rename(s, 1, CFS_ROOT_INODE, "old", CFS_ROOT_INODE, "renamed");
	run(s);
	assert_same(s, 0x3);
	assert_non_null(at(state(s, 2), "gone"));
	assert_null(at(state(s, 2), "f00"));

	regroup_all(s);
	run(s);
	assert_all_synced(s);
	assert_same(s, 0x7);
	{
		struct cfs_replica_status st = status(s, 2);

		assert_int_equal(st.updates_received, before.updates_received + 1);
		assert_int_equal(st.full_updates_received, before.full_updates_received);
		assert_int_equal(s->nodes[2].backups, 0);
		assert_true(st.writable);
	}
	assert_content(s, 2, "f07", "file 7");
	assert_content(s, 2, "f49", "file 49");
	assert_content(s, 2, "renamed", "old");
	assert_null(at(state(s, 2), "gone"));
	assert_null(at(state(s, 2), "old"));
	/* And writes from node 3 work again. */
	put(s, 2, "back", "3");
	assert_same(s, 0x7);
	finish(s);
}

/* (5) A forced-quorum node writes alone; the quorate majority wrote too: the majority wins. */
static void test_forced_loses(void **ctx)
{
	struct sim *s = *ctx;
	struct cfs_replica_status before;
	char name[64];

	start_cluster(s, 3);
	put(s, 0, "common", "c");
	s->nodes[2].forced = true;
	regroup(s, (int[]){ 0, 0, 1 });
	run(s);
	assert_true(cfs_replica_writable(s->nodes[2].r));
	assert_false(status(s, 2).authoritative);
	assert_true(status(s, 0).authoritative);
	for (int k = 0; k < 5; k++) {
		snprintf(name, sizeof(name), "mine%d", k);
		put(s, 2, name, "alone");
		snprintf(name, sizeof(name), "ours%d", k);
		put(s, k % 2, name, "majority");
	}
	/* The same name as a file on one side, a directory on the other. */
	sub_mkdir(s, 2, CFS_ROOT_INODE, "clash");
	put(s, 1, "clash", "file");
	assert_true(state(s, 2)->tree.version > state(s, 2)->auth_version);
	before = status(s, 2);

	s->nodes[2].forced = false;
	regroup_all(s);
	run(s);
	assert_all_synced(s);
	assert_same(s, 0x7);
	assert_int_equal(status(s, 2).full_updates_received, before.full_updates_received + 1);
	assert_int_equal(s->nodes[2].backups, 1);
	assert_int_equal(s->nodes[0].backups + s->nodes[1].backups, 0);
	assert_int_equal(status(s, 0).leader.nodeid, 1);
	for (int i = 0; i < 3; i++) {
		assert_null(at(state(s, i), "mine0"));
		assert_null(at(state(s, i), "mine4"));
		assert_content(s, i, "ours3", "majority");
		assert_content(s, i, "clash", "file");
		assert_content(s, i, "common", "c");
	}
	finish(s);
}

/*
 * (6) A forced-quorum node writes alone while the majority writes nothing.
 * Documented behaviour (replica.h: "the leader (the longest quorate history,
 * then the highest version ...)"): both sides have the same quorate history,
 * node 3 has more changes, so node 3 leads and its changes win; 1 and 2
 * catch up incrementally, and the forced changes become quorate history.
 */
static void test_forced_wins_when_majority_idle(void **ctx)
{
	struct sim *s = *ctx;

	start_cluster(s, 3);
	put(s, 0, "common", "c");
	s->nodes[2].forced = true;
	regroup(s, (int[]){ 0, 0, 1 });
	run(s);
	put(s, 2, "mine", "alone");
	sub_unlink(s, 2, CFS_ROOT_INODE, "common");
	run(s);

	s->nodes[2].forced = false;
	regroup_all(s);
	run(s);
	assert_all_synced(s);
	assert_same(s, 0x7);
	assert_int_equal(status(s, 0).leader.nodeid, 3);
	for (int i = 0; i < 3; i++) {
		assert_content(s, i, "mine", "alone");
		assert_null(at(state(s, i), "common"));
		assert_int_equal(state(s, i)->auth_version, state(s, i)->tree.version);
		assert_int_equal(s->nodes[i].backups, 0);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(status(s, i).updates_received, 1);
		assert_int_equal(status(s, i).full_updates_received, 0);
	}
	finish(s);
}

/* (7) Ops in flight across membership changes: applied or failed, never lost. */
static void test_ops_across_confchg(void **ctx)
{
	struct sim *s = *ctx;
	struct req *a, *b, *c, *h;
	struct cfs_op op;
	int rc;

	start_cluster(s, 3);

	/*
	 * Sent in the old ring: delivered there before the confchg, on all
	 * three. Node 1's op is confirmed by node 2's ack in the new ring. Node
	 * 3 cannot know that the others hold its op (their acks go to a ring
	 * it is not in) and its round ends without quorum: the result is
	 * unknown to it (-EIO), although the op lives on.
	 */
	a = sub_create(s, 0, CFS_ROOT_INODE, "a");
	b = sub_create(s, 2, CFS_ROOT_INODE, "b");
	regroup(s, (int[]){ 0, 0, 1 });
	run(s);
	expect_result(a, 0);
	expect_result(b, -EIO);
	assert_same(s, 0x7);

	/*
	 * A round cut short: SYNC_START, then an op of node 2 (pending), then a
	 * confchg before the STATEs. Node 2 must send it again after the next round.
	 */
	cfs_replica_request_sync(s->nodes[1].r, false);
	assert_true(step(s)); /* SYNC_REQ: node 1 sends SYNC_START */
	assert_int_equal(pending_events(s), 1);
	c = sub_create(s, 1, CFS_ROOT_INODE, "c");
	regroup_all(s); /* heal */
	assert_true(step(s)); /* SYNC_START: 1 and 2 send STATEs, in the new ring */
	assert_true(step(s)); /* c: queued during the exchange */
	assert_int_equal(status(s, 0).queued, 1);
	assert_int_equal(c->done, 0);
	run(s);
	expect_result(c, 0);
	assert_all_synced(s);
	assert_same(s, 0x7);
	for (int i = 0; i < 3; i++)
		assert_non_null(at(state(s, i), "c"));

	/* Submitted during a round in a partition whose quorum is known gone: refused at once. */
	regroup(s, (int[]){ 0, 0, 1 });
	assert_true(step(s));
	assert_true(step(s));
	assert_mode(s, 2, CFS_REPLICA_SYNCING);
	assert_false(s->nodes[2].writable);
	op = named_op(CFS_OP_CREATE, CFS_ROOT_INODE, "refused");
	h = submit_rc(s, 2, &op, &rc);
	assert_int_equal(rc, -EACCES);
	run(s);
	/*
	 * While the quorum service has not spoken of the new ring yet, the last
	 * word (quorate) holds: the op is held, and refused when the round ends
	 * read-only.
	 */
	regroup_all(s);
	run(s);
	s->quorum_late = true;
	regroup(s, (int[]){ 0, 0, 1 });
	assert_true(step(s));
	assert_true(step(s));
	assert_mode(s, 2, CFS_REPLICA_SYNCING);
	assert_true(s->nodes[2].writable);
	op = named_op(CFS_OP_CREATE, CFS_ROOT_INODE, "held");
	h = submit_rc(s, 2, &op, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(status(s, 2).held, 1);
	for (int i = 0; i < 3; i++)
		tell_quorum(s, &s->nodes[i]);
	run(s);
	expect_result(h, -EACCES);
	s->quorum_late = false;
	/*
	 * ... and in a writable one: held on a node that was in sync in a
	 * writable ring, then sent and applied; refused on the node back from
	 * the read-only partition (its tree may be old) until it is in sync.
	 */
	regroup_all(s);
	assert_true(step(s));
	op = named_op(CFS_OP_CREATE, CFS_ROOT_INODE, "behind");
	submit_rc(s, 2, &op, &rc);
	assert_int_equal(rc, -EACCES);
	op = named_op(CFS_OP_CREATE, CFS_ROOT_INODE, "held2");
	h = submit_rc(s, 0, &op, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(status(s, 0).held, 1);
	run(s);
	expect_result(h, 0);
	assert_true(s->nodes[2].writable);
	assert_same(s, 0x7);
	for (int i = 0; i < 3; i++)
		assert_non_null(at(state(s, i), "held2"));
	finish(s);
}

/*
 * The write lost by the outside fault test: node 2 delivers its own op and
 * drops out of the membership; nodes 1 and 3 never receive it and go on.
 * Node 2 must not report success: it never heard that anyone else holds the
 * op. After the heal the op exists nowhere, and the writer was told -EIO.
 */
static void test_own_op_lost_is_not_acknowledged(void **ctx)
{
	struct sim *s = *ctx;
	struct req *lost, *other;

	start_cluster(s, 3);
	lost = sub_create(s, 1, CFS_ROOT_INODE, "w-node2-11832");
	deliver_head_to_sender_only(s);
	assert_non_null(at(state(s, 1), "w-node2-11832"));
	assert_int_equal(lost->done, 0); /* applied on node 2, but nobody else has it */
	assert_int_equal(status(s, 1).unconfirmed, 1);

	regroup(s, (int[]){ 0, 1, 0 });
	run(s);
	expect_result(lost, -EIO);
	other = sub_create(s, 0, CFS_ROOT_INODE, "after");
	run(s);
	expect_result(other, 0);

	regroup_all(s);
	run(s);
	assert_all_synced(s);
	assert_same(s, 0x7);
	for (int i = 0; i < 3; i++) {
		assert_null(at(state(s, i), "w-node2-11832"));
		assert_non_null(at(state(s, i), "after"));
	}
	assert_int_equal(status(s, 1).unconfirmed_failed, 1);
	check_reqs(s);
}

/* An own op is answered only once another member said it holds it (2 of 3 votes). */
static void test_own_op_waits_for_a_majority(void **ctx)
{
	struct sim *s = *ctx;
	struct req *a;

	uint64_t acks2, acks3;

	start_cluster(s, 3);
	acks2 = status(s, 1).acks_sent;
	acks3 = status(s, 2).acks_sent;
	a = sub_create(s, 0, CFS_ROOT_INODE, "a");
	assert_true(step(s)); /* delivered and applied everywhere */
	for (int i = 0; i < 3; i++)
		assert_non_null(at(state(s, i), "a"));
	assert_int_equal(a->done, 0); /* the acks of nodes 2 and 3 are still on the bus */
	assert_true(step(s)); /* the ack of node 2, the one node 1 asked */
	expect_result(a, 0);
	run(s);
	expect_result(a, 0);
	/* One ack message for the op: node 3 was not asked (2 of 3 votes suffice). */
	assert_int_equal(status(s, 1).acks_sent - acks2, 1);
	assert_int_equal(status(s, 2).acks_sent - acks3, 0);
	finish(s);
}

/*
 * Applied everywhere, then the membership changes before the acks arrive:
 * the op waits for the acks of the next round, in which its history goes on.
 */
static void test_own_op_confirmed_in_next_round(void **ctx)
{
	struct sim *s = *ctx;
	struct req *a;

	start_cluster(s, 3);
	a = sub_create(s, 0, CFS_ROOT_INODE, "a");
	assert_true(step(s));
	assert_int_equal(a->done, 0);
	regroup(s, (int[]){ 0, 0, 1 }); /* node 3 leaves; 1 and 2 keep quorum */
	run(s);
	expect_result(a, 0);
	assert_int_equal(status(s, 0).unconfirmed, 0);
	finish(s);
}

/* Two nodes out of four never make a majority alone: a write waits until one more holds it. */
static void test_own_op_needs_expected_majority(void **ctx)
{
	struct sim *s = *ctx;
	struct req *a;

	start_cluster(s, 4);
	s->nodes[2].forced = false;
	a = sub_create(s, 0, CFS_ROOT_INODE, "a");
	assert_true(step(s)); /* applied on all four */
	assert_int_equal(a->done, 0);
	assert_true(step(s)); /* one ack: 2 of 4 votes, not more than half */
	assert_int_equal(a->done, 0);
	run(s);
	expect_result(a, 0);
	finish(s);
}

/*
 * An own op already multicast but not delivered back when the node leaves
 * the group is answered with -EIO (cfs_replica_left()); it once got no
 * answer at all, as only the held and queued ops were failed.
 */
static void test_left_fails_in_flight(void **ctx)
{
	struct sim *s = *ctx;
	struct req *a;

	start_cluster(s, 3);
	a = sub_create(s, 2, CFS_ROOT_INODE, "in-flight");
	node_stop(s, 2);
	regroup_all(s);
	run(s);
	/* Delivered to 1 and 2 in the old ring: applied there. */
	assert_non_null(at(state(s, 0), "in-flight"));
	assert_same(s, 0x3);
	if (a->done != 1)
		fail_msg("reqid %llu, in flight when node 3 left, got %d op_done calls "
			 "(expected one, -EIO)",
			 (unsigned long long)a->reqid, a->done);
	assert_int_equal(a->result, -EIO);
	finish(s);
}

/*
 * The same when the engine stops in CFS_REPLICA_ERROR: its own op in flight
 * comes back after the stop and is answered with -EIO (it was once dropped
 * unanswered).
 */
static void test_error_fails_in_flight(void **ctx)
{
	struct sim *s = *ctx;
	struct buf b = BUF_INIT;
	struct req *a;

	start_cluster(s, 3);
	a = sub_create(s, 1, CFS_ROOT_INODE, "in-flight");
	assert_int_equal(cmsg_begin(&b, CMSG_KV, 0), 0);
	b.data[4] = CMSG_PROTOCOL + 1;
	cfs_replica_deliver(s->nodes[1].r, s->nodes[0].self, b.data, b.len);
	buf_free(&b);
	assert_mode(s, 1, CFS_REPLICA_ERROR);
	run(s);
	assert_non_null(at(state(s, 0), "in-flight"));
	if (a->done != 1)
		fail_msg("reqid %llu, in flight when node 2 stopped in error, got %d "
			 "op_done calls (expected one, -EIO)",
			 (unsigned long long)a->reqid, a->done);
	assert_int_equal(a->result, -EIO);
	finish(s);
}

/* (8) Verification finds a node whose tree differs and gives it a full update. */
static void test_verify_repairs(void **ctx)
{
	struct sim *s = *ctx;
	struct cfs_op op = { .kind = CFS_OP_WRITE, .flags = CFS_WRITE_REPLACE, .time_ns = T0_NS };
	struct cfs_entry *e;
	struct cfs_blob *evil;

	start_cluster(s, 3);
	put(s, 0, "f", "good");
	put(s, 1, "g", "good too");

	/* Nothing differs: no failure. */
	cfs_replica_verify(s->nodes[1].r); /* not the lowest: does nothing */
	assert_int_equal(pending_events(s), 0);
	cfs_replica_verify(s->nodes[0].r);
	run(s);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(status(s, i).verifications, 1);
		assert_int_equal(status(s, i).verify_failures, 0);
	}

	/* Node 2 changes a file behind the group's back (a bug, a bit flip). */
	op.ino = ino_of(state(s, 1), "f");
	op.data = "evil";
	op.size = 4;
	assert_int_equal(cfs_state_apply(state(s, 1), &op, NULL), 0);
	cfs_replica_verify(s->nodes[0].r);
	run(s);
	assert_int_equal(status(s, 1).verify_failures, 1);
	assert_int_equal(status(s, 0).verify_failures, 0);
	assert_int_equal(status(s, 2).verify_failures, 0);
	assert_int_equal(status(s, 1).full_updates_received, 1);
	assert_int_equal(s->nodes[1].backups, 1);
	assert_all_synced(s);
	assert_same(s, 0x7);
	assert_content(s, 1, "f", "good");

	/* Same version, other content: only the digest tells. */
	e = at(state(s, 1), "g");
	evil = cfs_blob_new("bad", 3);
	assert_non_null(evil);
	cfs_tree_set_content(&state(s, 1)->tree, e, evil, e->content_version);
	assert_int_equal(state(s, 1)->tree.version, state(s, 0)->tree.version);
	cfs_replica_verify(s->nodes[0].r);
	run(s);
	assert_int_equal(status(s, 1).verify_failures, 2);
	assert_int_equal(status(s, 1).full_updates_received, 2);
	assert_all_synced(s);
	assert_same(s, 0x7);
	assert_content(s, 1, "g", "good too");
	put(s, 1, "after", "x");
	assert_same(s, 0x7);
	finish(s);
}

/*
 * Own ops delivered during the exchange of a round in which their node
 * takes an update: the update describes the state before them, so the node
 * applies them after it and its writers get real results, not -EIO.
 */
static void test_ops_during_exchange_of_an_updated_node(void **ctx)
{
	struct sim *s = *ctx;
	struct cfs_op op = { .kind = CFS_OP_WRITE, .flags = CFS_WRITE_REPLACE, .time_ns = T0_NS };
	struct req *fresh, *dup;

	start_cluster(s, 3);
	put(s, 0, "f", "good");
	/* Node 2 differs (a bit flip) and asks for a full update. */
	op.ino = ino_of(state(s, 1), "f");
	op.data = "evil";
	op.size = 4;
	assert_int_equal(cfs_state_apply(state(s, 1), &op, NULL), 0);
	cfs_replica_request_sync(s->nodes[1].r, true);
	assert_true(step(s)); /* SYNC_REQ: node 1 sends SYNC_START */
	/* Node 2, still in sync as far as it knows, sends two ops behind it. */
	fresh = sub_create(s, 1, CFS_ROOT_INODE, "fresh");
	dup = sub_create(s, 1, CFS_ROOT_INODE, "f");
	run(s);
	assert_int_equal(status(s, 1).full_updates_received, 1);
	expect_result(fresh, 0);
	expect_result(dup, -EEXIST);
	assert_all_synced(s);
	assert_same(s, 0x7);
	assert_content(s, 1, "f", "good");
	assert_non_null(at(state(s, 1), "fresh"));
	finish(s);
}

/*
 * Ops submitted in one turn of the loop leave in one message per node and
 * are applied in submission order; a batch not sent yet when a membership
 * change arrives waits for the round (held) and is sent after it.
 */
static void test_batches(void **ctx)
{
	struct sim *s = *ctx;
	struct req *q[8];
	int k = 0;

	start_cluster(s, 3);
	s->batching = true;
	q[k++] = sub_create(s, 0, CFS_ROOT_INODE, "a");
	q[k++] = sub_unlink(s, 0, CFS_ROOT_INODE, "a");
	q[k++] = sub_create(s, 0, CFS_ROOT_INODE, "a");
	q[k++] = sub_create(s, 0, CFS_ROOT_INODE, "a"); /* exists by now */
	q[k++] = sub_create(s, 1, CFS_ROOT_INODE, "b");
	q[k++] = sub_mkdir(s, 2, CFS_ROOT_INODE, "c");
	assert_int_equal(pending_events(s), 0);
	flush_all(s);
	assert_int_equal(pending_events(s), 3); /* one message per node */
	run(s);
	expect_result(q[0], 0);
	expect_result(q[1], 0);
	expect_result(q[2], 0);
	expect_result(q[3], -EEXIST);
	expect_result(q[4], 0);
	expect_result(q[5], 0);
	assert_same(s, 0x7);

	/* Cut off by a confchg before the loop sent them. */
	q[0] = sub_create(s, 1, CFS_ROOT_INODE, "d");
	q[1] = sub_create(s, 1, CFS_ROOT_INODE, "e");
	regroup(s, (int[]){ 0, 0, 1 });
	assert_true(deliver_next(s)); /* the confchg, before the send source ran */
	assert_int_equal(status(s, 1).held, 2);
	run(s);
	expect_result(q[0], 0);
	expect_result(q[1], 0);
	assert_same(s, 0x3);
	s->batching = false;
	regroup_all(s);
	run(s);
	assert_same(s, 0x7);
	assert_non_null(at(state(s, 2), "e"));
	finish(s);
}

/* (9) A message of a newer protocol stops the engine, which says why. */
static void test_newer_protocol(void **ctx)
{
	struct sim *s = *ctx;
	struct buf b = BUF_INIT;
	struct cfs_replica_status st;
	struct cfs_op op = named_op(CFS_OP_CREATE, CFS_ROOT_INODE, "x");
	struct req *q;
	int rc;

	start_cluster(s, 3);
	assert_int_equal(cmsg_begin(&b, CMSG_KV, 0), 0);
	b.data[4] = CMSG_PROTOCOL + 1; /* u32 magic, u16 protocol (LE) */
	b.data[5] = 0;
	cfs_replica_deliver(s->nodes[1].r, s->nodes[0].self, b.data, b.len);
	buf_free(&b);
	st = status(s, 1);
	assert_int_equal(st.mode, CFS_REPLICA_ERROR);
	{
		char want[32];

		snprintf(want, sizeof(want), "protocol %d,", CMSG_PROTOCOL + 1);
		assert_non_null(strstr(st.error, want));
	}
	assert_false(st.writable);
	assert_false(s->nodes[1].writable);
	assert_int_equal(s->nodes[1].kv, 0);
	q = submit_rc(s, 1, &op, &rc);
	assert_int_equal(rc, -ENOTCONN);
	assert_int_equal(q->done, 0);
	/* It ignores the group from now on (and stays stopped across rounds). */
	put(s, 0, "later", "x");
	assert_null(at(state(s, 1), "later"));
	assert_mode(s, 0, CFS_REPLICA_SYNCED);
	/*
	 * While it stays in the group, no round of the others can end: it never
	 * sends its STATE. (The daemon must take it out of the group.)
	 */
	cfs_replica_request_sync(s->nodes[0].r, false);
	run(s);
	assert_mode(s, 0, CFS_REPLICA_SYNCING);
	assert_mode(s, 2, CFS_REPLICA_SYNCING);
	assert_mode(s, 1, CFS_REPLICA_ERROR);
	/* The daemon takes it out of the group: the others go on. */
	node_stop(s, 1);
	regroup_all(s);
	run(s);
	assert_all_synced(s);
	put(s, 2, "still", "y");
	assert_same(s, 0x5);
	finish(s);
}

/* An older protocol is refused as well: its layout is not guessed at (UPDATE items changed in 3). */
static void test_older_protocol(void **ctx)
{
	struct sim *s = *ctx;
	struct buf b = BUF_INIT;
	struct cfs_replica_status st;
	char want[32];

	start_cluster(s, 3);
	assert_int_equal(cmsg_begin(&b, CMSG_KV, 0), 0);
	b.data[4] = CMSG_PROTOCOL - 1;
	b.data[5] = 0;
	cfs_replica_deliver(s->nodes[1].r, s->nodes[0].self, b.data, b.len);
	buf_free(&b);
	st = status(s, 1);
	assert_int_equal(st.mode, CFS_REPLICA_ERROR);
	snprintf(want, sizeof(want), "protocol %d,", CMSG_PROTOCOL - 1);
	assert_non_null(strstr(st.error, want));
	node_stop(s, 1);
	regroup_all(s);
	run(s);
	assert_all_synced(s);
	finish(s);
}

/* (10) Restarts: with the old database an incremental update, with an empty one a full one. */
static void test_restart(void **ctx)
{
	struct sim *s = *ctx;
	char name[64];

	start_cluster(s, 3);
	put(s, 0, "a", "1");
	put(s, 2, "b", "2");
	put(s, 1, "c", "3");

	node_stop(s, 2);
	regroup_all(s);
	run(s);
	for (int k = 0; k < 5; k++) {
		snprintf(name, sizeof(name), "while-away-%d", k);
		put(s, k % 2, name, "w");
	}
	sub_unlink(s, 0, CFS_ROOT_INODE, "b");
	run(s);
	node_start(s, 2, false);
	assert_true(state(s, 2)->tree.version < state(s, 0)->tree.version);
	assert_int_equal(state(s, 2)->lineage, state(s, 0)->lineage);
	regroup_all(s);
	run(s);
	assert_all_synced(s);
	assert_same(s, 0x7);
	assert_int_equal(status(s, 2).updates_received, 1);
	assert_int_equal(status(s, 2).full_updates_received, 0);
	assert_null(at(state(s, 2), "b"));
	assert_content(s, 2, "while-away-4", "w");

	node_stop(s, 1);
	regroup_all(s);
	run(s);
	put(s, 2, "d", "4");
	node_start(s, 1, true);
	assert_int_equal(state(s, 1)->tree.version, 1);
	regroup_all(s);
	run(s);
	assert_all_synced(s);
	assert_same(s, 0x7);
	assert_int_equal(status(s, 1).updates_received, 1);
	assert_int_equal(status(s, 1).full_updates_received, 1);
	assert_content(s, 1, "d", "4");
	assert_content(s, 1, "a", "1");

	/* What the updates brought is on disk: a restart finds it all. */
	node_stop(s, 1);
	node_stop(s, 2);
	node_start(s, 1, false);
	node_start(s, 2, false);
	assert_same(s, 0x7);
	regroup_all(s);
	run(s);
	assert_all_synced(s);
	assert_int_equal(status(s, 1).updates_received, 0);
	assert_int_equal(status(s, 2).updates_received, 0);
	assert_same(s, 0x7);
	finish(s);
}

/*
 * A node that took a full update knows no removals before its version
 * (its tombstone floor, raised by the resynced callback): as a leader it
 * must send a full update to a node from before that version, never an
 * incremental one without the removals it never saw.
 *
 *  - node 1 stops with file F;
 *  - 2 and 3 remove F;
 *  - node 3 restarts with an empty database: full update from node 2;
 *  - node 2 stops, node 1 comes back: node 3 leads (longer quorate
 *    history) and sends node 1 a full update.
 */
static void test_full_update_raises_tombstone_floor(void **ctx)
{
	struct sim *s = *ctx;

	start_cluster(s, 3);
	put(s, 0, "F", "doomed");
	put(s, 1, "keep", "k");
	node_stop(s, 0);
	regroup_all(s);
	run(s);
	sub_unlink(s, 1, CFS_ROOT_INODE, "F");
	run(s);
	node_stop(s, 2);
	regroup_all(s);
	run(s);
	node_start(s, 2, true);
	regroup_all(s);
	run(s);
	assert_int_equal(status(s, 2).full_updates_received, 1);
	assert_int_equal(cfs_store_info(s->nodes[2].p->store)->tombstone_floor,
			 state(s, 2)->tree.version);
	node_stop(s, 1);
	regroup_all(s);
	run(s);
	node_start(s, 0, false);
	regroup_all(s);
	run(s);
	assert_int_equal(status(s, 0).leader.nodeid, 3);
	assert_all_synced(s);
	assert_same(s, 0x5);
	assert_null(at(state(s, 0), "F"));
	assert_content(s, 0, "keep", "k");
	if (s->nodes[0].reloads)
		fail_msg("node 1 got an incremental update it could not apply and reloaded; "
			 "node 3's tombstone floor is %llu",
			 (unsigned long long)cfs_store_info(s->nodes[2].p->store)->tombstone_floor);
	assert_int_equal(status(s, 0).full_updates_received, 1);
	assert_int_equal(status(s, 0).updates_received, 1);
	finish(s);
}

/* Losing quorum while in sync: read-only at once, own ops refused, writable again on return. */
static void test_quorum_loss_in_sync(void **ctx)
{
	struct sim *s = *ctx;
	struct cfs_op op = named_op(CFS_OP_CREATE, CFS_ROOT_INODE, "refused");
	struct req *q;
	int rc;

	start_cluster(s, 3);
	/* The quorum service speaks before the ring changes. */
	s->nodes[2].ring_size = 1;
	tell_quorum(s, &s->nodes[2]);
	assert_false(cfs_replica_writable(s->nodes[2].r));
	assert_false(s->nodes[2].writable);
	q = submit_rc(s, 2, &op, &rc);
	assert_int_equal(rc, -EACCES);
	assert_int_equal(q->done, 0);
	run(s);
	/* Its SYNC_REQ made a new round: the ring as a whole is read-only now. */
	assert_all_synced(s);
	assert_false(cfs_replica_writable(s->nodes[0].r));
	s->nodes[2].ring_size = 3;
	tell_quorum(s, &s->nodes[2]);
	run(s);
	assert_all_synced(s);
	for (int i = 0; i < 3; i++)
		assert_true(cfs_replica_writable(s->nodes[i].r));
	put(s, 2, "ok", "x");
	assert_same(s, 0x7);
	finish(s);
}

/* Four nodes, two partitions of two: nobody may write; the heal brings everyone back. */
static void test_four_nodes_split_brain(void **ctx)
{
	struct sim *s = *ctx;
	struct cfs_op op = named_op(CFS_OP_CREATE, CFS_ROOT_INODE, "nope");
	int rc;

	start_cluster(s, 4);
	put(s, 3, "x", "4");
	regroup(s, (int[]){ 0, 0, 1, 1 });
	run(s);
	for (int i = 0; i < 4; i++) {
		assert_false(cfs_replica_writable(s->nodes[i].r));
		submit_rc(s, i, &op, &rc);
		assert_int_equal(rc, -EACCES);
	}
	regroup(s, (int[]){ 0, 1, 1, 1 });
	run(s);
	put(s, 3, "y", "back");
	regroup_all(s);
	run(s);
	assert_all_synced(s);
	assert_same(s, 0xf);
	assert_content(s, 0, "y", "back");
	assert_int_equal(status(s, 0).full_updates_received, 0);
	finish(s);
}

/*
 * The quorum service speaks after the confchg (corosync.c then says
 * "unknown"): a node cut off into a minority must not decide with the
 * quorum of its old ring, i.e. never become writable there.
 */
static void test_quorum_told_late(void **ctx)
{
	struct sim *s = *ctx;

	start_cluster(s, 3);
	s->quorum_late = true;
	s->nodes[2].ever_writable = false;
	regroup(s, (int[]){ 0, 0, 1 });
	run(s);
	/* Nobody sent a STATE: the rounds wait for the quorum. */
	for (int i = 0; i < 3; i++) {
		assert_mode(s, i, CFS_REPLICA_SYNCING);
		assert_false(cfs_replica_writable(s->nodes[i].r));
	}
	assert_false(s->nodes[2].ever_writable);
	for (int i = 0; i < 3; i++)
		tell_quorum(s, &s->nodes[i]);
	run(s);
	assert_all_synced(s);
	assert_false(s->nodes[2].ever_writable);
	assert_false(cfs_replica_writable(s->nodes[2].r));
	assert_true(cfs_replica_writable(s->nodes[0].r));
	put(s, 1, "majority", "m");
	/* Heal, quorum late again: the same, then one tree. */
	regroup_all(s);
	run(s);
	assert_mode(s, 2, CFS_REPLICA_SYNCING);
	for (int i = 0; i < 3; i++)
		tell_quorum(s, &s->nodes[i]);
	run(s);
	assert_all_synced(s);
	assert_same(s, 0x7);
	assert_int_equal(status(s, 2).full_updates_received, 0);
	finish(s);
}

/*
 * A round cut short while a node waits for its update: the update is lost
 * with the old ring, the node keeps its tree (never half an update) and
 * catches up in a later round.
 */
static void test_update_cut_short(void **ctx)
{
	struct sim *s = *ctx;
	struct req *q;
	uint64_t v3;

	start_cluster(s, 3);
	regroup(s, (int[]){ 0, 0, 1 });
	run(s);
	put(s, 0, "a", "1");
	sub_unlink(s, 1, CFS_ROOT_INODE, "a");
	put(s, 1, "b", "2");
	v3 = state(s, 2)->tree.version;

	regroup_all(s);
	assert_true(step(s)); /* confchg: node 1 sends SYNC_START */
	assert_true(step(s)); /* SYNC_START: everybody sends its STATE */
	assert_int_equal(pending_events(s), 3);
	q = sub_create(s, 0, CFS_ROOT_INODE, "c"); /* during the exchange */
	regroup(s, (int[]){ 0, 0, 1 }); /* the leader's update goes to the new ring */
	assert_true(step(s));
	assert_true(step(s));
	assert_true(step(s)); /* the last STATE: node 3 waits for its update */
	assert_mode(s, 2, CFS_REPLICA_UPDATING);
	run(s);
	expect_result(q, 0);
	assert_all_synced(s);
	assert_int_equal(state(s, 2)->tree.version, v3);
	assert_null(at(state(s, 2), "b"));
	assert_int_equal(status(s, 2).updates_received, 0);
	assert_false(cfs_replica_writable(s->nodes[2].r));
	assert_same(s, 0x3);

	regroup_all(s);
	run(s);
	assert_all_synced(s);
	assert_same(s, 0x7);
	assert_int_equal(status(s, 2).updates_received, 1);
	assert_int_equal(status(s, 2).full_updates_received, 0);
	assert_content(s, 2, "b", "2");
	assert_non_null(at(state(s, 2), "c"));
	assert_null(at(state(s, 2), "a"));
	finish(s);
}

/*
 * One round, three different needs: node 2 is a little behind, node 3
 * further (an old copy of its database), node 4 has nothing. The leader
 * sends one full and two incremental streams; each takes its own.
 */
static void test_three_needs_one_round(void **ctx)
{
	struct sim *s = *ctx;
	char cmd[600];

	start_cluster(s, 4);
	put(s, 0, "a", "1");
	put(s, 2, "gone1", "x");
	/* Node 3's database as of now, kept aside. */
	node_stop(s, 2);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/old' && cp '%s'* '%s/old/'", s->dir,
		 s->nodes[2].db, s->dir);
	assert_int_equal(system(cmd), 0);
	node_start(s, 2, false);
	regroup_all(s);
	run(s);
	sub_unlink(s, 3, CFS_ROOT_INODE, "gone1");
	put(s, 1, "b", "2");
	put(s, 2, "gone2", "y");
	node_stop(s, 1); /* node 2 stops here */
	regroup_all(s);
	run(s);
	sub_unlink(s, 0, CFS_ROOT_INODE, "gone2");
	put(s, 3, "c", "3");
	put(s, 2, "d", "4");
	/* Node 3 goes back to its old database, node 4 loses its own. */
	node_stop(s, 2);
	node_stop(s, 3);
	wipe_db(&s->nodes[2]);
	snprintf(cmd, sizeof(cmd), "cp '%s/old/'* '%s/'", s->dir, s->dir);
	assert_int_equal(system(cmd), 0);
	regroup_all(s);
	run(s);

	node_start(s, 1, false);
	node_start(s, 2, false);
	node_start(s, 3, true);
	assert_true(state(s, 2)->tree.version < state(s, 1)->tree.version);
	assert_true(state(s, 1)->tree.version < state(s, 0)->tree.version);
	regroup_all(s);
	run(s);
	assert_all_synced(s);
	assert_same(s, 0xf);
	assert_int_equal(status(s, 0).updates_sent, 3);
	assert_int_equal(status(s, 1).updates_received, 1);
	assert_int_equal(status(s, 1).full_updates_received, 0);
	assert_int_equal(status(s, 2).updates_received, 1);
	assert_int_equal(status(s, 2).full_updates_received, 0);
	assert_int_equal(status(s, 3).updates_received, 1);
	assert_int_equal(status(s, 3).full_updates_received, 1);
	for (int i = 1; i < 4; i++) {
		assert_content(s, i, "d", "4");
		assert_null(at(state(s, i), "gone1"));
		assert_null(at(state(s, i), "gone2"));
	}
	finish(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_join_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interleaved_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partition_incremental, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forced_loses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forced_wins_when_majority_idle, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ops_across_confchg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_left_fails_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_op_lost_is_not_acknowledged, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_own_op_waits_for_a_majority, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_op_confirmed_in_next_round, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_own_op_needs_expected_majority, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_error_fails_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_repairs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ops_during_exchange_of_an_updated_node, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_newer_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_older_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_update_raises_tombstone_floor, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_quorum_loss_in_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_four_nodes_split_brain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quorum_told_late, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_cut_short, setup, teardown),
		cmocka_unit_test_setup_teardown(test_three_needs_one_round, setup, teardown),
	};

	log_setup("test_replica", LOG_TARGET_STDERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
