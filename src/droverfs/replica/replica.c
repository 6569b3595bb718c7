/* SPDX-License-Identifier: MIT */
#include "replica.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "basic/array.h"
#include "basic/hash.h"
#include "basic/log.h"
#include "basic/util.h"
#include "basic/wire.h"
#include "droverfs/core/store.h"
#include "xfer.h"

#define MAX_MEMBERS 64
/* One UPDATE message carries about this much; libcpg fragments larger ones. */
#define UPDATE_MSG_SIZE (256u << 10)

/* A message kept for later: an op delivered while the state may not take it yet. */
struct queued {
	struct cfs_member from;
	struct buf msg; /* the payload of the OP message */
};

struct queue {
	struct queued *items;
	size_t n, cap;
};

struct member_state {
	struct cfs_member id;
	bool have_state;
	struct cmsg_state state;
	bool synced; /* in the round's state (in sync, or updated) */
	bool update_full; /* what it waits for, when not synced */
	uint64_t update_since;
	bool verify_in;
	struct cmsg_verify verify;
	bool acked_in; /* it said, in this round, that it holds every op up to acked */
	uint64_t acked;
};

/* An own op applied here, answered once members holding it carry enough votes. */
struct unconfirmed {
	uint64_t reqid;
	uint64_t version; /* members must hold the history up to this version */
	uint64_t applied_ns; /* when it was applied here (monotonic) */
	int result;
	struct cfs_result res;
};

struct verify_round {
	bool active;
	uint64_t id;
	struct cmsg_verify mine;
	size_t expected, received;
};

struct cfs_replica {
	struct cfs_persist *p;
	const struct cfs_replica_ops *ops;
	void *ctx;

	bool joined;
	struct cfs_member self;
	struct member_state members[MAX_MEMBERS];
	size_t nmembers;

	enum cfs_replica_mode mode;
	uint64_t epoch; /* of the round in force (0: none announced yet) */
	bool state_sent;
	bool quorum_known, quorate, forced;
	bool diverged; /* this node found itself different: it takes the leader's state whole */
	bool stale; /* lost quorum while the ring writes: applies nothing until resynced */
	bool told_writable; /* what the daemon was told last (writable callback) */
	/*
	 * The tree is the newest quorate state this node can know of: the last
	 * round ended with it in sync in a writable ring, and its quorum has
	 * held since. Only then may its users start writes during a round
	 * (built on its tree: a handle's content, a check at create).
	 */
	bool current;

	/* The round's decision. */
	struct cfs_member leader;
	bool ring_writable, authoritative;

	struct queue pending; /* ops delivered during the exchange */
	struct queue updates; /* ops delivered while this node waits for its update */
	struct cfs_xfer_in xin;

	struct buf *held; /* own ops (reqid + op) waiting for the round to end */
	size_t nheld, held_cap;

	/* Own ops accepted since the last send: one OP message for all of them. */
	struct buf batch;
	size_t nbatch;
	unsigned msgs_in_flight; /* own OP messages sent, not delivered back yet */

	/* Reqids of own OPs multicast and not delivered back yet, in send order. */
	uint64_t *inflight;
	size_t ninflight, inflight_cap;

	/* Own ops applied and not yet safe, in version order. */
	struct unconfirmed *unconf;
	size_t nunconf, unconf_cap;
	/* Acknowledgements: what this node holds durably and has told the round. */
	uint64_t committed; /* tree version at the last commit */
	uint64_t ack_owed; /* the members may hear that we hold this version (with our ops) */
	uint64_t ack_wanted; /* a sender asked us for an ack of this version: send it alone */
	uint64_t ack_sent; /* the highest version announced in this round */
	bool ack_in_flight; /* an own ACK message is on its way */
	uint64_t ack_req_ns; /* when this node last asked everyone for acks */

	struct verify_round verify;
	uint64_t verify_counter;

	uint64_t round_start_ns;
	struct cfs_replica_status stats;
	struct buf out; /* scratch for outgoing messages */
};

const char *cfs_replica_mode_name(enum cfs_replica_mode mode)
{
	switch (mode) {
	case CFS_REPLICA_OFFLINE:
		return "offline";
	case CFS_REPLICA_SYNCING:
		return "syncing";
	case CFS_REPLICA_UPDATING:
		return "updating";
	case CFS_REPLICA_SYNCED:
		return "synced";
	case CFS_REPLICA_ERROR:
		return "error";
	}
	return "?";
}

static int member_cmp(struct cfs_member a, struct cfs_member b)
{
	if (a.nodeid != b.nodeid)
		return a.nodeid < b.nodeid ? -1 : 1;
	return a.pid < b.pid ? -1 : a.pid > b.pid;
}

static bool member_eq(struct cfs_member a, struct cfs_member b)
{
	return member_cmp(a, b) == 0;
}

static struct member_state *find_member(struct cfs_replica *r, struct cfs_member m)
{
	for (size_t i = 0; i < r->nmembers; i++)
		if (member_eq(r->members[i].id, m))
			return &r->members[i];
	return NULL;
}

static bool is_lowest(const struct cfs_replica *r)
{
	return r->nmembers > 0 && member_eq(r->members[0].id, r->self);
}

static struct cfs_state *state_of(struct cfs_replica *r)
{
	return &r->p->state;
}

/* ---- queues ---- */

static int queue_push(struct queue *q, struct cfs_member from, const void *data, size_t len)
{
	struct queued *it;

	if (ARRAY_GROW(q->items, q->cap, q->n + 1) < 0)
		return -ENOMEM;
	it = &q->items[q->n];
	it->from = from;
	it->msg = (struct buf)BUF_INIT;
	if (buf_append(&it->msg, data, len) < 0)
		return -ENOMEM;
	q->n++;
	return 0;
}

/* Take the items out (the caller frees them with queue_items_free). */
static struct queued *queue_take(struct queue *q, size_t *n)
{
	struct queued *items = q->items;

	*n = q->n;
	*q = (struct queue){ 0 };
	return items;
}

static void queue_items_free(struct queued *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_free(&items[i].msg);
	free(items);
}

static int held_push(struct cfs_replica *r, const void *data, size_t len)
{
	if (ARRAY_GROW(r->held, r->held_cap, r->nheld + 1) < 0)
		return -ENOMEM;
	r->held[r->nheld] = (struct buf)BUF_INIT;
	if (buf_append(&r->held[r->nheld], data, len) < 0)
		return -ENOMEM;
	r->nheld++;
	return 0;
}

/* ---- messages ---- */

static int send_msg(struct cfs_replica *r, const struct buf *b)
{
	int rc = r->ops->send(r->ctx, b->data, b->len);

	if (rc < 0)
		log_warn("replica: cannot send to the group: %s", strerror(-rc));
	return rc;
}

static int send_simple(struct cfs_replica *r, uint16_t type, uint64_t epoch, const void *payload,
		       size_t len)
{
	int rc;

	buf_clear(&r->out);
	rc = cmsg_begin(&r->out, type, epoch);
	if (rc == 0 && len)
		rc = buf_append(&r->out, payload, len);
	if (rc == 0)
		rc = send_msg(r, &r->out);
	return rc;
}

