/* SPDX-License-Identifier: MIT */
/* What the replication unit tests share: a job built from its four fields. */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <string.h>

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
