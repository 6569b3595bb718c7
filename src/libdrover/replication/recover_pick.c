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