static uint64_t random_epoch(void)
{
	uint64_t e = 0;

	if (getrandom(&e, sizeof(e), 0) != sizeof(e))
		e = now_monotonic_ns();
	return e ? e : 1;
}

/* Reqid of an own OP message (its first 8 payload bytes). */
static uint64_t op_reqid(const void *payload, size_t len)
{
	return len >= 8 ? le_get64((const unsigned char *)payload) : 0;
}

/* ---- own ops on the wire ---- */

static int inflight_push(struct cfs_replica *r, uint64_t reqid)
{
	if (ARRAY_GROW(r->inflight, r->inflight_cap, r->ninflight + 1) < 0)
		return -ENOMEM;
	r->inflight[r->ninflight++] = reqid;
	return 0;
}

/* An own OP came back: whatever happens to it now answers it. */
static void inflight_drop(struct cfs_replica *r, uint64_t reqid)
{
	for (size_t i = 0; i < r->ninflight; i++)
		if (r->inflight[i] == reqid) {
			memmove(r->inflight + i, r->inflight + i + 1,
				(r->ninflight - i - 1) * sizeof(*r->inflight));
			r->ninflight--;
			return;
		}
}

/* Sent, never to come back here: the result is unknown. */
static void fail_inflight(struct cfs_replica *r, int err)
{
	struct cfs_result res = { 0 };
	size_t n = r->ninflight;

	r->ninflight = 0;
	for (size_t i = 0; i < n; i++)
		r->ops->op_done(r->ctx, r->inflight[i], err, &res);
}

/* ---- own ops applied, waiting to be safe ---- */

static int unconfirmed_push(struct cfs_replica *r, uint64_t reqid, uint64_t version, int result,
			    const struct cfs_result *res)
{
	if (ARRAY_GROW(r->unconf, r->unconf_cap, r->nunconf + 1) < 0)
		return -ENOMEM;
	r->unconf[r->nunconf++] =
		(struct unconfirmed){ reqid, version, now_monotonic_ns(), result, *res };
	return 0;
}

/* The result of these ops is unknown here: they may live on elsewhere, or not. */
static void fail_unconfirmed(struct cfs_replica *r, int err)
{
	size_t n = r->nunconf;

	r->nunconf = 0;
	r->stats.unconfirmed_failed += n;
	for (size_t i = 0; i < n; i++)
		r->ops->op_done(r->ctx, r->unconf[i].reqid, err, &r->unconf[i].res);
}

static unsigned member_votes(struct cfs_replica *r, uint32_t nodeid)
{
	unsigned v = r->ops->node_votes ? r->ops->node_votes(r->ctx, nodeid) : 1;

	return v ? v : 1;
}

/*
 * Is the history up to `version` safe from the loss of any membership that
 * may go on? Yes when the members holding it carry more than half of the
 * votes the cluster expects (every quorate partition then has one of them,
 * and it leads or is caught up without loss), or when every member of a
 * quorate ring holds it (a partition that goes on without all of them
 * would need votes that are not in this ring: only a QDevice can give
 * those, see droverfs(8)).
 */
static bool version_safe(struct cfs_replica *r, uint64_t version)
{
	unsigned have = 0, ring = 0, expected;
	bool all = true;

	for (size_t i = 0; i < r->nmembers; i++) {
		const struct member_state *m = &r->members[i];
		unsigned votes = member_votes(r, m->id.nodeid);
		bool holds = member_eq(m->id, r->self) || (m->acked_in && m->acked >= version);

		ring += votes;
		if (holds)
			have += votes;
		else
			all = false;
	}
	if (all && r->ring_writable && !r->stale)
		return true;
	expected = r->ops->expected_votes ? r->ops->expected_votes(r->ctx) : 0;
	return have * 2 > MAX(expected, ring);
}

/* Answer the own ops that became safe (they are in version order). */
static void confirm_unconfirmed(struct cfs_replica *r)
{
	size_t done = 0;
	uint64_t now;

	if (r->mode != CFS_REPLICA_SYNCED || !r->ring_writable)
		return;
	while (done < r->nunconf && version_safe(r, r->unconf[done].version))
		done++;
	if (done == 0)
		return;
	now = now_monotonic_ns();
	for (size_t i = 0; i < done; i++) {
		r->stats.confirmed++;
		r->stats.confirm_wait_ns += now - r->unconf[i].applied_ns;
		r->ops->op_done(r->ctx, r->unconf[i].reqid, r->unconf[i].result, &r->unconf[i].res);
	}
	memmove(r->unconf, r->unconf + done, (r->nunconf - done) * sizeof(*r->unconf));
	r->nunconf -= done;
}

/* A member said it holds every op of this round up to version. */
static void note_ack(struct cfs_replica *r, struct cfs_member from, uint64_t epoch,
		     uint64_t version)
{
	struct member_state *m = find_member(r, from);

	/* Kept while this node is still being updated: it confirms once in sync. */
	if (!m || epoch == 0 || epoch != r->epoch || version == 0)
		return;
	if (!m->acked_in || version > m->acked) {
		m->acked = version;
		m->acked_in = true;
	}
	confirm_unconfirmed(r);
}

/* The next version to announce, or 0: committed here and not told yet. */
static uint64_t ack_to_announce(const struct cfs_replica *r)
{
	if (r->mode != CFS_REPLICA_SYNCED || !r->ring_writable || r->stale)
		return 0;
	return r->committed > r->ack_sent ? r->committed : 0;
}

/*
 * Tell the round how far this node holds its ops, alone in an ACK message,
 * when it owes that and no own message will carry it soon. One ACK on the
 * wire at a time: under load the acks of many ops share one.
 */
static void maybe_send_ack(struct cfs_replica *r)
{
	unsigned char v[8];
	uint64_t version;

	if (r->ack_in_flight || r->ack_wanted <= r->ack_sent || r->nbatch)
		return;
	version = ack_to_announce(r);
	if (!version)
		return;
	le_put64(v, version);
	if (send_simple(r, CMSG_ACK, r->epoch, v, sizeof(v)) == 0) {
		r->ack_sent = version;
		r->ack_in_flight = true;
		r->stats.acks_sent++;
	}
}

/* ---- completing own ops that cannot be applied here ---- */

static void fail_own(struct cfs_replica *r, const struct queued *q, int err)
{
	struct cfs_result res = { 0 };

	if (member_eq(q->from, r->self))
		r->ops->op_done(r->ctx, op_reqid(q->msg.data, q->msg.len), err, &res);
}

static void fail_queue(struct cfs_replica *r, struct queue *q, int err)
{
	size_t n;
	struct queued *items = queue_take(q, &n);

	for (size_t i = 0; i < n; i++)
		fail_own(r, &items[i], err);
	queue_items_free(items, n);
}

