/* SPDX-License-Identifier: MIT */
#include "persist.h"

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "journal.h"
#include "basic/log.h"
#include "basic/util.h"
#include "basic/nstime.h"
#include "store.h"

void cfs_persist_config_default(struct cfs_persist_config *cfg, const char *db_path)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->db_path = db_path;
	cfs_limits_default(&cfg->limits);
	cfg->flush_bytes = 4u << 20;
	cfg->flush_delay_ns = 2000000000ull;
	cfg->direct_threshold = 128u << 10;
	cfg->tombstone_limit = 100000;
}

static int replay_one(void *ctx, const void *data, size_t len, uint64_t version, uint32_t flags)
{
	struct cfs_state *st = ctx;
	struct cfs_result res;
	struct cfs_op op;
	int r = cfs_op_decode(data, len, &op);
	bool auth = st->authoritative;

	if (r < 0)
		return r;
	st->authoritative = flags & CFS_JOURNAL_AUTHORITATIVE;
	r = cfs_state_apply(st, &op, &res);
	st->authoritative = auth;
	if (r < 0)
		return r;
	return res.version == version ? 0 : -EUCLEAN;
}

static int reinit_state(struct cfs_persist *p)
{
	bool record = p->state.record_changes;

	cfs_state_destroy(&p->state);
	if (cfs_state_init(&p->state, &p->cfg.limits, now_wall_ns()) < 0)
		return -ENOMEM;
	p->state.record_changes = record;
	return 0;
}

static int reload_store(struct cfs_persist *p)
{
	struct cfs_store_problem problem;
	int r = cfs_store_reload(p->store, &p->state, &problem);

	if (r < 0)
		log_err("reloading %s: %s", p->db_path,
			problem.text[0] ? problem.text : strerror(-r));
	return r;
}

/*
 * Apply the journal on top of the state just loaded from the database. A
 * journal that does not fit the database is moved aside: the database alone
 * is then the state.
 */
static int replay_journal(struct cfs_persist *p, uint64_t *replayed)
{
	const struct cfs_store_info *info = cfs_store_info(p->store);
	struct cfs_journal_replay rep;
	bool record = p->state.record_changes;
	int r;

	p->state.record_changes = false;
	r = cfs_journal_replay(p->journal, info->db_id, info->version, replay_one, &p->state, &rep);
	p->state.record_changes = record;
	if (r < 0 && rep.problem[0]) {
		log_err("journal %s cannot be used: %s; continuing with the database at version "
			"%" PRIu64 " (the journal is kept aside)",
			p->journal_path, rep.problem, info->version);
		r = reinit_state(p);
		if (r == 0)
			r = reload_store(p);
		if (r == 0)
			r = cfs_journal_move_aside(p->journal);
		rep.records = 0;
	}
	if (r < 0)
		return r;
	if (rep.torn_bytes)
		log_notice("journal %s: ignored %zu bytes of a write that never finished",
			   p->journal_path, rep.torn_bytes);
	*replayed = rep.records;
	cfs_state_clear_changes(&p->state);
	return 0;
}

/* After a failed commit: back to what is on disk. */
static int reload(struct cfs_persist *p)
{
	uint64_t replayed;
	int r;

	p->stats.reloads++;
	r = reinit_state(p);
	if (r == 0)
		r = reload_store(p);
	if (r == 0)
		r = replay_journal(p, &replayed);
	if (r < 0)
		log_msg(LOG_CRIT, "cannot reload the state from %s: %s", p->db_path, strerror(-r));
	return r;
}

static void release(struct cfs_persist *p);

int cfs_persist_reload(struct cfs_persist *p)
{
	if (p->batch_ops) {
		/* What the batch did is in RAM only: it goes with the reload. */
		buf_clear(&p->batch);
		p->batch_ops = 0;
		p->batch_direct = false;
	}
	return reload(p);
}

static char *journal_path_for(const char *db_path)
{
	size_t len = strlen(db_path) + sizeof(".journal");
	char *path = malloc(len);

	if (path)
		snprintf(path, len, "%s.journal", db_path);
	return path;
}

