/* SPDX-License-Identifier: MIT */
/*
 * A replication job as replication.cfg describes it (one `local: VMID-N`
 * section), its ID, and the names of its snapshots. Parsing and writing the
 * file is the section-config parser's work; this is what it fills in.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libdrover/error.h"
#include "libdrover/format/names.h"

#define REPL_GUEST_MIN 100 /* IDs below 100 are reserved */
#define REPL_JOBID_MAX 20 /* "999999999-999999999" and its NUL */
#define REPL_SCHEDULE_DEFAULT "*/15"
#define REPL_SCHEDULE_MAX 129 /* 128 characters, as pvesr */
#define REPL_COMMENT_MAX 4097 /* 4096 characters, as pvesr */

/* remove_job: a job being removed by the scheduler. */
enum repl_remove {
	REPL_REMOVE_NONE,
	REPL_REMOVE_LOCAL, /* the replication snapshots on this node only (delete --keep) */
	REPL_REMOVE_FULL, /* and the replicated volumes on the target */
};

struct repl_job {
	uint32_t guest; /* VMID */
	uint32_t jobnum; /* the N of VMID-N */
	char target[NODE_NAME_MAX + 1];
	/* the node the guest was on when the job last looked: "" until set */
	char source[NODE_NAME_MAX + 1];
	char schedule[REPL_SCHEDULE_MAX]; /* "" for the default, every 15 minutes */
	double rate; /* MB/s (10^6 bytes), 0 for no limit */
	bool disable;
	enum repl_remove remove_job;
	char comment[REPL_COMMENT_MAX];
};

/*
 * "VMID-N" (VMID 100..999999999 without leading zeros, N 0..999999999 of at
 * most 9 digits; leading zeros in N are accepted and dropped, as Proxmox
 * does). Returns 0 or -EINVAL with err saying why.
 */
int repl_jobid_parse(const char *s, uint32_t *guest, uint32_t *jobnum, struct drover_err *err);

/* The canonical "VMID-N" into out (REPL_JOBID_MAX bytes). */
void repl_jobid_format(uint32_t guest, uint32_t jobnum, char *out);

/* The job's schedule text: its own, or the default (every 15 minutes). */
const char *repl_job_schedule(const struct repl_job *job);

/*
 * Checks what a job must satisfy whatever the cluster: its ID, a target
 * that is a node name, a source that is empty or one, a schedule that
 * parses, a rate of at least 1 MB/s or none, a comment within 4096
 * characters. Returns 0 or -EINVAL naming the job and the property.
 */
int repl_job_check(const struct repl_job *job, struct drover_err *err);

#define REPL_SNAP_PREFIX "__replicate_"

/*
 * The job's snapshot taken at epoch: "__replicate_100-0_1717410600__".
 * Returns 0, or -ENAMETOOLONG if it does not fit len bytes.
 */
int repl_snapname(const char *jobid, int64_t epoch, char *out, size_t len);

/* Any job's replication snapshot? (Its name begins with __replicate_.) */
bool repl_snapname_is_replication(const char *name);

/*
 * Split a replication snapshot's name into its job ID (canonical) and
 * epoch. False if name is not exactly of that form.
 */
bool repl_snapname_parse(const char *name, char *jobid, int64_t *epoch);

/* Is name a replication snapshot of job jobid? Its epoch into *epoch (may be NULL). */
bool repl_snapname_of_job(const char *name, const char *jobid, int64_t *epoch);