static void fail_held(struct cfs_replica *r, int err)
{
	struct cfs_result res = { 0 };

	for (size_t i = 0; i < r->nheld; i++) {
		r->ops->op_done(r->ctx, op_reqid(r->held[i].data, r->held[i].len), err, &res);
		buf_free(&r->held[i]);
	}
	r->nheld = 0;
}

/*
 * Ops of this node delivered in a round that was cut short were applied
 * nowhere: send them again once a round ends.
 */
static void rehold_pending(struct cfs_replica *r)
{
	size_t n;
	struct queued *items = queue_take(&r->pending, &n);

	struct buf *later = r->held;
	size_t nlater = r->nheld;

	/* They were sent before anything held now was submitted: they go first. */
	r->held = NULL;
	r->nheld = r->held_cap = 0;
	for (size_t i = 0; i < n; i++) {
		if (!member_eq(items[i].from, r->self))
			continue;
		if (held_push(r, items[i].msg.data, items[i].msg.len) < 0)
			fail_own(r, &items[i], -ENOMEM);
	}
	queue_items_free(items, n);
	for (size_t i = 0; i < nlater; i++) {
		if (held_push(r, later[i].data, later[i].len) < 0) {
			struct cfs_result res = { 0 };

			r->ops->op_done(r->ctx, op_reqid(later[i].data, later[i].len), -ENOMEM,
					&res);
		}
		buf_free(&later[i]);
	}
	free(later);
}

/* ---- batches: several own ops in one OP message ---- */

/* The OP payload is a sequence of units: u32 length, then the unit (u64 reqid, op). */
#define OP_BATCH_MAX (256u << 10)
/*
 * Own OP messages on the wire at once. While one is out, new ops collect in
 * the batch: concurrent writers then share a message, which is what costs
 * (corosync's IPC and its token), and a lone writer waits for nothing.
 */
#define OP_MSGS_IN_FLIGHT 1

static void batch_fail(struct cfs_replica *r, int err);

/*
 * Which members should acknowledge the ops of this message alone: the ones
 * after this node in the ring's order, until they and this node carry more
 * than half of the votes (the others' acks come for free, on their own
 * messages). All of them when the ring cannot make that majority.
 */
static size_t choose_ackers(struct cfs_replica *r, uint32_t *ids)
{
	unsigned expected = r->ops->expected_votes ? r->ops->expected_votes(r->ctx) : 0;
	unsigned ring = 0, have = 0, need;
	size_t self = 0, n = 0;

	for (size_t i = 0; i < r->nmembers; i++) {
		ring += member_votes(r, r->members[i].id.nodeid);
		if (member_eq(r->members[i].id, r->self))
			self = i;
	}
	need = MAX(expected, ring);
	have = member_votes(r, r->self.nodeid);
	for (size_t k = 1; k < r->nmembers && have * 2 <= need; k++) {
		const struct member_state *m = &r->members[(self + k) % r->nmembers];

		ids[n++] = m->id.nodeid;
		have += member_votes(r, m->id.nodeid);
	}
	return n;
}

/*
 * The OP message: the round's epoch, what this node holds (u64, 0: nothing
 * to say), the members asked to acknowledge (u16 count, u32 node ids), the
 * batch of ops.
 */
static int build_op_message(struct cfs_replica *r, struct buf *out)
{
	uint64_t version = ack_to_announce(r);
	uint32_t ids[MAX_MEMBERS];
	size_t nids = choose_ackers(r, ids);
	unsigned char head[8 + 2], id[4];
	int rc;

	buf_clear(out);
	rc = cmsg_begin(out, CMSG_OP, r->epoch);
	le_put64(head, version);
	le_put16(head + 8, (uint16_t)nids);
	if (rc == 0)
		rc = buf_append(out, head, sizeof(head));
	for (size_t i = 0; rc == 0 && i < nids; i++) {
		le_put32(id, ids[i]);
		rc = buf_append(out, id, sizeof(id));
	}
	if (rc == 0)
		rc = buf_append(out, r->batch.data, r->batch.len);
	if (rc == 0 && version) {
		r->ack_sent = version;
		r->stats.acks_piggybacked++;
	}
	return rc;
}

/* Multicast the batch. 0 or -errno (then its ops are answered with it). */
static int batch_send(struct cfs_replica *r)
{
	int rc;

	if (r->nbatch == 0)
		return 0;
	rc = build_op_message(r, &r->out);
	if (rc == 0)
		rc = send_msg(r, &r->out);
	if (rc < 0) {
		batch_fail(r, rc);
		return rc;
	}
	buf_clear(&r->batch);
	r->nbatch = 0;
	r->msgs_in_flight++;
	return 0;
}

static bool batch_may_go(const struct cfs_replica *r)
{
	return r->nbatch > 0 && r->msgs_in_flight < OP_MSGS_IN_FLIGHT;
}

/* Queue one unit (u64 reqid + op) for the next send. */
static int batch_add(struct cfs_replica *r, const void *unit, size_t len)
{
	unsigned char n[4];
	size_t undo;
	int rc;

	if (r->nbatch && r->batch.len + 4 + len > OP_BATCH_MAX) {
		rc = batch_send(r); /* full: it goes now, whatever is in flight */
		if (rc < 0)
			return rc;
	}
	if (r->nbatch == 0)
		buf_clear(&r->batch);
	undo = r->batch.len;
	le_put32(n, (uint32_t)len);
	rc = buf_append(&r->batch, n, sizeof(n));
	if (rc == 0)
		rc = buf_append(&r->batch, unit, len);
	if (rc == 0)
		rc = inflight_push(r, op_reqid(unit, len));
	if (rc < 0) {
		r->batch.len = undo;
		return rc;
	}
	r->nbatch++;
	if (batch_may_go(r) && r->ops->flush_soon)
		r->ops->flush_soon(r->ctx);
	return 0;
}

/* One of our OP messages came back: the next batch may go. */
static void batch_returned(struct cfs_replica *r)
{
	if (r->msgs_in_flight > 0)
		r->msgs_in_flight--;
	if (batch_may_go(r) && r->ops->flush_soon)
		r->ops->flush_soon(r->ctx);
}

/* Walk the units of an OP payload: 1 (unit and len set), 0 at the end, or -EBADMSG. */
static int next_unit(const unsigned char **p, size_t *left, const void **unit, size_t *len)
{
	uint32_t n;

	if (*left == 0)
		return 0;
	if (*left < 4)
		return -EBADMSG;
	n = le_get32(*p);
	if (n < 8 || n > *left - 4)
		return -EBADMSG;
	*unit = *p + 4;
	*len = n;
	*p += 4 + n;
	*left -= 4 + n;
	return 1;
}

/*
 * Take the unsent ops out of the batch: held again (err 0) when a round
 * begins, since they were never on the wire, or answered with err.
 */
