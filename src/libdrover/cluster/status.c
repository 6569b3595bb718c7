/* SPDX-License-Identifier: MIT */
#include "status.h"

#include <corosync/votequorum.h>
#include <json-c/json.h>
#include <stdio.h>

#include "basic/util.h"

void cluster_status_flag_names(unsigned flags, char *out, size_t len)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ VOTEQUORUM_INFO_TWONODE, "2Node" },
		{ VOTEQUORUM_INFO_QUORATE, "Quorate" },
		{ VOTEQUORUM_INFO_WAIT_FOR_ALL, "WaitForAll" },
		{ VOTEQUORUM_INFO_LAST_MAN_STANDING, "LastManStanding" },
		{ VOTEQUORUM_INFO_AUTO_TIE_BREAKER, "AutoTieBreaker" },
		{ VOTEQUORUM_INFO_ALLOW_DOWNSCALE, "AllowDownscale" },
		{ VOTEQUORUM_INFO_QDEVICE_REGISTERED, "Qdevice" },
	};
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (flags & names[i].bit)
			n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%s", n ? " " : "",
					      names[i].name);
}

bool cluster_status_qdevice_registered(const struct cs_status *s)
{
	return s->flags & VOTEQUORUM_INFO_QDEVICE_REGISTERED;
}

/* The configured device and what votequorum says of it; null when there is none. */
static struct json_object *qdevice_json(const struct cs_status *s)
{
	struct json_object *q;

	if (!s->qdevice_model[0])
		return NULL;
	q = json_object_new_object();
	json_object_object_add(q, "model", json_object_new_string(s->qdevice_model));
	json_object_object_add(q, "host", json_object_new_string(s->qdevice_host));
	json_object_object_add(q, "algorithm", json_object_new_string(s->qdevice_algorithm));
	json_object_object_add(q, "registered",
			       json_object_new_boolean(cluster_status_qdevice_registered(s)));
	json_object_object_add(q, "alive",
			       json_object_new_boolean(s->flags & VOTEQUORUM_INFO_QDEVICE_ALIVE));
	json_object_object_add(
		q, "cast_vote",
		json_object_new_boolean(s->flags & VOTEQUORUM_INFO_QDEVICE_CAST_VOTE));
	json_object_object_add(q, "votes", json_object_new_int64(s->qdevice_votes));
	json_object_object_add(q, "name", json_object_new_string(s->qdevice_name));
	return q;
}

static struct json_object *member_json(const struct cs_status *s, const struct cs_member *m)
{
	struct json_object *n = json_object_new_object(), *links = json_object_new_object();

	json_object_object_add(n, "nodeid", json_object_new_int64(m->nodeid));
	json_object_object_add(n, "name", json_object_new_string(m->name));
	json_object_object_add(n, "address", json_object_new_string(m->addr));
	json_object_object_add(n, "votes", json_object_new_int64(m->votes));
	json_object_object_add(n, "online", json_object_new_boolean(m->online));
	json_object_object_add(n, "local", json_object_new_boolean(m->local));
	if (s->qdevice_model[0]) {
		char qflags[16];

		cs_qdevice_flags(m->flags, qflags, sizeof(qflags));
		json_object_object_add(n, "qdevice", json_object_new_string(qflags));
	}
	for (unsigned l = 0; l < CS_LINKS_MAX; l++) {
		char key[16];

		if (!(m->link_mask & (1u << l)))
			continue;
		snprintf(key, sizeof(key), "link%u", l);
		json_object_object_add(links, key, json_object_new_boolean((m->link_up >> l) & 1));
	}
	json_object_object_add(n, "links", links);
	return n;
}

struct json_object *cluster_status_json(const struct cs_status *s)
{
	struct json_object *o = json_object_new_object(), *nodes = json_object_new_array();
	char flags[160];

	cluster_status_flag_names(s->flags, flags, sizeof(flags));
	json_object_object_add(o, "cluster_name", json_object_new_string(s->cluster_name));
	json_object_object_add(o, "config_version",
			       json_object_new_int64((int64_t)s->config_version));
	json_object_object_add(o, "transport", json_object_new_string(s->transport));
	json_object_object_add(o, "secauth", json_object_new_boolean(s->secauth));
	json_object_object_add(o, "quorate", json_object_new_boolean(s->quorate));
	json_object_object_add(o, "nodeid", json_object_new_int64(s->local_nodeid));
	json_object_object_add(o, "members", json_object_new_int64(s->nmembers));
	json_object_object_add(o, "expected_votes", json_object_new_int64(s->expected_votes));
	json_object_object_add(o, "highest_expected", json_object_new_int64(s->highest_expected));
	json_object_object_add(o, "total_votes", json_object_new_int64(s->total_votes));
	json_object_object_add(o, "quorum", json_object_new_int64(s->quorum));
	json_object_object_add(o, "flags", json_object_new_string(flags));
	json_object_object_add(o, "qdevice", qdevice_json(s));
	for (unsigned i = 0; i < s->nnodes; i++)
		json_object_array_add(nodes, member_json(s, &s->nodes[i]));
	json_object_object_add(o, "nodes", nodes);
	return o;
}
