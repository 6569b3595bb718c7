/* SPDX-License-Identifier: MIT */
/* repl_adopt_apply: the adoption decision (adopt.c) written to replication.cfg and the state. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "adopt.h"
#include "config.h"
#include "jobstatus.h"
#include "state_store.h"

struct adopt_edit {
	const struct cfs_brief *b;
	uint32_t guest;
	struct repl_adopt *out;
};

static int edit_adopt(struct repl_cfg *cfg, void *ctx, struct drover_err *err)
{
	struct adopt_edit *e = ctx;

	/* looked at again under the lock: a recovery may have moved it meanwhile */
	if (!repl_guest_is_here(e->b, e->guest))
		return 0;
	return repl_adopt_guest(cfg->jobs, cfg->n, e->guest, e->b->node, e->out, err);
}

static int drop_guest(struct repl_state *s, void *ctx)
{
	const uint32_t *guest = ctx;

	repl_state_remove_guest(s, *guest);
	return 0;
}

int repl_adopt_apply(const struct cfs_brief *b, const char *state_path, uint32_t guest,
		     struct repl_adopt *out, struct drover_err *err)
{
	struct adopt_edit e = { .b = b, .guest = guest, .out = out };
	struct repl_cfg cfg = { 0 };
	bool pending;
	int r;

	memset(out, 0, sizeof(*out));
	/* the common case, nothing to adopt, takes no lock */
	r = repl_cfg_load(b, &cfg, err);
	if (r < 0)
		return r;
	pending =
		repl_guest_is_here(b, guest) && repl_adopt_pending(cfg.jobs, cfg.n, guest, b->node);
	repl_cfg_free(&cfg);
	if (!pending)
		return 0;
	r = repl_cfg_edit(b, NULL, edit_adopt, &e, err);
	if (r < 0)
		return drover_fail_prefix(err, r, "adopting guest %" PRIu32 "'s jobs", guest);
	if (out->stolen)
		r = repl_state_update(state_path, drop_guest, &guest, err);
	return r;
}