/* Open the database; a damaged one is moved aside and replaced by a new one. */
static int open_store(struct cfs_persist *p)
{
	struct cfs_store_problem problem;
	int r = cfs_store_open(p->db_path, &p->state, &p->store, &problem);

	if (r == -EPROTONOSUPPORT) {
		log_err("database %s was written by a newer drover; refusing to touch it",
			p->db_path);
		return r;
	}
	if (r != -EUCLEAN)
		return r;
	r = cfs_store_move_aside(p->db_path, &p->recovered_from);
	if (r < 0) {
		log_err("database %s is damaged (%s) and cannot be moved aside: %s", p->db_path,
			problem.text, strerror(-r));
		return -EUCLEAN;
	}
	log_msg(LOG_CRIT,
		"database %s is damaged: %s. It was moved to %s, untouched; starting with an "
		"empty tree (in a cluster, the other nodes will send theirs)",
		p->db_path, problem.text, p->recovered_from);
	r = reinit_state(p);
	if (r == 0)
		r = cfs_store_open(p->db_path, &p->state, &p->store, &problem);
	return r;
}

int cfs_persist_open(const struct cfs_persist_config *cfg, int64_t now_ns, struct cfs_persist **out)
{
	struct cfs_persist *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	p->cfg = *cfg;
	p->db_path = strdup(cfg->db_path);
	p->journal_path = journal_path_for(cfg->db_path);
	p->cfg.db_path = p->db_path;
	if (!p->db_path || !p->journal_path) {
		r = -ENOMEM;
		goto fail;
	}
	r = cfs_state_init(&p->state, &cfg->limits, now_ns);
	if (r < 0)
		goto fail;
	r = open_store(p);
	if (r < 0)
		goto fail;
	cfs_store_set_tombstone_limit(p->store, cfg->tombstone_limit);
	if (p->recovered_from) {
		/* The journal belonged to the damaged database: keep it with it. */
		char aside[4096];

		snprintf(aside, sizeof(aside), "%s.journal", p->recovered_from);
		rename(p->journal_path, aside);
	}
	r = cfs_journal_open(p->journal_path, &p->journal);
	if (r < 0) {
		log_err("journal %s: %s", p->journal_path, strerror(-r));
		goto fail;
	}
	r = replay_journal(p, &p->stats.replayed);
	if (r < 0)
		goto fail;
	if (p->stats.replayed)
		log_notice("replayed %" PRIu64 " operations from the journal (version %" PRIu64 ")",
			   p->stats.replayed, p->state.tree.version);
	/* Fold what was replayed into the database and start a new journal. */
	r = cfs_store_flush(p->store, &p->state);
	if (r == 0) {
		r = cfs_journal_reset(p->journal, cfs_store_info(p->store)->db_id,
				      p->state.tree.version);
	} else if (cfs_journal_ready(p->journal)) {
		/* The journal holds the state (a full disk, say): serve, fold it later. */
		log_warn("database %s: cannot fold the journal in yet (%s); the changes stay in "
			 "%s",
			 p->db_path, strerror(-r), p->journal_path);
		p->first_unflushed_ns = now_monotonic_ns();
		r = 0;
	}
	if (r < 0) {
		log_err("database %s: cannot write: %s", p->db_path, strerror(-r));
		goto fail;
	}
	*out = p;
	return 0;
fail:
	/* Never flush a state that failed to open: it may be half replayed. */
	release(p);
	return r;
}

static void release(struct cfs_persist *p)
{
	cfs_journal_close(p->journal);
	cfs_store_close(p->store);
	cfs_state_destroy(&p->state);
	buf_free(&p->batch);
	buf_free(&p->scratch);
	free(p->db_path);
	free(p->journal_path);
	free(p->recovered_from);
	free(p);
}

int cfs_persist_close(struct cfs_persist *p)
{
	int r = 0;

	if (!p)
		return 0;
	if (!cfs_persist_batch_open(p)) {
		r = cfs_persist_flush(p);
		if (r == 0)
			r = cfs_store_mark_clean(p->store);
		if (r == 0)
			cfs_store_checkpoint(p->store);
	}
	release(p);
	return r;
}

/* Is there room on the database's file system for a direct write of `size` bytes? */
static int check_direct_room(const struct cfs_persist *p, size_t size)
{
	char dir[4096];
	struct statvfs sv;

	snprintf(dir, sizeof(dir), "%s", p->db_path);
	if (statvfs(dirname(dir), &sv) < 0)
		return 0; /* the write itself will tell */
	/* WAL copy, checkpoint copy and some slack. */
	if ((uint64_t)sv.f_bavail * sv.f_frsize < 2 * (uint64_t)size + (1u << 20))
		return -ENOSPC;
	return 0;
}

