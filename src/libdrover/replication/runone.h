/* SPDX-License-Identifier: MIT */
/*
 * Run one job by its ID from scratch (`drover replication run --id`, and a
 * worker of droverd's scheduler): droverfs and storage.cfg opened, the job
 * read from replication.cfg and refused when it is disabled (unless it is
 * being removed), its guest is not on this node, or its target is this
 * node (pvesr's run_single_job).
 */
#pragma once

#include <stdint.h>

#include "run.h"

int repl_run_id(const char *socket, uint32_t guest, uint32_t jobnum, const struct repl_run_opts *o,
		struct repl_run_result *res, struct drover_err *err);
