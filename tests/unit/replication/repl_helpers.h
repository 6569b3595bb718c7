/* SPDX-License-Identifier: MIT */
/*
 * What the replication unit tests share: a job built from its four fields,
 * the jobs a replication.cfg holds as text. Include after <cmocka.h>.
 */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "libdrover/replication/config.h"
#include "libdrover/replication/job.h"

static inline struct repl_job mkjob(uint32_t guest, uint32_t num, const char *target,
				    const char *source)
{
	struct repl_job j;

	memset(&j, 0, sizeof(j));
	j.guest = guest;
	j.jobnum = num;
	snprintf(j.target, sizeof(j.target), "%s", target);
	snprintf(j.source, sizeof(j.source), "%s", source);
	return j;
}

/* The jobs replication.cfg holds now, as "946100-0 946300-0 " ("" for none). */
static inline void repl_jobs_text(const struct cfs_brief *b, char *out, size_t len)
{
	struct drover_err err = { "" };
	struct repl_cfg cfg;
	size_t used = 0;

	assert_int_equal(repl_cfg_load(b, &cfg, &err), 0);
	out[0] = '\0';
	for (size_t i = 0; i < cfg.n; i++)
		used += (size_t)snprintf(out + used, len - used, "%u-%u ", cfg.jobs[i].guest,
					 cfg.jobs[i].jobnum);
	repl_cfg_free(&cfg);
}
