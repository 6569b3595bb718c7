/* SPDX-License-Identifier: MIT */
/*
 * A job's log (pvesr's /var/log/pve/replicate/JOBID): truncated when a run
 * starts, one "YYYY-MM-DD HH:MM:SS JOBID: message" line per event, and
 * what it logs also passed on to another reporter (the task's log, or the
 * terminal with `run --verbose`). Transfer progress becomes a line at most
 * every few seconds.
 */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include "libdrover/error.h"
#include "libdrover/report.h"

struct repl_runlog {
	FILE *f;
	char jobid[24];
	const struct drover_reporter *next; /* may be NULL */
	uint64_t last_bytes_ns;
	struct drover_reporter rep; /* what the run reports to */
};

/* dir NULL: REPL_LOG_DIR_DEFAULT. Opens (truncates) DIR/JOBID. */
int repl_runlog_open(struct repl_runlog *l, const char *dir, const char *jobid,
		     const struct drover_reporter *next, struct drover_err *err);
void repl_runlog_close(struct repl_runlog *l);

/* The path of a job's log into out. */
int repl_runlog_path(const char *dir, const char *jobid, char *out, size_t len);

/*
 * A job's log as it stands (dir NULL: REPL_LOG_DIR_DEFAULT), into a new
 * buffer *text of *len bytes (the caller frees it). -ENOENT when the job
 * never ran on this node; err says so.
 */
int repl_runlog_read(const char *dir, const char *jobid, char **text, size_t *len,
		     struct drover_err *err);