int cfs_persist_apply(struct cfs_persist *p, const struct cfs_op *op, struct cfs_result *res)
{
	uint64_t before = p->state.tree.version;
	bool direct = op->size >= p->cfg.direct_threshold;
	size_t need = 0;
	int r;

	if (direct) {
		r = check_direct_room(p, op->size);
	} else {
		need = cfs_op_encoded_size(op) + CFS_JOURNAL_RECORD_HEADER_SIZE;
		r = cfs_journal_reserve(p->journal, p->batch.len + need);
	}
	if (r < 0)
		return r;
	r = cfs_state_apply(&p->state, op, res);
	if (r < 0 || p->state.tree.version == before)
		return r;
	p->batch_ops++;
	p->stats.ops++;
	if (direct || p->batch_direct) {
		p->batch_direct = true;
		return 0;
	}
	buf_clear(&p->scratch);
	r = cfs_op_encode(op, &p->scratch);
	if (r == 0)
		r = cfs_journal_frame(&p->batch, p->state.tree.version,
				      p->state.authoritative ? CFS_JOURNAL_AUTHORITATIVE : 0,
				      p->scratch.data, p->scratch.len);
	if (r < 0) {
		/* The op is in RAM but cannot be journaled: write the batch through the database. */
		p->batch_direct = true;
		log_warn("journal: cannot encode an operation (%s); writing the batch to the "
			 "database directly",
			 strerror(-r));
	}
	return 0;
}

static int commit_direct(struct cfs_persist *p)
{
	int r = cfs_store_flush(p->store, &p->state);

	if (r < 0)
		return r;
	p->stats.direct_writes++;
	p->stats.flushes++;
	return cfs_journal_reset(p->journal, cfs_store_info(p->store)->db_id,
				 p->state.tree.version);
}

int cfs_persist_commit(struct cfs_persist *p)
{
	bool direct = p->batch_direct;
	int r;

	if (p->batch_ops == 0)
		return 0;
	p->stats.batches++;
	if (direct) {
		r = commit_direct(p);
	} else {
		r = cfs_journal_write(p->journal, p->batch.data, p->batch.len);
		if (r == 0) {
			p->stats.journal_writes++;
			p->stats.journal_bytes += p->batch.len;
		}
	}
	buf_clear(&p->batch);
	p->batch_ops = 0;
	p->batch_direct = false;
	if (r < 0) {
		p->stats.commit_failures++;
		log_err("writing %s failed: %s; the last changes are undone",
			direct ? p->db_path : p->journal_path, strerror(-r));
		if (reload(p) < 0)
			return -EIO;
		return r;
	}
	if (!direct && p->first_unflushed_ns == 0)
		p->first_unflushed_ns = now_monotonic_ns();
	if (direct)
		p->first_unflushed_ns = 0;
	return 0;
}

uint64_t cfs_persist_flush_deadline(const struct cfs_persist *p)
{
	uint64_t when;

	if (p->first_unflushed_ns == 0)
		return 0;
	if (cfs_journal_size(p->journal) >= p->cfg.flush_bytes)
		when = 1; /* as soon as possible */
	else
		when = p->first_unflushed_ns + p->cfg.flush_delay_ns;
	return MAX(when, p->flush_retry_ns);
}

int cfs_persist_flush(struct cfs_persist *p)
{
	uint64_t start = now_monotonic_ns();
	int r;

	if (cfs_persist_batch_open(p))
		return -EBUSY;
	r = cfs_store_flush(p->store, &p->state);
	if (r == 0 && cfs_journal_size(p->journal) > 0)
		r = cfs_journal_reset(p->journal, cfs_store_info(p->store)->db_id,
				      p->state.tree.version);
	if (r < 0) {
		/* The journal still holds everything: nothing is lost, try again later. */
		p->stats.flush_failures++;
		p->flush_backoff_ns = p->flush_backoff_ns
					      ? MIN(p->flush_backoff_ns * 2, 30000000000ull)
					      : 1000000000ull;
		p->flush_retry_ns = now_monotonic_ns() + p->flush_backoff_ns;
		return r;
	}
	p->flush_backoff_ns = 0;
	p->flush_retry_ns = 0;
	p->first_unflushed_ns = 0;
	p->stats.flushes++;
	p->stats.last_flush_ns = now_monotonic_ns() - start;
	return 0;
}

int cfs_persist_flush_all(struct cfs_persist *p)
{
	int r = cfs_persist_flush(p);

	return r < 0 ? r : cfs_store_checkpoint(p->store);
}

int cfs_persist_sync(struct cfs_persist *p)
{
	return cfs_journal_sync(p->journal);
}

size_t cfs_persist_journal_size(const struct cfs_persist *p)
{
	return cfs_journal_size(p->journal);
}
