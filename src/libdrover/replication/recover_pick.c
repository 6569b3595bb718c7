/* SPDX-License-Identifier: MIT */
/* repl_recover_pick: which snapshot of a replica a recovery rolls back to. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "job.h"
#include "recover.h"

/* Is jobid "GUEST-N"? */
static bool of_guest(const char *jobid, uint32_t guest)
{
	char prefix[16];
	int len = snprintf(prefix, sizeof(prefix), "%" PRIu32 "-", guest);

	return strncmp(jobid, prefix, (size_t)len) == 0;
}

static bool has_snapshot(const struct storage_snapshot *snaps, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(snaps[i].name, name) == 0)
			return true;
	return false;
}

const char *repl_recover_pick_common(const struct repl_recover_volume *vols, size_t nvols,
				     uint32_t guest, int64_t *epoch)
{
	const char *best = NULL;
	int64_t best_epoch = 0;

	if (epoch)
		*epoch = 0;
	if (nvols == 0)
		return NULL;
	/* a run snapshots every volume under one name: the same name is the same moment */
	for (size_t i = 0; i < vols[0].n; i++) {
		const char *name = vols[0].snaps[i].name;
		char jobid[REPL_JOBID_MAX];
		bool everywhere = true;
		int64_t e;

		if (!repl_snapname_parse(name, jobid, &e) || !of_guest(jobid, guest) ||
		    (best && e <= best_epoch))
			continue;
		for (size_t v = 1; v < nvols && everywhere; v++)
			everywhere = has_snapshot(vols[v].snaps, vols[v].n, name);
		if (everywhere) {
			best = name;
			best_epoch = e;
		}
	}
	if (epoch)
		*epoch = best_epoch;
	return best;
}

const struct storage_snapshot *repl_recover_pick(const struct storage_snapshot *snaps, size_t n,
						 uint32_t guest, int64_t *epoch)
{
	const struct storage_snapshot *best = NULL;
	int64_t best_epoch = 0;

	for (size_t i = 0; i < n; i++) {
		char jobid[REPL_JOBID_MAX];
		int64_t e;

		if (!repl_snapname_parse(snaps[i].name, jobid, &e) || !of_guest(jobid, guest))
			continue;
		if (!best || e > best_epoch) {
			best = &snaps[i];
			best_epoch = e;
		}
	}
	if (epoch)
		*epoch = best ? best_epoch : 0;
	return best;
}
