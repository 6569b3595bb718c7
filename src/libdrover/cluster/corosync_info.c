/* SPDX-License-Identifier: MIT */
#include "corosync_info.h"

#include <corosync/cfg.h>
#include <corosync/cmap.h>
#include <corosync/corotypes.h>
#include <corosync/quorum.h>
#include <corosync/votequorum.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"

static int cs_errno(cs_error_t e)
{
	switch (e) {
	case CS_OK:
		return 0;
	case CS_ERR_LIBRARY:
		return -ENOTCONN; /* no corosync to talk to */
	case CS_ERR_INVALID_PARAM:
		return -EINVAL;
	case CS_ERR_ACCESS:
		return -EACCES;
	case CS_ERR_TRY_AGAIN:
		return -EAGAIN;
	case CS_ERR_NOT_EXIST:
		return -ENOENT;
	default:
		return -EIO;
	}
}

static int fail(char *err, size_t len, const char *what, cs_error_t e)
{
	snprintf(err, len, "%s: %s", what,
		 e == CS_ERR_LIBRARY ? "corosync is not running on this node" : cs_strerror(e));
	return cs_errno(e);
}

/* --- configuration and the nodelist (cmap) -------------------------------- */

static void cmap_string(cmap_handle_t h, const char *key, char *out, size_t len)
{
	char *v = NULL;

	out[0] = '\0';
	if (cmap_get_string(h, key, &v) == CS_OK) {
		snprintf(out, len, "%s", v);
		free(v);
	}
}

static struct cs_member *member_by_id(struct cs_status *s, unsigned nodeid, bool add)
{
	for (unsigned i = 0; i < s->nnodes; i++)
		if (s->nodes[i].nodeid == nodeid)
			return &s->nodes[i];
	if (!add || s->nnodes >= CS_MEMBERS_MAX)
		return NULL;
	memset(&s->nodes[s->nnodes], 0, sizeof(s->nodes[0]));
	s->nodes[s->nnodes].nodeid = nodeid;
	return &s->nodes[s->nnodes++];
}

/* nodelist.node.N.{nodeid,name,ringK_addr} -> s->nodes. */
static void read_nodelist(cmap_handle_t h, struct cs_status *s)
{
	for (unsigned i = 0; i < CS_MEMBERS_MAX; i++) {
		char key[96], name[64], addr[64];
		uint32_t id;
		struct cs_member *m;

		snprintf(key, sizeof(key), "nodelist.node.%u.nodeid", i);
		if (cmap_get_uint32(h, key, &id) != CS_OK)
			break;
		m = member_by_id(s, id, true);
		if (!m)
			break;
		snprintf(key, sizeof(key), "nodelist.node.%u.name", i);
		cmap_string(h, key, name, sizeof(name));
		snprintf(m->name, sizeof(m->name), "%s", name);
		for (unsigned l = 0; l < CS_LINKS_MAX; l++) {
			snprintf(key, sizeof(key), "nodelist.node.%u.ring%u_addr", i, l);
			cmap_string(h, key, addr, sizeof(addr));
			if (!addr[0])
				continue;
			m->link_mask |= 1u << l;
			if (!m->addr[0])
				snprintf(m->addr, sizeof(m->addr), "%s", addr);
		}
	}
}

static int read_config(struct cs_status *s, char *err, size_t len)
{
	cmap_handle_t h;
	cs_error_t e = cmap_initialize(&h);
	char secauth[16], cipher[32];

	if (e != CS_OK)
		return fail(err, len, "cmap", e);
	cmap_string(h, "totem.cluster_name", s->cluster_name, sizeof(s->cluster_name));
	if (cmap_get_uint64(h, "totem.config_version", &s->config_version) != CS_OK)
		s->config_version = 0;
	cmap_string(h, "totem.transport", s->transport, sizeof(s->transport));
	if (!s->transport[0])
		snprintf(s->transport, sizeof(s->transport), "knet");
	cmap_string(h, "totem.secauth", secauth, sizeof(secauth));
	cmap_string(h, "totem.crypto_cipher", cipher, sizeof(cipher));
	s->secauth = streq(secauth, "on") || (cipher[0] && !streq(cipher, "none"));
	cmap_string(h, "quorum.device.model", s->qdevice_model, sizeof(s->qdevice_model));
	cmap_string(h, "quorum.device.net.host", s->qdevice_host, sizeof(s->qdevice_host));
	cmap_string(h, "quorum.device.net.algorithm", s->qdevice_algorithm,
		    sizeof(s->qdevice_algorithm));
	read_nodelist(h, s);
	cmap_finalize(h);
	return 0;
}