static void batch_drain(struct cfs_replica *r, int err)
{
	struct cfs_result res = { 0 };
	const unsigned char *p = r->batch.data;
	size_t plen = r->batch.len, len;
	const void *unit;

	if (r->nbatch == 0)
		return;
	{
		while (next_unit(&p, &plen, &unit, &len) == 1) {
			uint64_t reqid = op_reqid(unit, len);
			int rc = err;

			inflight_drop(r, reqid);
			if (rc == 0 && held_push(r, unit, len) < 0)
				rc = -ENOMEM;
			if (rc < 0)
				r->ops->op_done(r->ctx, reqid, rc, &res);
		}
	}
	buf_clear(&r->batch);
	r->nbatch = 0;
}

static void batch_fail(struct cfs_replica *r, int err)
{
	batch_drain(r, err);
}

static void batch_to_held(struct cfs_replica *r)
{
	batch_drain(r, 0);
}

static void send_held(struct cfs_replica *r)
{
	size_t i;

	for (i = 0; i < r->nheld; i++) {
		if (batch_add(r, r->held[i].data, r->held[i].len) < 0)
			break;
		buf_free(&r->held[i]);
	}
	if (i < r->nheld) {
		/* The connection is failing; left() will answer the rest. */
		memmove(r->held, r->held + i, (r->nheld - i) * sizeof(*r->held));
	}
	r->nheld -= i;
}

/* ---- applying ops ---- */

static void apply_op(struct cfs_replica *r, struct cfs_member from, const void *payload, size_t len)
{
	struct cfs_state *st = state_of(r);
	struct cfs_result res = { 0 };
	struct cfs_op op;
	bool own = member_eq(from, r->self);
	uint64_t reqid = op_reqid(payload, len);
	int rc;

	if (len < 8) {
		rc = -EBADMSG;
	} else {
		rc = cfs_op_decode((const char *)payload + 8, len - 8, &op);
	}
	if (rc == -EPROTO) {
		/* Every node refuses it alike: no divergence, but say why. */
		log_err("replica: an operation from node %" PRIu32
			" uses a newer encoding; refused",
			from.nodeid);
	} else if (rc < 0) {
		log_err("replica: malformed operation from node %" PRIu32 "; refused", from.nodeid);
	} else if (!r->ring_writable) {
		rc = -EACCES;
	} else {
		st->authoritative = r->authoritative;
		op.writer = from.nodeid;
		rc = cfs_persist_apply(r->p, &op, &res);
		st->authoritative = false;
		if (!own) {
			r->ack_owed = st->tree.version;
			return;
		}
		/* Its result stands on the history up to here: answered once that is safe. */
		if (unconfirmed_push(r, reqid, st->tree.version, rc, &res) < 0)
			r->ops->op_done(r->ctx, reqid, -EIO, &res);
		else
			confirm_unconfirmed(r);
		return;
	}
	if (own)
		r->ops->op_done(r->ctx, reqid, rc, &res);
}

static void apply_queue(struct cfs_replica *r, struct queue *q)
{
	size_t n;
	struct queued *items = queue_take(q, &n);

	for (size_t i = 0; i < n; i++)
		apply_op(r, items[i].from, items[i].msg.data, items[i].msg.len);
	queue_items_free(items, n);
}

/* ---- the sync round ---- */

static void cancel_verify(struct cfs_replica *r)
{
	r->verify.active = false;
	r->verify.received = 0;
	for (size_t i = 0; i < r->nmembers; i++)
		r->members[i].verify_in = false;
}

/* Leave whatever the previous round was doing: a new one starts. */
static void abandon_round(struct cfs_replica *r)
{
	if (r->mode == CFS_REPLICA_UPDATING) {
		/* Applied elsewhere, unknown here: the result of own ops is unknown. */
		fail_queue(r, &r->updates, -EIO);
		cfs_xfer_in_free(&r->xin);
	}
	rehold_pending(r);
	batch_to_held(r);
	/* What is still out comes back in the new ring, or never: do not wait for it. */
	r->msgs_in_flight = 0;
	r->ack_in_flight = false;
	r->ack_sent = 0;
	cancel_verify(r);
	r->epoch = 0;
	r->state_sent = false;
	for (size_t i = 0; i < r->nmembers; i++) {
		r->members[i].have_state = false;
		r->members[i].synced = false;
		r->members[i].acked_in = false;
		r->members[i].acked = 0;
	}
	if (r->mode != CFS_REPLICA_ERROR) {
		if (r->mode == CFS_REPLICA_SYNCED || r->mode == CFS_REPLICA_OFFLINE)
			r->round_start_ns = now_monotonic_ns();
		r->mode = CFS_REPLICA_SYNCING;
	}
}

static void fill_state(struct cfs_replica *r, struct cmsg_state *s)
{
	const struct cfs_state *st = state_of(r);

	memset(s, 0, sizeof(*s));
	s->quorate = r->quorate;
	s->forced = r->forced;
	s->diverged = r->diverged;
	s->version = st->tree.version;
	s->auth_version = st->auth_version;
	s->lineage = st->lineage;
	s->digest = st->tree.digest;
	s->nentries = st->tree.nentries;
	s->tombstone_floor = cfs_store_info(r->p->store)->tombstone_floor;
	s->limits = st->limits;
}

static void maybe_send_state(struct cfs_replica *r)
{
	struct cmsg_state s;

	if (r->mode != CFS_REPLICA_SYNCING || r->epoch == 0 || r->state_sent || !r->quorum_known)
		return;
	fill_state(r, &s);
	buf_clear(&r->out);
	if (cmsg_begin(&r->out, CMSG_STATE, r->epoch) == 0 && cmsg_put_state(&r->out, &s) == 0 &&
	    send_msg(r, &r->out) == 0)
		r->state_sent = true;
}

/* The longest quorate history, then the most changes, then the lowest member. */
static bool better_leader(const struct member_state *a, const struct member_state *b)
{
	if (a->state.auth_version != b->state.auth_version)
		return a->state.auth_version > b->state.auth_version;
	if (a->state.version != b->state.version)
		return a->state.version > b->state.version;
	return member_cmp(a->id, b->id) < 0;
}

static struct member_state *choose_leader(struct cfs_replica *r)
{
	struct member_state *best = NULL;

	for (int pass = 0; pass < 2 && !best; pass++)
		for (size_t i = 0; i < r->nmembers; i++) {
			struct member_state *m = &r->members[i];

			/* A node that found itself different never leads, unless all did. */
			if (pass == 0 && m->state.diverged)
				continue;
			if (!best || better_leader(m, best))
				best = m;
		}
	return best;
}

static bool same_state(const struct cmsg_state *a, const struct cmsg_state *b)
{
	return a->version == b->version && a->digest.sum == b->digest.sum &&
	       a->digest.xor == b->digest.xor &&a->nentries == b->nentries;
}

/* Can m catch up with only what changed after its version? */
static bool incremental_ok(const struct cmsg_state *m, const struct cmsg_state *l)
{
	return !m->diverged && l->lineage != 0 && m->lineage == l->lineage &&
	       m->version == m->auth_version && m->auth_version <= l->auth_version &&
	       m->version >= l->tombstone_floor && m->version <= l->version;
}

/*
 * The ring's state became quorate history: whatever the leader had beyond
 * its authoritative version was adopted by a majority.
 */
