/* SPDX-License-Identifier: MIT */
#include "clusterlog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "basic/util.h"

int cfs_clusterlog_init(struct cfs_clusterlog *log, size_t capacity)
{
	memset(log, 0, sizeof(*log));
	log->entries = calloc(capacity, sizeof(*log->entries));
	if (!log->entries)
		return -ENOMEM;
	log->capacity = capacity;
	/* Unique across restarts, so that merged logs never mistake a new entry for an old one. */
	log->next_uid = ((uint64_t)time(NULL) << 20) | 1;
	return 0;
}

static void entry_clear(struct cfs_clog_entry *e)
{
	free(e->node);
	free(e->ident);
	free(e->tag);
	free(e->msg);
	memset(e, 0, sizeof(*e));
}

void cfs_clusterlog_destroy(struct cfs_clusterlog *log)
{
	for (size_t i = 0; i < log->count; i++)
		entry_clear(&log->entries[(log->head + i) % log->capacity]);
	free(log->entries);
	memset(log, 0, sizeof(*log));
}

/* A copy with control characters shown as '?', cut at max bytes. */
static char *clean_copy(const char *s, size_t max)
{
	size_t len = strnlen(s, max);
	char *c = malloc(len + 1);

	if (!c)
		return NULL;
	for (size_t i = 0; i < len; i++)
		c[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	c[len] = '\0';
	return c;
}

int cfs_clusterlog_append(struct cfs_clusterlog *log, const char *node, const char *ident,
			  const char *tag, uint32_t pid, uint8_t priority, int64_t time,
			  const char *msg)
{
	struct cfs_clog_entry e = {
		.uid = log->next_uid, .time = time, .pid = pid, .priority = priority
	};
	struct cfs_clog_entry *slot;

	if (priority > 7 || !*msg)
		return -EINVAL;
	e.node = clean_copy(node, 255);
	e.ident = clean_copy(ident, 255);
	e.tag = clean_copy(tag, 255);
	e.msg = clean_copy(msg, CLOG_MAX_MESSAGE);
	if (!e.node || !e.ident || !e.tag || !e.msg) {
		entry_clear(&e);
		return -ENOMEM;
	}
	if (log->count == log->capacity) {
		slot = &log->entries[log->head];
		entry_clear(slot);
		log->head = (log->head + 1) % log->capacity;
	} else {
		slot = &log->entries[(log->head + log->count) % log->capacity];
		log->count++;
	}
	*slot = e;
	log->next_uid++;
	return 0;
}

const struct cfs_clog_entry *cfs_clusterlog_newest(const struct cfs_clusterlog *log, size_t i)
{
	if (i >= log->count)
		return NULL;
	return &log->entries[(log->head + log->count - 1 - i) % log->capacity];
}

static bool entry_known(const struct cfs_clusterlog *log, const struct cfs_clog_entry *e)
{
	for (size_t i = 0; i < log->count; i++) {
		const struct cfs_clog_entry *x = &log->entries[(log->head + i) % log->capacity];

		if (x->uid == e->uid && streq(x->node, e->node))
			return true;
	}
	return false;
}

int cfs_clusterlog_merge(struct cfs_clusterlog *log, const struct cfs_clog_entry *e)
{
	size_t pos;

	if (e->priority > 7 || !e->msg[0] || !e->node[0])
		return -EINVAL;
	if (entry_known(log, e))
		return 0;
	if (log->count == log->capacity && log->entries[log->head].time > e->time)
		return 0; /* older than everything kept */
	{
		uint64_t saved = log->next_uid;
		int r = cfs_clusterlog_append(log, e->node, e->ident, e->tag, e->pid, e->priority,
					      e->time, e->msg);

		log->next_uid = saved;
		if (r < 0)
			return r;
	}
	/* Keep the ring ordered by time: move the new entry back past newer ones. */
	pos = log->count - 1;
	log->entries[(log->head + pos) % log->capacity].uid = e->uid;
	while (pos > 0) {
		struct cfs_clog_entry *cur = &log->entries[(log->head + pos) % log->capacity];
		struct cfs_clog_entry *prev = &log->entries[(log->head + pos - 1) % log->capacity];
		struct cfs_clog_entry t;

		if (prev->time <= cur->time)
			break;
		t = *prev;
		*prev = *cur;
		*cur = t;
		pos--;
	}
	return 1;
}