/* --- members and ring id (quorum) ----------------------------------------- */

struct quorum_view {
	bool got;
	struct cs_status *s;
};

static void on_quorum(quorum_handle_t h, uint32_t quorate, struct quorum_ring_id ring, uint32_t n,
		      const uint32_t *list)
{
	const void *ctx = NULL;
	struct quorum_view *v;

	quorum_context_get(h, &ctx);
	v = (struct quorum_view *)ctx;
	v->got = true;
	v->s->quorate = quorate;
	v->s->ring_nodeid = ring.nodeid;
	v->s->ring_seq = ring.seq;
	v->s->nmembers = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct cs_member *m = member_by_id(v->s, list[i], true);

		if (m) {
			m->online = true;
			v->s->nmembers++;
		}
	}
}

static int read_members(struct cs_status *s, char *err, size_t len)
{
	quorum_model_v1_data_t data = { .model = QUORUM_MODEL_V1, .quorum_notify_fn = on_quorum };
	struct quorum_view view = { false, s };
	quorum_handle_t h;
	uint32_t type;
	cs_error_t e;
	int fd = -1;

	e = quorum_model_initialize(&h, QUORUM_MODEL_V1, (quorum_model_data_t *)&data, &type,
				    &view);
	if (e != CS_OK)
		return fail(err, len, "quorum", e);
	e = quorum_trackstart(h, CS_TRACK_CURRENT);
	if (e == CS_OK)
		e = quorum_fd_get(h, &fd);
	/* the current view comes as one notification; wait for it, but not forever */
	for (int i = 0; e == CS_OK && !view.got && i < 50; i++) {
		struct pollfd p = { fd, POLLIN, 0 };

		if (poll(&p, 1, 100) > 0)
			e = quorum_dispatch(h, CS_DISPATCH_ALL);
	}
	quorum_finalize(h);
	if (e != CS_OK)
		return fail(err, len, "quorum", e);
	if (!view.got) {
		snprintf(err, len, "quorum: corosync sent no membership");
		return -ETIMEDOUT;
	}
	return 0;
}

/* --- votes (votequorum) and links (cfg) ----------------------------------- */

static int read_votes(struct cs_status *s, char *err, size_t len)
{
	votequorum_callbacks_t cb = { 0 };
	struct votequorum_info info;
	votequorum_handle_t h;
	cs_error_t e = votequorum_initialize(&h, &cb);

	if (e != CS_OK)
		return fail(err, len, "votequorum", e);
	e = votequorum_getinfo(h, s->local_nodeid, &info);
	if (e == CS_OK) {
		s->expected_votes = info.node_expected_votes;
		s->highest_expected = info.highest_expected;
		s->total_votes = info.total_votes;
		s->quorum = info.quorum;
		s->flags = info.flags;
		s->qdevice_votes = info.qdevice_votes;
		snprintf(s->qdevice_name, sizeof(s->qdevice_name), "%s", info.qdevice_name);
	}
	for (unsigned i = 0; e == CS_OK && i < s->nnodes; i++) {
		if (votequorum_getinfo(h, s->nodes[i].nodeid, &info) == CS_OK) {
			s->nodes[i].votes = info.node_votes;
			s->nodes[i].flags = info.flags;
		}
	}
	votequorum_finalize(h);
	return e == CS_OK ? 0 : fail(err, len, "votequorum", e);
}

