/* SPDX-License-Identifier: MIT */
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/array.h"
#include "basic/util.h"

void repl_state_init(struct repl_state *s)
{
	memset(s, 0, sizeof(*s));
}

void repl_state_free(struct repl_state *s)
{
	free(s->entries);
	repl_state_init(s);
}

static int entry_cmp(uint32_t guest, const char *target, const struct repl_state_entry *e)
{
	if (guest != e->guest)
		return guest < e->guest ? -1 : 1;
	return strcmp(target, e->target);
}

/* Where (guest, target) is or would go; *found if it is there. */
static size_t locate(const struct repl_state *s, uint32_t guest, const char *target, bool *found)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = entry_cmp(guest, target, &s->entries[mid]);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*found = false;
	return lo;
}

struct repl_job_state *repl_state_find(const struct repl_state *s, uint32_t guest,
				       const char *target)
{
	bool found;
	size_t i = locate(s, guest, target, &found);

	return found ? &s->entries[i].st : NULL;
}

int repl_state_get(struct repl_state *s, uint32_t guest, const char *target,
		   struct repl_job_state **out)
{
	bool found;
	size_t i = locate(s, guest, target, &found);

	if (!found) {
		if (!node_name_valid(target))
			return -EINVAL;
		if (ARRAY_GROW(s->entries, s->cap, s->n + 1) < 0)
			return -ENOMEM;
		memmove(&s->entries[i + 1], &s->entries[i], (s->n - i) * sizeof(s->entries[0]));
		memset(&s->entries[i], 0, sizeof(s->entries[i]));
		s->entries[i].guest = guest;
		snprintf(s->entries[i].target, sizeof(s->entries[i].target), "%s", target);
		s->n++;
	}
	*out = &s->entries[i].st;
	return 0;
}

static void remove_at(struct repl_state *s, size_t i)
{
	memmove(&s->entries[i], &s->entries[i + 1], (s->n - i - 1) * sizeof(s->entries[0]));
	s->n--;
}

void repl_state_remove(struct repl_state *s, uint32_t guest, const char *target)
{
	bool found;
	size_t i = locate(s, guest, target, &found);

	if (found)
		remove_at(s, i);
}

void repl_state_remove_guest(struct repl_state *s, uint32_t guest)
{
	for (size_t i = s->n; i-- > 0;)
		if (s->entries[i].guest == guest)
			remove_at(s, i);
}

size_t repl_state_purge(struct repl_state *s,
			bool (*keep)(uint32_t guest, const char *target, void *ctx), void *ctx)
{
	size_t dropped = 0;

	for (size_t i = s->n; i-- > 0;)
		if (!keep(s->entries[i].guest, s->entries[i].target, ctx)) {
			remove_at(s, i);
			dropped++;
		}
	return dropped;
}

void repl_job_started(struct repl_job_state *js, int64_t start, int64_t iteration, const char *node,
		      int32_t pid, uint64_t ptime)
{
	js->last_try = start;
	js->last_iteration = iteration;
	snprintf(js->last_node, sizeof(js->last_node), "%s", node);
	js->pid = pid;
	js->ptime = ptime;
}

bool repl_storage_id_valid(const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len >= STORAGE_ID_MAX || id[0] < 'a' || id[0] > 'z')
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == '_'))
			return false;
	}
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int repl_job_set_storeids(struct repl_job_state *js, const char *const *ids, size_t n,
			  struct drover_err *err)
{
	const char **sorted;
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (!repl_storage_id_valid(ids[i]))
			return drover_fail(err, -EINVAL, "'%.64s' is not a storage ID", ids[i]);
	sorted = malloc((n ? n : 1) * sizeof(*sorted));
	if (!sorted)
		return drover_fail(err, -ENOMEM, "out of memory");
	memcpy(sorted, ids, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && streq(sorted[i], sorted[i - 1]))
			continue;
		if (k == REPL_STOREIDS_MAX) {
			free(sorted);
			return drover_fail(err, -E2BIG, "the volumes are on more than %d storages",
					   REPL_STOREIDS_MAX);
		}
		snprintf(js->storeids[k++], STORAGE_ID_MAX, "%s", sorted[i]);
	}
	js->n_storeids = k;
	free(sorted);
	return 0;
}

void repl_job_synced(struct repl_job_state *js, int64_t start)
{
	js->last_sync = start;
}

void repl_job_finished(struct repl_job_state *js, int64_t start, double duration, uint64_t bytes,
		       const char *error)
{
	size_t len;

	js->duration = duration;
	js->bytes = bytes;
	js->pid = 0;
	js->ptime = 0;
	if (!error) {
		js->last_sync = start;
		js->fail_count = 0;
		js->error[0] = '\0';
		return;
	}
	js->fail_count++;
	snprintf(js->error, sizeof(js->error), "%s", error);
	len = strlen(js->error);
	if (len > 0 && js->error[len - 1] == '\n')
		js->error[len - 1] = '\0';
}

void repl_job_schedule_now(struct repl_job_state *js)
{
	js->last_try = 0;
}

bool repl_job_running(const struct repl_job_state *js, uint64_t ptime_now)
{
	return js->pid > 0 && js->ptime != 0 && ptime_now == js->ptime;
}