static void adopt_history(struct cfs_replica *r)
{
	struct cfs_state *st = state_of(r);

	if (!r->authoritative)
		return;
	st->auth_version = st->tree.version;
	if (st->lineage == 0)
		st->lineage = hash_add64(hash_mix64(st->tree.version ^ st->tree.digest.sum),
					 st->tree.digest.xor) |
			      1;
}

/*
 * May this node's users write now? During a round, a node whose tree is
 * current keeps accepting (its local quorum decides; until the quorum
 * service has spoken of the new ring, the answer stays as it was): ops
 * submitted then wait for the round (held) instead of failing, and fail
 * with EACCES only if the round ends read-only. A node that may be behind
 * (just started, back from a read-only partition, being updated) accepts
 * nothing until it is in sync: its writes would build on an old tree.
 */
static bool accepts_writes(const struct cfs_replica *r)
{
	if (!r->joined || r->stale)
		return false;
	switch (r->mode) {
	case CFS_REPLICA_SYNCING:
		if (!r->current)
			return false;
		return r->quorum_known ? r->quorate : r->told_writable;
	case CFS_REPLICA_SYNCED:
		return r->ring_writable;
	default:
		return false;
	}
}

/* Tell the daemon when the answer changes. */
static void tell_writable(struct cfs_replica *r)
{
	bool now = accepts_writes(r);

	if (now == r->told_writable)
		return;
	r->told_writable = now;
	r->ops->writable(r->ctx, now);
}

static void become_synced(struct cfs_replica *r)
{
	r->mode = CFS_REPLICA_SYNCED;
	r->current = r->ring_writable && !r->stale;
	r->diverged = false;
	r->stats.last_sync_ns = now_monotonic_ns() - r->round_start_ns;
	tell_writable(r);
	if (r->ring_writable) {
		send_held(r);
		/* Own ops still unconfirmed went on with this history: the round confirms them. */
		r->ack_owed = state_of(r)->tree.version;
		r->ack_wanted = r->ack_owed; /* everyone: own ops of earlier rounds wait */
		maybe_send_ack(r);
		confirm_unconfirmed(r);
	} else {
		fail_held(r, -EACCES);
		fail_unconfirmed(r, -EIO);
	}
	r->ops->synced(r->ctx);
}

static int collect_tombstones(struct cfs_replica *r, uint64_t since, struct cfs_removal **out,
			      size_t *n)
{
	const struct cfs_state *st = state_of(r);
	struct cfs_removal *arr;
	size_t count, cap;
	int rc = cfs_store_tombstones(r->p->store, since, &arr, &count);

	if (rc < 0)
		return rc;
	cap = count; /* the store's array is exactly as long as its list */
	if (st->nremoved) {
		if (ARRAY_GROW(arr, cap, count + st->nremoved) < 0) {
			free(arr);
			return -ENOMEM;
		}
		for (size_t i = 0; i < st->nremoved; i++)
			if (st->removed[i].version > since)
				arr[count++] = st->removed[i];
	}
	*out = arr;
	*n = count;
	return 0;
}

static int send_stream(struct cfs_replica *r, bool full, uint64_t since)
{
	struct cfs_removal *tombs = NULL;
	size_t ntombs = 0;
	struct cfs_xfer_out x = { 0 };
	int rc = 0;

	if (!full)
		rc = collect_tombstones(r, since, &tombs, &ntombs);
	if (rc == 0)
		rc = cfs_xfer_build(state_of(r), tombs, ntombs, since, full, r->epoch,
				    UPDATE_MSG_SIZE, &x);
	free(tombs);
	for (size_t i = 0; rc == 0 && i < x.nmsgs; i++)
		rc = send_msg(r, &x.msgs[i]);
	if (rc == 0) {
		buf_clear(&r->out);
		rc = cmsg_begin(&r->out, CMSG_UPDATE_END, r->epoch);
		if (rc == 0)
			rc = cmsg_put_update_end(&r->out, &x.end);
		if (rc == 0)
			rc = send_msg(r, &r->out);
	}
	if (rc == 0) {
		r->stats.updates_sent++;
		log_info("replica: sent %s update (%" PRIu64 " entries, %" PRIu64
			 " tombstones, %zu messages) up to version %" PRIu64,
			 full ? "a full" : "an incremental", x.end.entries_sent,
			 x.end.tombstones_sent, x.nmsgs, x.end.version);
	} else {
		log_err("replica: cannot send the update: %s", strerror(-rc));
	}
	cfs_xfer_out_free(&x);
	return rc;
}

/* The leader sends one stream per distinct need, full first. */
static void lead_updates(struct cfs_replica *r)
{
	uint64_t sent_since[MAX_MEMBERS];
	size_t nsent = 0;
	bool full_sent = false;

	for (size_t i = 0; i < r->nmembers; i++) {
		struct member_state *m = &r->members[i];

		if (m->synced || !m->update_full || full_sent)
			continue;
		send_stream(r, true, 0);
		full_sent = true;
	}
	for (size_t i = 0; i < r->nmembers; i++) {
		struct member_state *m = &r->members[i];
		bool dup = false;

		if (m->synced || m->update_full)
			continue;
		for (size_t k = 0; k < nsent; k++)
			dup |= sent_since[k] == m->update_since;
		if (dup)
			continue;
		send_stream(r, false, m->update_since);
		sent_since[nsent++] = m->update_since;
	}
}

static void decide(struct cfs_replica *r)
{
	struct member_state *leader = choose_leader(r);
	struct member_state *me = find_member(r, r->self);
	bool writable = true, forced = false;

	if (!me || !leader)
		return;
	for (size_t i = 0; i < r->nmembers; i++) {
		writable &= r->members[i].state.quorate;
		forced |= r->members[i].state.forced;
	}
	r->ring_writable = writable;
	r->authoritative = writable && !forced;
	r->leader = leader->id;
	r->stats.rounds++;
	for (size_t i = 0; i < r->nmembers; i++) {
		struct member_state *m = &r->members[i];

		m->synced = m == leader || same_state(&m->state, &leader->state);
		m->update_full = !incremental_ok(&m->state, &leader->state);
		m->update_since = m->update_full ? 0 : m->state.version;
	}
	log_info("replica: round %016" PRIx64 ": %zu members, leader node %" PRIu32
		 " (version %" PRIu64 ", quorate history to %" PRIu64 "), %s%s",
		 r->epoch, r->nmembers, leader->id.nodeid, leader->state.version,
		 leader->state.auth_version, writable ? "quorate" : "read-only (no quorum)",
		 writable && forced ? ", forced" : "");

	if (me->synced) {
		/* The decision already counts this node's present quorum. */
		r->stale = false;
		adopt_history(r);
		/*
		 * The update describes the state before the ops delivered during
		 * the exchange: its receivers apply those after it, as we do now,
		 * so their writers get real results instead of "unknown".
		 */
		if (member_eq(r->self, leader->id))
			lead_updates(r);
		apply_queue(r, &r->pending);
		become_synced(r);
		return;
	}
	fail_queue(r, &r->updates, -EIO); /* empty: only UPDATING fills it */
	r->updates = r->pending;
	r->pending = (struct queue){ 0 };
	r->mode = CFS_REPLICA_UPDATING;
	r->current = false;
	tell_writable(r);
	log_notice("replica: this node (version %" PRIu64 ") takes %s update from node %" PRIu32,
		   me->state.version, me->update_full ? "a full" : "an incremental",
		   leader->id.nodeid);
}

