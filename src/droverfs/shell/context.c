/* SPDX-License-Identifier: MIT */
#include "context.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/array.h"
#include "basic/util.h"
#include "status.h"

int cfs_daemon_add_part(struct cfs_daemon *d, const struct cfs_part_ops *ops, void *part)
{
	if (ARRAY_GROW(d->parts, d->parts_cap, d->nparts + 1) < 0)
		return -ENOMEM;
	d->parts[d->nparts++] = (struct cfs_part){ .ops = ops, .part = part };
	return 0;
}

void cfs_daemon_remove_part(struct cfs_daemon *d, void *part)
{
	for (size_t i = 0; i < d->nparts; i++) {
		if (d->parts[i].part != part)
			continue;
		memmove(&d->parts[i], &d->parts[i + 1], (d->nparts - i - 1) * sizeof(d->parts[0]));
		d->nparts--;
		return;
	}
}

void cfs_daemon_changed(struct cfs_daemon *d, const struct cfs_change *c)
{
	for (size_t i = 0; i < d->nparts; i++)
		if (d->parts[i].ops->changed)
			d->parts[i].ops->changed(d->parts[i].part, c);
}

void cfs_daemon_committed(struct cfs_daemon *d)
{
	for (size_t i = 0; i < d->nparts; i++)
		if (d->parts[i].ops->committed)
			d->parts[i].ops->committed(d->parts[i].part);
}

void cfs_daemon_set_replicator(struct cfs_daemon *d, const struct cfs_replicator_ops *ops,
			       void *repl)
{
	d->repl_ops = ops;
	d->repl = repl;
}

void cfs_daemon_share_kv(struct cfs_daemon *d, const char *key, const void *data, size_t len)
{
	if (d->repl_ops)
		d->repl_ops->send_kv(d->repl, key, data, len);
}

void cfs_daemon_share_log(struct cfs_daemon *d, const struct cfs_clog_entry *e)
{
	if (d->repl_ops && e)
		d->repl_ops->send_log(d->repl, e);
}

void cfs_daemon_count_apply(struct cfs_daemon *d, uint64_t start_ns)
{
	d->apply_ns_total += now_monotonic_ns() - start_ns;
	d->applied++;
}

void cfs_status_collect(struct cfs_daemon *d, struct cfs_status *s)
{
	*s = (struct cfs_status){ .clustered = cfs_daemon_clustered(d) };
	for (size_t i = 0; i < d->nparts; i++)
		if (d->parts[i].ops->status)
			d->parts[i].ops->status(d->parts[i].part, s);
}

void cfs_status_free(struct cfs_status *s)
{
	free(s->cluster.members);
	free(s->cluster.nodes);
	s->cluster.members = NULL;
	s->cluster.nodes = NULL;
}
