/* SPDX-License-Identifier: MIT */
/*
 * replication.cfg at the root of droverfs (pvesr's /etc/pve/replication.cfg):
 * the section-config file of `local: VMID-N` jobs, read into repl_job
 * structs and written back in pvesr's order (comment, a bare `disable`,
 * target, then rate, remove_job, schedule, source). Every edit runs under
 * the cluster lock priv/lock/file-replication_cfg, re-reads the file and
 * may be tied to the digest (SHA-1 of the text) the caller saw.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "basic/buf.h"
#include "libdrover/cluster/cfs.h"
#include "libdrover/error.h"
#include "job.h"

#define REPL_CFG_NAME "replication.cfg"
#define REPL_CFG_LOCK "file-replication_cfg"
#define REPL_DIGEST_LEN 40

struct repl_cfg {
	struct repl_job *jobs; /* in file order */
	unsigned *lines; /* the header line of each job (0: added since) */
	size_t n, cap;
	char digest[REPL_DIGEST_LEN + 1];
};

void repl_cfg_free(struct repl_cfg *cfg);

/*
 * Parse text (filename for messages). Unknown types and keys, bad values,
 * a job ID twice and two jobs of one guest to one target are errors naming
 * FILE:LINE (pvesr drops such jobs with a warning; drover refuses to guess).
 */
int repl_cfg_parse(const char *text, size_t len, const char *filename, struct repl_cfg *cfg,
		   struct drover_err *err);
int repl_cfg_write(const struct repl_cfg *cfg, struct buf *out);

/* From droverfs; a missing file is an empty configuration. */
int repl_cfg_load(const struct cfs_brief *b, struct repl_cfg *cfg, struct drover_err *err);

/* The job guest-jobnum, or NULL. */
struct repl_job *repl_cfg_find(const struct repl_cfg *cfg, uint32_t guest, uint32_t jobnum);
/* guest's job to target, or NULL. */
struct repl_job *repl_cfg_find_target(const struct repl_cfg *cfg, uint32_t guest,
				      const char *target);

/* Append job (checked: valid, ID free, one job per guest and target). */
int repl_cfg_add(struct repl_cfg *cfg, const struct repl_job *job, struct drover_err *err);
/* Remove the job; -ENOENT if there is none. */
int repl_cfg_remove(struct repl_cfg *cfg, uint32_t guest, uint32_t jobnum);

/*
 * Change replication.cfg under the cluster lock: read it again, refuse
 * with -ESTALE if digest (when not NULL or "") is no longer its digest,
 * let edit() change it, check every job, write it back. Nothing is written
 * on failure. A guest's lock (priv/lock/guest-VMID) may be held around it
 * (destroy's job removal, create-local-job) but edit() never takes one:
 * guest lock first, this one inside, or two operations deadlock.
 */
int repl_cfg_edit(const struct cfs_brief *b, const char *digest,
		  int (*edit)(struct repl_cfg *cfg, void *ctx, struct drover_err *err), void *ctx,
		  struct drover_err *err);

/* pvesr's comment encoding: control and high-bit bytes, ':' and '%' as %XX. */
int repl_comment_encode(const char *text, struct buf *out);
/* And back; -EINVAL for a bad escape. */
int repl_comment_decode(const char *text, char *out, size_t len);