static void read_links(corosync_cfg_handle_t h, struct cs_status *s)
{
	for (unsigned i = 0; i < s->nnodes; i++) {
		struct corosync_cfg_node_status_v1 st;
		struct cs_member *m = &s->nodes[i];

		if (m->local) {
			m->link_up = m->link_mask;
			continue;
		}
		if (corosync_cfg_node_status_get(h, m->nodeid, CFG_NODE_STATUS_V1, &st) != CS_OK)
			continue;
		for (unsigned l = 0; l < CS_LINKS_MAX; l++)
			if (st.link_status[l].enabled && st.link_status[l].connected)
				m->link_up |= 1u << l;
	}
}

static int cmp_member(const void *a, const void *b)
{
	const struct cs_member *x = a, *y = b;

	if (x->online != y->online)
		return x->online ? -1 : 1;
	return x->nodeid < y->nodeid ? -1 : x->nodeid > y->nodeid;
}

int cs_status_get(struct cs_status *s, char *err, size_t len)
{
	corosync_cfg_handle_t cfg;
	cs_error_t e;
	int r;

	memset(s, 0, sizeof(*s));
	e = corosync_cfg_initialize(&cfg, NULL);
	if (e != CS_OK)
		return fail(err, len, "cfg", e);
	e = corosync_cfg_local_get(cfg, &s->local_nodeid);
	r = e == CS_OK ? read_config(s, err, len) : fail(err, len, "cfg", e);
	if (r == 0)
		r = read_members(s, err, len);
	if (r == 0) {
		struct cs_member *self = member_by_id(s, s->local_nodeid, true);

		if (self)
			self->local = true;
		read_links(cfg, s);
		r = read_votes(s, err, len);
	}
	corosync_cfg_finalize(cfg);
	qsort(s->nodes, s->nnodes, sizeof(s->nodes[0]), cmp_member);
	return r;
}

int cs_set_expected(unsigned votes, char *err, size_t len)
{
	votequorum_callbacks_t cb = { 0 };
	votequorum_handle_t h;
	cs_error_t e = votequorum_initialize(&h, &cb);

	if (e != CS_OK)
		return fail(err, len, "votequorum", e);
	e = votequorum_setexpected(h, votes);
	votequorum_finalize(h);
	if (e == CS_ERR_INVALID_PARAM) {
		snprintf(
			err, len,
			"corosync refused expected votes %u: it must not be below the votes present, and must not take quorum away from a quorate cluster",
			votes);
		return -EINVAL;
	}
	return e == CS_OK ? 0 : fail(err, len, "votequorum_setexpected", e);
}

int cs_kill_node(unsigned nodeid, const char *reason, char *err, size_t len)
{
	corosync_cfg_handle_t h;
	cs_error_t e = corosync_cfg_initialize(&h, NULL);

	if (e != CS_OK)
		return fail(err, len, "cfg", e);
	e = corosync_cfg_kill_node(h, nodeid, reason);
	corosync_cfg_finalize(h);
	return e == CS_OK ? 0 : fail(err, len, "corosync_cfg_kill_node", e);
}

bool cs_running(void)
{
	corosync_cfg_handle_t h;

	if (corosync_cfg_initialize(&h, NULL) != CS_OK)
		return false;
	corosync_cfg_finalize(h);
	return true;
}

int cs_config_version(uint64_t *version, char *err, size_t len)
{
	cmap_handle_t h;
	cs_error_t e = cmap_initialize(&h);

	if (e != CS_OK)
		return fail(err, len, "cmap", e);
	e = cmap_get_uint64(h, "totem.config_version", version);
	cmap_finalize(h);
	if (e == CS_ERR_NOT_EXIST) {
		*version = 0;
		return 0;
	}
	return e == CS_OK ? 0 : fail(err, len, "cmap totem.config_version", e);
}

void cs_qdevice_flags(unsigned flags, char *out, size_t len)
{
	if (!(flags & VOTEQUORUM_INFO_QDEVICE_REGISTERED)) {
		snprintf(out, len, "NR");
		return;
	}
	snprintf(out, len, "%s,%s,%s", flags & VOTEQUORUM_INFO_QDEVICE_ALIVE ? "A" : "NA",
		 flags & VOTEQUORUM_INFO_QDEVICE_CAST_VOTE ? "V" : "NV",
		 flags & VOTEQUORUM_INFO_QDEVICE_MASTER_WINS ? "MW" : "NMW");
}
