/* SPDX-License-Identifier: MIT */
/*
 * Telling the kernel to forget cached data or names. The kernel may need
 * the FUSE loop to answer a request (a read holding a page lock) before an
 * invalidation completes, so invalidations are sent from a thread of their
 * own, fed through a queue; the loop never waits for them.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct fuse_session;

struct cfs_notify_item;

struct cfs_notifier {
	struct fuse_session *se;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct cfs_notify_item *head, *tail;
	bool stop;
	bool running;
	uint64_t sent;
};

int cfs_notifier_start(struct cfs_notifier *n, struct fuse_session *se);
/*
 * Stop the thread; gives up waiting after a second (it may be stuck in the
 * kernel) and returns false then.
 */
bool cfs_notifier_stop(struct cfs_notifier *n);

/* Drop the cached content and attributes of an inode. */
void cfs_notify_inode(struct cfs_notifier *n, uint64_t ino);
/* Drop the cached name `name` in directory `parent`. */
void cfs_notify_entry(struct cfs_notifier *n, uint64_t parent, const char *name);
