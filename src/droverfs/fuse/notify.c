/* SPDX-License-Identifier: MIT */
#define FUSE_USE_VERSION 35
#include "notify.h"

#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "basic/log.h"

struct cfs_notify_item {
	struct cfs_notify_item *next;
	uint64_t ino;
	uint64_t parent;
	char name[]; /* empty: an inode invalidation */
};

static void *notifier_main(void *arg)
{
	struct cfs_notifier *n = arg;

	pthread_mutex_lock(&n->lock);
	for (;;) {
		struct cfs_notify_item *it;
		int r;

		while (!n->head && !n->stop)
			pthread_cond_wait(&n->cond, &n->lock);
		if (!n->head)
			break;
		it = n->head;
		n->head = it->next;
		if (!n->head)
			n->tail = NULL;
		pthread_mutex_unlock(&n->lock);
		if (it->name[0])
			r = fuse_lowlevel_notify_inval_entry(n->se, it->parent, it->name,
							     strlen(it->name));
		else
			r = fuse_lowlevel_notify_inval_inode(n->se, it->ino, 0, 0);
		/* ENOENT: the kernel had nothing cached, which is fine. */
		if (r < 0 && r != -ENOENT)
			log_debug("kernel cache invalidation failed: %s", strerror(-r));
		free(it);
		pthread_mutex_lock(&n->lock);
		n->sent++;
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

int cfs_notifier_start(struct cfs_notifier *n, struct fuse_session *se)
{
	int r;

	memset(n, 0, sizeof(*n));
	n->se = se;
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->cond, NULL);
	r = pthread_create(&n->thread, NULL, notifier_main, n);
	if (r != 0)
		return -r;
	n->running = true;
	return 0;
}

bool cfs_notifier_stop(struct cfs_notifier *n)
{
	struct timespec deadline;
	bool stopped = true;

	if (!n->running)
		return true;
	pthread_mutex_lock(&n->lock);
	n->stop = true;
	/* Pending invalidations are moot once we unmount. */
	while (n->head) {
		struct cfs_notify_item *it = n->head;

		n->head = it->next;
		free(it);
	}
	n->tail = NULL;
	pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&n->lock);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 1;
	if (pthread_timedjoin_np(n->thread, NULL, &deadline) != 0) {
		log_warn("kernel cache invalidation thread is stuck; leaving it");
		pthread_detach(n->thread);
		stopped = false;
	}
	n->running = false;
	return stopped;
}

static void enqueue(struct cfs_notifier *n, uint64_t ino, uint64_t parent, const char *name)
{
	size_t len = name ? strlen(name) : 0;
	struct cfs_notify_item *it = malloc(sizeof(*it) + len + 1);

	if (!it || !n->running) {
		free(it);
		return; /* caches then expire on their own (1 s) */
	}
	it->next = NULL;
	it->ino = ino;
	it->parent = parent;
	memcpy(it->name, name ? name : "", len + 1);
	pthread_mutex_lock(&n->lock);
	if (n->tail)
		n->tail->next = it;
	else
		n->head = it;
	n->tail = it;
	pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&n->lock);
}

void cfs_notify_inode(struct cfs_notifier *n, uint64_t ino)
{
	enqueue(n, ino, 0, NULL);
}

void cfs_notify_entry(struct cfs_notifier *n, uint64_t parent, const char *name)
{
	enqueue(n, 0, parent, name);
}