static void on_sync_start(struct cfs_replica *r, struct cfs_member from, uint64_t epoch)
{
	if (!r->nmembers || !member_eq(from, r->members[0].id))
		return; /* from a ring that is gone */
	abandon_round(r);
	r->epoch = epoch;
	maybe_send_state(r);
}

static void on_state(struct cfs_replica *r, struct cfs_member from, const struct cmsg_header *h,
		     const void *payload, size_t len)
{
	struct member_state *m = find_member(r, from);

	if (r->mode != CFS_REPLICA_SYNCING || h->epoch != r->epoch || !m || m->have_state)
		return;
	if (cmsg_get_state(payload, len, &m->state) < 0) {
		log_err("replica: malformed STATE from node %" PRIu32, from.nodeid);
		return; /* the round stalls until the next change; never guess */
	}
	m->have_state = true;
	for (size_t i = 0; i < r->nmembers; i++)
		if (!r->members[i].have_state)
			return;
	decide(r);
}

/* ---- the update ---- */

static void mark_updated(struct cfs_replica *r, const struct cmsg_update_end *end)
{
	for (size_t i = 0; i < r->nmembers; i++) {
		struct member_state *m = &r->members[i];

		if (!m->synced && m->update_full == end->full &&
		    (end->full || m->update_since == end->since))
			m->synced = true;
	}
}

static void finish_update(struct cfs_replica *r, const struct cmsg_update_end *end)
{
	char err[200];
	int rc;

	r->ops->commit(r->ctx);
	if (end->full) {
		/* This node's history is replaced: whether its own ops live on is unknown. */
		fail_unconfirmed(r, -EIO);
		rc = r->ops->backup(r->ctx);
		if (rc < 0)
			log_warn("replica: cannot back up the state before a full update: %s",
				 strerror(-rc));
	}
	rc = cfs_xfer_apply(state_of(r), &r->xin, end, err, sizeof(err));
	cfs_xfer_in_free(&r->xin);
	if (rc < 0) {
		log_err("replica: the update from node %" PRIu32 " cannot be applied (%s); "
			"reloading and asking for a full update",
			r->leader.nodeid, err[0] ? err : strerror(-rc));
		r->ops->reload(r->ctx);
		r->committed = state_of(r)->tree.version;
		fail_unconfirmed(r, -EIO);
		fail_queue(r, &r->updates, -EIO);
		r->mode = CFS_REPLICA_SYNCING;
		r->epoch = 0;
		r->diverged = true;
		send_simple(r, CMSG_SYNC_REQ, 0, NULL, 0);
		return;
	}
	r->stats.updates_received++;
	if (end->full)
		r->stats.full_updates_received++;
	adopt_history(r);
	rc = r->ops->resynced(r->ctx, end->full);
	if (rc < 0)
		log_err("replica: the update is in memory but cannot be stored: %s", strerror(-rc));
	else
		r->committed = state_of(r)->tree.version;
	/* Removals before a full update are unknown here: never serve them incrementally. */
	if (rc == 0 && end->full && cfs_store_set_tombstone_floor(r->p->store, end->version) < 0)
		log_warn("replica: cannot record the tombstone floor");
	log_notice("replica: updated to version %" PRIu64 " (%" PRIu64 " entries, %" PRIu64
		   " removals received)",
		   end->version, end->entries_sent, end->tombstones_sent);
	r->stale = false;
	apply_queue(r, &r->updates);
	become_synced(r);
}

static void on_update(struct cfs_replica *r, struct cfs_member from, const struct cmsg_header *h,
		      const void *payload, size_t len)
{
	if (r->mode != CFS_REPLICA_UPDATING || h->epoch != r->epoch || !member_eq(from, r->leader))
		return;
	if (cfs_xfer_in_add(&r->xin, payload, len) < 0)
		log_err("replica: out of memory while receiving an update");
}

static void on_update_end(struct cfs_replica *r, struct cfs_member from,
			  const struct cmsg_header *h, const void *payload, size_t len)
{
	struct member_state *me = find_member(r, r->self);
	struct cmsg_update_end end;

	if (h->epoch != r->epoch || !member_eq(from, r->leader))
		return;
	if (cmsg_get_update_end(payload, len, &end) < 0) {
		log_err("replica: malformed UPDATE_END from node %" PRIu32, from.nodeid);
		return;
	}
	if (r->mode == CFS_REPLICA_UPDATING && me && !me->synced && me->update_full == end.full &&
	    (end.full || me->update_since == end.since)) {
		mark_updated(r, &end);
		finish_update(r, &end);
		return;
	}
	mark_updated(r, &end);
	if (r->mode == CFS_REPLICA_UPDATING)
		cfs_xfer_in_free(&r->xin); /* another receiver's stream */
}

/* ---- verification ---- */

static void verify_conclude(struct cfs_replica *r)
{
	const struct member_state *leader = find_member(r, r->leader);
	size_t agree = 0, voters = 0;
	bool leader_agrees = leader && leader->verify_in &&
			     leader->verify.digest.sum == r->verify.mine.digest.sum &&
			     leader->verify.digest.xor == r->verify.mine.digest.xor
		;

	for (size_t i = 0; i < r->nmembers; i++) {
		const struct member_state *m = &r->members[i];

		if (!m->verify_in)
			continue;
		voters++;
		agree += m->verify.version == r->verify.mine.version &&
			 m->verify.digest.sum == r->verify.mine.digest.sum &&
			 m->verify.digest.xor == r->verify.mine.digest.xor
			;
	}
	r->stats.verifications++;
	cancel_verify(r);
	if (agree * 2 > voters)
		return;
	if (agree * 2 == voters && leader_agrees)
		return;
	r->stats.verify_failures++;
	log_err("replica: this node's tree differs from the cluster's at version %" PRIu64
		" (%zu of %zu nodes agree with it); taking a full update",
		r->verify.mine.version, agree, voters);
	cfs_replica_request_sync(r, true);
}

static void on_verify_req(struct cfs_replica *r, struct cfs_member from,
			  const struct cmsg_header *h, const void *payload, size_t len)
{
	const struct cfs_state *st = state_of(r);
	struct member_state *me = find_member(r, r->self);

	if (r->mode != CFS_REPLICA_SYNCED || h->epoch != r->epoch || len < 8 || !me ||
	    !me->synced || r->stale)
		return;
	cancel_verify(r);
	r->verify.active = true;
	r->verify.id = le_get64((const unsigned char *)payload);
	r->verify.mine = (struct cmsg_verify){ r->verify.id, st->tree.version, st->tree.digest };
	r->verify.expected = 0;
	r->verify.received = 0;
	for (size_t i = 0; i < r->nmembers; i++)
		r->verify.expected += r->members[i].synced;
	buf_clear(&r->out);
	if (cmsg_begin(&r->out, CMSG_VERIFY, r->epoch) == 0 &&
	    cmsg_put_verify(&r->out, &r->verify.mine) == 0)
		send_msg(r, &r->out);
}

