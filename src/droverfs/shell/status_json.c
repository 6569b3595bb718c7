/* SPDX-License-Identifier: MIT */
#include "status_json.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "context.h"
#include "status.h"
#include "droverfs/core/store.h"

static char *finish(struct json_object *o)
{
	const char *s;
	char *out = NULL;
	size_t len;

	if (!o)
		return NULL;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						      JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s) {
		len = strlen(s);
		out = malloc(len + 2);
		if (out) {
			memcpy(out, s, len);
			out[len] = '\n';
			out[len + 1] = '\0';
		}
	}
	json_object_put(o);
	return out;
}

static void add_u64(struct json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

static void add_i64(struct json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

static void add_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

static struct json_object *kvstore_versions(struct cfs_daemon *d)
{
	struct json_object *all = json_object_new_object();
	struct json_object *node = NULL;
	const char *current = NULL;
	size_t n;
	const struct cfs_kv_value **vals = cfs_kvstore_sorted(&d->kv, &n);

	for (size_t i = 0; vals && i < n; i++) {
		if (!current || !streq(current, vals[i]->nodename)) {
			node = json_object_new_object();
			json_object_object_add(all, vals[i]->nodename, node);
			current = vals[i]->nodename;
		}
		add_u64(node, vals[i]->key, vals[i]->version);
	}
	free(vals);
	return all;
}

char *cfs_json_version(struct cfs_daemon *d)
{
	struct json_object *o = json_object_new_object();
	size_t n;
	const char *const *files = cfs_fsversion_files(&n);

	add_i64(o, "starttime", d->fsversion.starttime);
	add_u64(o, "clinfo", d->fsversion.clinfo);
	add_u64(o, "vmlist", d->fsversion.vmlist);
	for (size_t i = 0; i < n; i++)
		add_u64(o, files[i], d->fsversion.files[i]);
	add_u64(o, "tree", cfs_daemon_state(d)->tree.version);
	json_object_object_add(o, "kvstore", kvstore_versions(d));
	return finish(o);
}

/* The nodes of corosync.conf, online or not, with their addresses. */
static void add_members(struct cfs_daemon *d, const struct cfs_status_cluster *sc,
			struct json_object *o)
{
	struct json_object *cl = json_object_new_object();
	struct json_object *list = json_object_new_object();
	size_t online = 0;

	for (size_t i = 0; i < sc->nnodes; i++) {
		const struct cfs_status_node *n = &sc->nodes[i];
		struct json_object *j = json_object_new_object();
		const struct cfs_kv_value *ip = cfs_kvstore_get(&d->kv, n->name, "ip");

		online += n->online;
		json_object_object_add(j, "id", json_object_new_int64(n->nodeid));
		json_object_object_add(j, "online", json_object_new_int(n->online));
		if (ip && ip->size < 64) {
			char addr[64];

			snprintf(addr, sizeof(addr), "%.*s", (int)ip->size, (const char *)ip->data);
			json_object_object_add(j, "ip", json_object_new_string(addr));
		} else {
			json_object_object_add(j, "ip", json_object_new_string(n->addr));
		}
		json_object_object_add(list, n->name, j);
	}
	json_object_object_add(cl, "name", json_object_new_string(sc->name));
	json_object_object_add(cl, "version", json_object_new_int64((int64_t)sc->config_version));
	json_object_object_add(cl, "nodes", json_object_new_int64((int64_t)sc->nnodes));
	json_object_object_add(cl, "online", json_object_new_int64((int64_t)online));
	json_object_object_add(cl, "quorate", json_object_new_int(d->quorate));
	json_object_object_add(o, "cluster", cl);
	json_object_object_add(o, "nodelist", list);
}

char *cfs_json_members(struct cfs_daemon *d)
{
	struct json_object *o = json_object_new_object();
	struct cfs_status s;

	add_str(o, "nodename", d->opt.nodename);
	add_u64(o, "version", d->fsversion.clinfo);
	/* Local mode: no cluster, so only who we are. */
	cfs_status_collect(d, &s);
	if (s.clustered)
		add_members(d, &s.cluster, o);
	cfs_status_free(&s);
	return finish(o);
}

char *cfs_json_vmlist(struct cfs_daemon *d)
{
	struct json_object *o = json_object_new_object();
	struct json_object *ids = json_object_new_object();
	size_t n;
	struct cfs_vmlist_guest **guests = cfs_vmlist_sorted(&cfs_daemon_state(d)->vmlist, &n);

	add_u64(o, "version", d->fsversion.vmlist);
	for (size_t i = 0; guests && i < n; i++) {
		struct json_object *g = json_object_new_object();
		char id[16];

		add_str(g, "node", guests[i]->nodename);
		add_str(g, "type", guest_type_name(guests[i]->type));
		add_u64(g, "version", guests[i]->version);
		snprintf(id, sizeof(id), "%u", guests[i]->vmid);
		json_object_object_add(ids, id, g);
	}
	free(guests);
	json_object_object_add(o, "ids", ids);
	return finish(o);
}

char *cfs_json_clusterlog(struct cfs_daemon *d, size_t max, const char *ident)
{
	struct json_object *o = json_object_new_object();
	struct json_object *data = json_object_new_array();
	const struct cfs_clog_entry *e;

	if (max == 0)
		max = 50;
	for (size_t i = 0;
	     (e = cfs_clusterlog_newest(&d->clog, i)) && json_object_array_length(data) < max;
	     i++) {
		struct json_object *j;

		if (ident && *ident && !streq(ident, e->ident))
			continue;
		j = json_object_new_object();
		add_u64(j, "uid", e->uid);
		add_i64(j, "time", e->time);
		add_i64(j, "pri", e->priority);
		add_str(j, "tag", e->tag);
		add_i64(j, "pid", e->pid);
		add_str(j, "node", e->node);
		add_str(j, "user", e->ident);
		add_str(j, "msg", e->msg);
		json_object_array_add(data, j);
	}
	json_object_object_add(o, "data", data);
	return finish(o);
}

static struct json_object *limits_json(const struct cfs_limits *l)
{
	struct json_object *o = json_object_new_object();

	add_u64(o, "max_file_size", l->max_file_size);
	add_u64(o, "max_total_bytes", l->max_total_bytes);
	add_u64(o, "max_entries", l->max_entries);
	return o;
}

static struct json_object *persist_json(struct cfs_daemon *d)
{
	const struct cfs_persist_stats *s = &d->persist->stats;
	const struct cfs_store_info *info = cfs_store_info(d->persist->store);
	struct json_object *o = json_object_new_object();

	add_str(o, "database", d->persist->db_path);
	add_u64(o, "journal_bytes", cfs_persist_journal_size(d->persist));
	add_u64(o, "batches", s->batches);
	add_u64(o, "operations", s->ops);
	add_u64(o, "journal_writes", s->journal_writes);
	add_u64(o, "direct_writes", s->direct_writes);
	add_u64(o, "flushes", s->flushes);
	add_u64(o, "flush_failures", s->flush_failures);
	add_u64(o, "commit_failures", s->commit_failures);
	add_u64(o, "last_flush_us", s->last_flush_ns / 1000);
	add_u64(o, "replayed_at_start", s->replayed);
	add_u64(o, "tombstones", info->tombstones);
	add_u64(o, "tombstone_floor", info->tombstone_floor);
	add_str(o, "recovered_from", d->persist->recovered_from);
	return o;
}

/* The replica's and the corosync adapter's figures. */
static void add_cluster(const struct cfs_status_cluster *sc, struct json_object *o)
{
	const struct cfs_replica_status *r = &sc->replica;
	struct json_object *members = json_object_new_array();

	add_str(o, "sync", cfs_replica_mode_name(r->mode));
	add_i64(o, "nodeid", sc->nodeid);
	add_str(o, "cluster_name", sc->name);
	json_object_object_add(o, "writable", json_object_new_boolean(r->writable));
	json_object_object_add(o, "authoritative", json_object_new_boolean(r->authoritative));
	json_object_object_add(o, "quorum_forced", json_object_new_boolean(sc->forced));
	for (size_t i = 0; i < sc->nmembers; i++)
		json_object_array_add(members, json_object_new_string(sc->members[i]));
	json_object_object_add(o, "members", members);
	add_i64(o, "leader", r->leader.nodeid);
	add_i64(o, "rounds", (int64_t)r->rounds);
	add_i64(o, "last_sync_us", (int64_t)(r->last_sync_ns / 1000));
	add_i64(o, "updates_received", (int64_t)r->updates_received);
	add_i64(o, "full_updates_received", (int64_t)r->full_updates_received);
	add_i64(o, "updates_sent", (int64_t)r->updates_sent);
	add_i64(o, "queue", (int64_t)(r->queued + r->held));
	add_i64(o, "in_flight", (int64_t)sc->in_flight);
	add_i64(o, "send_queue", (int64_t)sc->send_queue);
	add_i64(o, "unconfirmed", (int64_t)r->unconfirmed);
	add_i64(o, "unconfirmed_failed", (int64_t)r->unconfirmed_failed);
	add_i64(o, "acks_sent", (int64_t)r->acks_sent);
	add_i64(o, "acks_piggybacked", (int64_t)r->acks_piggybacked);
	add_i64(o, "expected_votes", sc->expected_votes);
	add_i64(o, "confirmed", (int64_t)r->confirmed);
	add_i64(o, "confirm_wait_us",
		(int64_t)(r->confirmed ? r->confirm_wait_ns / r->confirmed / 1000 : 0));
	add_i64(o, "verifications", (int64_t)r->verifications);
	add_i64(o, "verify_failures", (int64_t)r->verify_failures);
	if (r->error[0])
		add_str(o, "error", r->error);
}

char *cfs_json_status(struct cfs_daemon *d)
{
	struct cfs_state *st = cfs_daemon_state(d);
	struct json_object *o = json_object_new_object();
	struct cfs_status s;
	char digest[40];

	snprintf(digest, sizeof(digest), "%016" PRIx64 "%016" PRIx64, st->tree.digest.sum,
		 st->tree.digest.xor);
	cfs_status_collect(d, &s);
	add_str(o, "mode", s.clustered ? "cluster" : "local");
	add_str(o, "node", d->opt.nodename);
	json_object_object_add(o, "quorate", json_object_new_boolean(d->quorate));
	add_str(o, "mountpoint", d->opt.mountpoint);
	add_u64(o, "version", st->tree.version);
	add_str(o, "digest", digest);
	add_u64(o, "entries", st->tree.nentries);
	add_u64(o, "bytes", st->tree.nbytes);
	add_u64(o, "guests", hmap_count(&st->vmlist.by_vmid));
	json_object_object_add(o, "limits", limits_json(&st->limits));
	add_i64(o, "starttime", d->starttime);
	add_u64(o, "pending", d->npending);
	add_u64(o, "apply_latency_us", d->applied ? d->apply_ns_total / d->applied / 1000 : 0);
	add_u64(o, "watchers", s.watchers);
	json_object_object_add(o, "persistence", persist_json(d));
	if (s.clustered)
		add_cluster(&s.cluster, o);
	cfs_status_free(&s);
	return finish(o);
}
