/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/array.h"
#include "basic/sha1.h"
#include "basic/util.h"
#include "libdrover/format/section_config.h"

#define LOCK_TIMEOUT_MS 10000

void repl_cfg_free(struct repl_cfg *cfg)
{
	free(cfg->jobs);
	free(cfg->lines);
	memset(cfg, 0, sizeof(*cfg));
}

static bool must_escape(unsigned char c)
{
	return c < 0x20 || c >= 0x7f || c == ':' || c == '%';
}

int repl_comment_encode(const char *text, struct buf *out)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		int r = must_escape(*p) ? buf_printf(out, "%%%02X", *p) : buf_append(out, p, 1);

		if (r < 0)
			return r;
	}
	return buf_terminate(out);
}

int repl_comment_decode(const char *text, char *out, size_t len)
{
	size_t o = 0;

	for (const char *p = text; *p; p++) {
		int c = (unsigned char)*p;

		if (c == '%') {
			int hi = hex_digit(p[1]), lo = hi < 0 ? -1 : hex_digit(p[2]);

			if (lo < 0)
				return -EINVAL;
			c = hi * 16 + lo;
			p += 2;
		}
		if (o + 1 >= len)
			return -ENAMETOOLONG;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

struct repl_job *repl_cfg_find(const struct repl_cfg *cfg, uint32_t guest, uint32_t jobnum)
{
	for (size_t i = 0; i < cfg->n; i++)
		if (cfg->jobs[i].guest == guest && cfg->jobs[i].jobnum == jobnum)
			return &cfg->jobs[i];
	return NULL;
}

struct repl_job *repl_cfg_find_target(const struct repl_cfg *cfg, uint32_t guest,
				      const char *target)
{
	for (size_t i = 0; i < cfg->n; i++)
		if (cfg->jobs[i].guest == guest && streq(cfg->jobs[i].target, target))
			return &cfg->jobs[i];
	return NULL;
}

static int append(struct repl_cfg *cfg, const struct repl_job *job, unsigned line)
{
	size_t lines_cap = cfg->cap; /* lines first: cfg->cap counts both once both grew */

	if (ARRAY_GROW(cfg->lines, lines_cap, cfg->n + 1) < 0 ||
	    ARRAY_GROW(cfg->jobs, cfg->cap, cfg->n + 1) < 0)
		return -ENOMEM;
	cfg->jobs[cfg->n] = *job;
	cfg->lines[cfg->n++] = line;
	return 0;
}

/* The checks every job of the file passes, with line (0: a new job) for the message. */
static int check_new(const struct repl_cfg *cfg, const struct repl_job *job, const char *where,
		     struct drover_err *err)
{
	const struct repl_job *other;
	char id[REPL_JOBID_MAX], oid[REPL_JOBID_MAX];
	int r = repl_job_check(job, err);

	repl_jobid_format(job->guest, job->jobnum, id);
	if (r < 0)
		return where[0] ? drover_fail_prefix(err, r, "%.*s", (int)strlen(where) - 2, where)
				: r;
	if (repl_cfg_find(cfg, job->guest, job->jobnum))
		return drover_fail(err, -EEXIST, "%sreplication job %s exists already", where, id);
	other = repl_cfg_find_target(cfg, job->guest, job->target);
	if (other) {
		repl_jobid_format(other->guest, other->jobnum, oid);
		return drover_fail(err, -EEXIST,
				   "%sguest %" PRIu32
				   " is already replicated to %s by job %s (one job per guest "
				   "and target)",
				   where, job->guest, job->target, oid);
	}
	return 0;
}

int repl_cfg_add(struct repl_cfg *cfg, const struct repl_job *job, struct drover_err *err)
{
	int r = check_new(cfg, job, "", err);

	if (r < 0)
		return r;
	r = append(cfg, job, 0);
	return r < 0 ? drover_fail(err, r, "out of memory") : 0;
}

int repl_cfg_remove(struct repl_cfg *cfg, uint32_t guest, uint32_t jobnum)
{
	struct repl_job *j = repl_cfg_find(cfg, guest, jobnum);
	size_t i;

	if (!j)
		return -ENOENT;
	i = (size_t)(j - cfg->jobs);
	memmove(&cfg->jobs[i], &cfg->jobs[i + 1], (cfg->n - i - 1) * sizeof(cfg->jobs[0]));
	memmove(&cfg->lines[i], &cfg->lines[i + 1], (cfg->n - i - 1) * sizeof(cfg->lines[0]));
	cfg->n--;
	return 0;
}

/* One key of a job's section into job; where is "FILE:LINE: ". */
static int set_prop(struct repl_job *job, const struct sc_prop *p, const char *where,
		    struct drover_err *err)
{
	const char *v = p->value;

	if (streq(p->key, "disable")) {
		if (v && !streq(v, "0") && !streq(v, "1"))
			return drover_fail(err, -EINVAL, "%sdisable '%s' is not 0 or 1", where, v);
		job->disable = !v || streq(v, "1");
		return 0;
	}
	if (!v)
		return drover_fail(err, -EINVAL, "%s'%s' needs a value", where, p->key);
	if (streq(p->key, "target") || streq(p->key, "source")) {
		char *dst = streq(p->key, "target") ? job->target : job->source;

		if (!node_name_valid(v))
			return drover_fail(err, -EINVAL, "%s%s '%s' is not a node name", where,
					   p->key, v);
		snprintf(dst, NODE_NAME_MAX + 1, "%s", v);
		return 0;
	}
	if (streq(p->key, "schedule")) {
		if (strlen(v) >= REPL_SCHEDULE_MAX)
			return drover_fail(err, -EINVAL, "%sschedule longer than %d characters",
					   where, REPL_SCHEDULE_MAX - 1);
		snprintf(job->schedule, sizeof(job->schedule), "%s", v);
		return 0;
	}
	if (streq(p->key, "rate")) {
		char *end;

		errno = 0;
		job->rate = strtod(v, &end);
		if (errno || end == v || *end || !(job->rate >= 1) || job->rate > 1e9)
			return drover_fail(err, -EINVAL,
					   "%srate '%s' is not a number of MB/s of at least 1",
					   where, v);
		return 0;
	}
	if (streq(p->key, "remove_job")) {
		if (streq(v, "local"))
			job->remove_job = REPL_REMOVE_LOCAL;
		else if (streq(v, "full"))
			job->remove_job = REPL_REMOVE_FULL;
		else
			return drover_fail(err, -EINVAL, "%sremove_job '%s' is not local or full",
					   where, v);
		return 0;
	}
	if (streq(p->key, "comment")) {
		if (repl_comment_decode(v, job->comment, sizeof(job->comment)) < 0)
			return drover_fail(err, -EINVAL, "%scomment: bad %%XX escape or too long",
					   where);
		return 0;
	}
	return drover_fail(err, -EINVAL, "%sunknown key '%s' in a replication job", where, p->key);
}

static int section_job(const struct sc_section *s, const char *filename, struct repl_job *job,
		       struct drover_err *err)
{
	char where[PATH_MAX + 32];
	int r;

	memset(job, 0, sizeof(*job));
	snprintf(where, sizeof(where), "%s:%u: ", filename, s->line);
	if (!streq(s->type, "local"))
		return drover_fail(err, -EINVAL,
				   "%sunknown job type '%s' (replication jobs are 'local')", where,
				   s->type);
	r = repl_jobid_parse(s->id, &job->guest, &job->jobnum, err);
	if (r < 0)
		return drover_fail_prefix(err, r, "%.*s", (int)strlen(where) - 2, where);
	for (size_t k = 0; k < s->n; k++) {
		snprintf(where, sizeof(where), "%s:%u: ", filename, s->props[k].line);
		r = set_prop(job, &s->props[k], where, err);
		if (r < 0)
			return r;
	}
	snprintf(where, sizeof(where), "%s:%u: ", filename, s->line);
	if (!job->target[0])
		return drover_fail(err, -EINVAL, "%sjob %s has no target", where, s->id);
	return 0;
}

int repl_cfg_parse(const char *text, size_t len, const char *filename, struct repl_cfg *cfg,
		   struct drover_err *err)
{
	struct sc_file f = SC_FILE_INIT;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	r = sc_parse(text, len, filename, &f, err);
	for (size_t i = 0; r == 0 && i < f.n; i++) {
		char where[PATH_MAX + 32];
		struct repl_job job;

		r = section_job(&f.sections[i], filename, &job, err);
		snprintf(where, sizeof(where), "%s:%u: ", filename, f.sections[i].line);
		if (r == 0)
			r = check_new(cfg, &job, where, err);
		if (r == 0 && append(cfg, &job, f.sections[i].line) < 0)
			r = drover_fail(err, -ENOMEM, "out of memory");
	}
	sc_free(&f);
	if (r < 0) {
		repl_cfg_free(cfg);
		return r;
	}
	sha1_hex(text, len, cfg->digest);
	return 0;
}

static int write_job(const struct repl_job *j, struct buf *out)
{
	static const char *const remove_names[] = { "", "local", "full" };
	char id[REPL_JOBID_MAX];
	int r;

	repl_jobid_format(j->guest, j->jobnum, id);
	r = buf_printf(out, "local: %s\n", id);
	if (r == 0 && j->comment[0]) {
		struct buf c = BUF_INIT;

		r = repl_comment_encode(j->comment, &c);
		if (r == 0)
			r = buf_printf(out, "\tcomment %s\n", (char *)c.data);
		buf_free(&c);
	}
	if (r == 0 && j->disable)
		r = buf_printf(out, "\tdisable\n");
	if (r == 0)
		r = buf_printf(out, "\ttarget %s\n", j->target);
	if (r == 0 && j->rate > 0)
		r = buf_printf(out, "\trate %g\n", j->rate);
	if (r == 0 && j->remove_job != REPL_REMOVE_NONE)
		r = buf_printf(out, "\tremove_job %s\n", remove_names[j->remove_job]);
	if (r == 0 && j->schedule[0])
		r = buf_printf(out, "\tschedule %s\n", j->schedule);
	if (r == 0 && j->source[0])
		r = buf_printf(out, "\tsource %s\n", j->source);
	return r == 0 ? buf_printf(out, "\n") : r;
}

int repl_cfg_write(const struct repl_cfg *cfg, struct buf *out)
{
	for (size_t i = 0; i < cfg->n; i++) {
		int r = write_job(&cfg->jobs[i], out);

		if (r < 0)
			return r;
	}
	return 0;
}

int repl_cfg_load(const struct cfs_brief *b, struct repl_cfg *cfg, struct drover_err *err)
{
	struct buf text = BUF_INIT;
	int r = cfs_read(b, REPL_CFG_NAME, &text);

	memset(cfg, 0, sizeof(*cfg));
	if (r == -ENOENT) {
		sha1_hex("", 0, cfg->digest);
		return 0;
	}
	if (r < 0)
		return drover_fail(err, r, "reading %s: %s", REPL_CFG_NAME, strerror(-r));
	r = repl_cfg_parse(text.data ? (const char *)text.data : "", text.len, REPL_CFG_NAME, cfg,
			   err);
	buf_free(&text);
	return r;
}

/* Every job again, as a whole: an edit may have broken what add() checked. */
static int check_all(const struct repl_cfg *cfg, struct drover_err *err)
{
	struct repl_cfg seen = { 0 };
	int r = 0;

	for (size_t i = 0; r == 0 && i < cfg->n; i++)
		r = repl_cfg_add(&seen, &cfg->jobs[i], err);
	repl_cfg_free(&seen);
	return r;
}

int repl_cfg_edit(const struct cfs_brief *b, const char *digest,
		  int (*edit)(struct repl_cfg *cfg, void *ctx, struct drover_err *err), void *ctx,
		  struct drover_err *err)
{
	struct repl_cfg cfg = { 0 };
	struct buf text = BUF_INIT;
	int r = cfs_lock(b, REPL_CFG_LOCK, LOCK_TIMEOUT_MS);

	if (r < 0)
		return drover_fail(err, r, "cannot take the cluster lock priv/lock/%s: %s",
				   REPL_CFG_LOCK,
				   r == -EBUSY	  ? "another replication.cfg change is running"
				   : r == -EACCES ? "no quorum"
						  : strerror(-r));
	r = repl_cfg_load(b, &cfg, err);
	if (r == 0 && digest && digest[0] && !streq(digest, cfg.digest))
		r = drover_fail(err, -ESTALE,
				"%s was changed meanwhile (its digest is %s, not %s): look again "
				"and retry",
				REPL_CFG_NAME, cfg.digest, digest);
	if (r == 0)
		r = edit(&cfg, ctx, err);
	if (r == 0)
		r = check_all(&cfg, err);
	if (r == 0 && repl_cfg_write(&cfg, &text) < 0)
		r = drover_fail(err, -ENOMEM, "out of memory");
	if (r == 0) {
		r = cfs_write(b, REPL_CFG_NAME, text.data ? (void *)text.data : "", text.len, 0640);
		if (r < 0)
			drover_fail(err, r, "writing %s: %s%s", REPL_CFG_NAME, strerror(-r),
				    r == -EACCES ? " (no quorum?)" : "");
	}
	buf_free(&text);
	cfs_unlock(b, REPL_CFG_LOCK);
	repl_cfg_free(&cfg);
	return r;
}