static void on_verify(struct cfs_replica *r, struct cfs_member from, const struct cmsg_header *h,
		      const void *payload, size_t len)
{
	struct member_state *m = find_member(r, from);
	struct cmsg_verify v;

	if (!r->verify.active || h->epoch != r->epoch || !m || m->verify_in ||
	    cmsg_get_verify(payload, len, &v) < 0 || v.id != r->verify.id)
		return;
	m->verify_in = true;
	m->verify = v;
	if (++r->verify.received >= r->verify.expected)
		verify_conclude(r);
}

/* ---- the public side ---- */

struct cfs_replica *cfs_replica_new(struct cfs_persist *p, const struct cfs_replica_ops *ops,
				    void *ctx)
{
	struct cfs_replica *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->p = p;
	r->ops = ops;
	r->ctx = ctx;
	r->mode = CFS_REPLICA_OFFLINE;
	return r;
}

void cfs_replica_free(struct cfs_replica *r)
{
	if (!r)
		return;
	queue_items_free(r->pending.items, r->pending.n);
	queue_items_free(r->updates.items, r->updates.n);
	cfs_xfer_in_free(&r->xin);
	for (size_t i = 0; i < r->nheld; i++)
		buf_free(&r->held[i]);
	free(r->held);
	free(r->inflight);
	free(r->unconf);
	buf_free(&r->batch);
	buf_free(&r->out);
	free(r);
}

void cfs_replica_joined(struct cfs_replica *r, struct cfs_member self)
{
	r->joined = true;
	r->self = self;
	r->nmembers = 0;
	r->mode = CFS_REPLICA_SYNCING;
	r->round_start_ns = now_monotonic_ns();
	r->current = false;
	r->committed = state_of(r)->tree.version; /* loaded from disk */
}

void cfs_replica_left(struct cfs_replica *r)
{
	if (!r->joined)
		return;
	abandon_round(r);
	fail_queue(r, &r->pending, -EIO);
	fail_held(r, -EIO);
	fail_inflight(r, -EIO);
	fail_unconfirmed(r, -EIO);
	r->joined = false;
	r->nmembers = 0;
	r->ring_writable = false;
	r->authoritative = false;
	if (r->mode != CFS_REPLICA_ERROR)
		r->mode = CFS_REPLICA_OFFLINE;
	tell_writable(r);
}

void cfs_replica_confchg(struct cfs_replica *r, const struct cfs_member *members, size_t n)
{
	if (!r->joined || r->mode == CFS_REPLICA_ERROR)
		return;
	abandon_round(r);
	r->nmembers = 0;
	for (size_t i = 0; i < n && r->nmembers < MAX_MEMBERS; i++)
		r->members[r->nmembers++] = (struct member_state){ .id = members[i] };
	/* Sorted, so that "the lowest member" is the same everywhere. */
	for (size_t i = 1; i < r->nmembers; i++)
		for (size_t k = i; k > 0 && member_cmp(r->members[k].id, r->members[k - 1].id) < 0;
		     k--) {
			struct member_state t = r->members[k];

			r->members[k] = r->members[k - 1];
			r->members[k - 1] = t;
		}
	/* Until the round decides, nothing is applied; own ops wait (held). */
	r->ring_writable = false;
	r->authoritative = false;
	tell_writable(r);
	if (!find_member(r, r->self))
		return;
	if (is_lowest(r))
		send_simple(r, CMSG_SYNC_START, random_epoch(), NULL, 0);
}

static void enter_error(struct cfs_replica *r, const char *why)
{
	snprintf(r->stats.error, sizeof(r->stats.error), "%s", why);
	log_err("replica: %s; replication stopped, this node is read-only", r->stats.error);
	abandon_round(r);
	fail_queue(r, &r->pending, -EIO);
	fail_held(r, -EIO);
	fail_inflight(r, -EIO);
	fail_unconfirmed(r, -EIO);
	r->mode = CFS_REPLICA_ERROR;
	r->ring_writable = false;
	tell_writable(r);
	/* Staying in the group would stall every round of the others. */
	if (r->ops->stopped)
		r->ops->stopped(r->ctx);
}

static void deliver_op(struct cfs_replica *r, struct cfs_member from, const void *payload,
		       size_t len)
{
	switch (r->mode) {
	case CFS_REPLICA_SYNCING:
		if (queue_push(&r->pending, from, payload, len) < 0)
			enter_error(r, "out of memory while queueing operations");
		return;
	case CFS_REPLICA_UPDATING:
		if (queue_push(&r->updates, from, payload, len) < 0)
			enter_error(r, "out of memory while queueing operations");
		return;
	case CFS_REPLICA_SYNCED:
		if (r->stale) {
			/* Our quorum is gone while the ring still writes: do not follow. */
			struct queued q = { .from = from,
					    .msg = { (unsigned char *)payload, len, len } };

			fail_own(r, &q, -EACCES);
			return;
		}
		apply_op(r, from, payload, len);
		return;
	default:
		return;
	}
}

static void deliver_ops(struct cfs_replica *r, struct cfs_member from, uint64_t epoch,
			const void *payload, size_t len)
{
	const unsigned char *p = payload;
	const void *unit;
	size_t ulen;
	bool asked = false;
	int rc;

	if (member_eq(from, r->self))
		batch_returned(r);
	if (len < 10 || len - 10 < (size_t)le_get16(p + 8) * 4) {
		log_err("replica: operation batch without its header from node %" PRIu32,
			from.nodeid);
		return;
	}
	note_ack(r, from, epoch, le_get64(p));
	for (size_t i = 0, n = le_get16(p + 8); i < n; i++)
		asked |= le_get32(p + 10 + 4 * i) == r->self.nodeid;
	len -= 10 + (size_t)le_get16(p + 8) * 4;
	p += 10 + (size_t)le_get16(p + 8) * 4;
	while ((rc = next_unit(&p, &len, &unit, &ulen)) == 1) {
		if (member_eq(from, r->self))
			inflight_drop(r, op_reqid(unit, ulen));
		deliver_op(r, from, unit, ulen);
		if (r->mode == CFS_REPLICA_ERROR || !r->joined)
			return;
	}
	/* Every node sees the same bytes: every node skips the same rest. */
	if (rc < 0)
		log_err("replica: malformed operation batch from node %" PRIu32 "; rest ignored",
			from.nodeid);
	/* The sender waits for this node's word: it goes alone after the commit. */
	if (asked && r->mode == CFS_REPLICA_SYNCED)
		r->ack_wanted = MAX(r->ack_wanted, state_of(r)->tree.version);
}

