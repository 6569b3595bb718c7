/* SPDX-License-Identifier: MIT */
/*
 * The cluster log: short messages about what happened (tasks, joins,
 * errors), newest first, bounded in RAM. Each entry is identified by the
 * node that logged it and a per-node sequence number (uid), so logs merged
 * from several nodes keep each entry once.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define CLOG_MAX_MESSAGE 4096
#define CLOG_DEFAULT_CAPACITY 1024

struct cfs_clog_entry {
	uint64_t uid;
	int64_t time;
	uint32_t pid;
	uint8_t priority;
	char *node;
	char *ident; /* who asked (a user, a daemon) */
	char *tag; /* what logged it (a program) */
	char *msg;
};

struct cfs_clusterlog {
	struct cfs_clog_entry *entries; /* ring, oldest at `head` */
	size_t capacity, count, head;
	uint64_t next_uid;
};

int cfs_clusterlog_init(struct cfs_clusterlog *log, size_t capacity);
void cfs_clusterlog_destroy(struct cfs_clusterlog *log);

/*
 * Log a message from this node. Control characters are replaced, the
 * message is cut at 4096 bytes. Returns 0 or -ENOMEM / -EINVAL (priority
 * over 7, empty message).
 */
int cfs_clusterlog_append(struct cfs_clusterlog *log, const char *node, const char *ident,
			  const char *tag, uint32_t pid, uint8_t priority, int64_t time,
			  const char *msg);

/* Entry i counted from the newest (0). */
const struct cfs_clog_entry *cfs_clusterlog_newest(const struct cfs_clusterlog *log, size_t i);

/*
 * Merge an entry logged elsewhere (or sent again after a sync): kept once
 * per (node, uid), placed by time. Returns 1 added, 0 already known, or
 * -ENOMEM / -EINVAL.
 */
int cfs_clusterlog_merge(struct cfs_clusterlog *log, const struct cfs_clog_entry *e);