void cfs_replica_deliver(struct cfs_replica *r, struct cfs_member from, const void *data,
			 size_t len)
{
	struct cmsg_header h;
	const void *payload;
	size_t plen;
	int rc;

	if (!r->joined || r->mode == CFS_REPLICA_ERROR)
		return;
	rc = cmsg_parse_header(data, len, &h, &payload, &plen);
	if (rc == -EPROTO) {
		char why[120];

		snprintf(why, sizeof(why),
			 "node %" PRIu32 " speaks protocol %u, this droverfs %u "
			 "(every node must run the same)",
			 from.nodeid, h.protocol, CMSG_PROTOCOL);
		enter_error(r, why);
		return;
	}
	if (rc < 0) {
		log_warn("replica: ignoring a malformed message from node %" PRIu32, from.nodeid);
		return;
	}
	switch (h.type) {
	case CMSG_OP:
		deliver_ops(r, from, h.epoch, payload, plen);
		break;
	case CMSG_ACK_REQ:
		if (h.epoch == r->epoch && r->mode == CFS_REPLICA_SYNCED) {
			r->ack_wanted = state_of(r)->tree.version;
			maybe_send_ack(r);
		}
		break;
	case CMSG_ACK:
		if (member_eq(from, r->self)) {
			r->ack_in_flight = false;
			maybe_send_ack(r);
		} else if (plen >= 8) {
			note_ack(r, from, h.epoch, le_get64(payload));
		}
		break;
	case CMSG_SYNC_START:
		on_sync_start(r, from, h.epoch);
		break;
	case CMSG_STATE:
		on_state(r, from, &h, payload, plen);
		break;
	case CMSG_UPDATE:
		on_update(r, from, &h, payload, plen);
		break;
	case CMSG_UPDATE_END:
		on_update_end(r, from, &h, payload, plen);
		break;
	case CMSG_VERIFY_REQ:
		on_verify_req(r, from, &h, payload, plen);
		break;
	case CMSG_VERIFY:
		on_verify(r, from, &h, payload, plen);
		break;
	case CMSG_SYNC_REQ:
		if (is_lowest(r))
			send_simple(r, CMSG_SYNC_START, random_epoch(), NULL, 0);
		break;
	case CMSG_KV:
		r->ops->kv(r->ctx, from.nodeid, payload, plen);
		break;
	case CMSG_LOG:
		r->ops->log(r->ctx, from.nodeid, payload, plen);
		break;
	case CMSG_CONF_WRITTEN:
		r->ops->conf_written(r->ctx, from.nodeid, payload, plen);
		break;
	}
}

void cfs_replica_quorum(struct cfs_replica *r, bool known, bool quorate, bool forced)
{
	bool changed = r->quorate != quorate || r->forced != forced;

	r->quorum_known = known;
	r->quorate = quorate;
	r->forced = forced;
	if (known && !quorate)
		r->current = false; /* a quorate partition may write without us */
	if (!r->joined || r->mode == CFS_REPLICA_ERROR)
		return;
	if (r->mode == CFS_REPLICA_SYNCING) {
		tell_writable(r);
		if (r->state_sent && known && changed)
			send_simple(r, CMSG_SYNC_REQ, 0, NULL, 0); /* what we said is outdated */
		maybe_send_state(r);
		return;
	}
	if (!known || !changed)
		return;
	if (!quorate && r->ring_writable && !r->stale) {
		r->stale = true;
		tell_writable(r);
		fail_held(r, -EACCES);
	}
	/* The ring's decision no longer matches what this node's quorum says. */
	send_simple(r, CMSG_SYNC_REQ, 0, NULL, 0);
}

int cfs_replica_submit(struct cfs_replica *r, const struct cfs_op *op, uint64_t reqid)
{
	unsigned char id[8];
	int rc;

	if (!r->joined || r->mode == CFS_REPLICA_OFFLINE || r->mode == CFS_REPLICA_ERROR)
		return -ENOTCONN;
	if (!accepts_writes(r))
		return -EACCES;
	le_put64(id, reqid);
	buf_clear(&r->out);
	rc = buf_append(&r->out, id, sizeof(id));
	if (rc == 0)
		rc = cfs_op_encode(op, &r->out);
	if (rc < 0)
		return rc;
	if (r->mode != CFS_REPLICA_SYNCED || r->nheld)
		return held_push(r, r->out.data, r->out.len);
	return batch_add(r, r->out.data, r->out.len);
}

void cfs_replica_committed(struct cfs_replica *r)
{
	if (!r->joined || r->mode == CFS_REPLICA_ERROR)
		return;
	r->committed = state_of(r)->tree.version;
	maybe_send_ack(r);
}

size_t cfs_replica_check_acks(struct cfs_replica *r, uint64_t after_ns)
{
	uint64_t now = now_monotonic_ns();

	if (!r->nunconf || r->mode != CFS_REPLICA_SYNCED || !r->ring_writable)
		return r->nunconf;
	if (now - r->unconf[0].applied_ns >= after_ns && now - r->ack_req_ns >= after_ns &&
	    send_simple(r, CMSG_ACK_REQ, r->epoch, NULL, 0) == 0)
		r->ack_req_ns = now;
	return r->nunconf;
}

void cfs_replica_flush(struct cfs_replica *r)
{
	if (batch_may_go(r))
		batch_send(r);
}

int cfs_replica_send_other(struct cfs_replica *r, uint16_t type, const void *payload, size_t len)
{
	if (!r->joined)
		return -ENOTCONN;
	return send_simple(r, type, 0, payload, len);
}

void cfs_replica_verify(struct cfs_replica *r)
{
	unsigned char id[8];

	if (!r->joined || r->mode != CFS_REPLICA_SYNCED || !is_lowest(r) || r->nmembers < 2)
		return;
	le_put64(id, ++r->verify_counter);
	send_simple(r, CMSG_VERIFY_REQ, r->epoch, id, sizeof(id));
}

void cfs_replica_request_sync(struct cfs_replica *r, bool diverged)
{
	if (!r->joined || r->mode == CFS_REPLICA_ERROR)
		return;
	r->diverged |= diverged;
	send_simple(r, CMSG_SYNC_REQ, 0, NULL, 0);
}

bool cfs_replica_writable(const struct cfs_replica *r)
{
	return r->joined && r->mode == CFS_REPLICA_SYNCED && r->ring_writable && !r->stale;
}

void cfs_replica_status(const struct cfs_replica *r, struct cfs_replica_status *s)
{
	*s = r->stats;
	s->mode = r->mode;
	s->members = r->nmembers;
	s->leader = r->leader;
	s->writable = cfs_replica_writable(r);
	s->authoritative = r->authoritative;
	s->epoch = r->epoch;
	s->queued = r->pending.n + r->updates.n;
	s->held = r->nheld;
	s->unconfirmed = r->nunconf;
}

size_t cfs_replica_member_count(const struct cfs_replica *r)
{
	return r->nmembers;
}

struct cfs_member cfs_replica_member(const struct cfs_replica *r, size_t i)
{
	return r->members[i].id;
}
