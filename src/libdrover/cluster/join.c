/* SPDX-License-Identifier: MIT */
#include "join.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/base64.h"
#include "basic/util.h"

#define INFO_PREFIX "drover-join-1:"

typedef int (*field_fn)(const char *key, const char *value, void *arg, struct drover_err *err);

/* Split "key=value" lines after the version line; call fn for each. */
static int parse_lines(const char *text, size_t len, field_fn fn, void *arg,
		       struct drover_err *err)
{
	char *copy, *save = NULL, *line;
	bool first = true;
	int r = 0;

	if (!text || len == 0) {
		snprintf(err->text, sizeof(err->text), "the other side sent nothing");
		return -EPROTO;
	}
	copy = strndup(text, len);
	if (!copy)
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save); line && r == 0; line = strtok_r(NULL, "\n", &save)) {
		char *eq;
		unsigned version;

		if (first) {
			first = false;
			if (sscanf(line, JOIN_PROTOCOL " %u", &version) != 1) {
				snprintf(err->text, sizeof(err->text),
					 "the other side does not speak %s (it said '%.80s')",
					 JOIN_PROTOCOL, line);
				r = -EPROTO;
			} else if (version != JOIN_PROTOCOL_VERSION) {
				snprintf(err->text, sizeof(err->text),
					 "the other side speaks %s version %u, this drover version %u: update drover on both",
					 JOIN_PROTOCOL, version, JOIN_PROTOCOL_VERSION);
				r = -EPROTO;
			}
			continue;
		}
		eq = strchr(line, '=');
		if (!eq) {
			snprintf(err->text, sizeof(err->text), "malformed line '%.80s'", line);
			r = -EPROTO;
			break;
		}
		*eq = '\0';
		r = fn(line, eq + 1, arg, err);
	}
	if (r == 0 && first) {
		snprintf(err->text, sizeof(err->text), "the other side sent nothing");
		r = -EPROTO;
	}
	free(copy);
	return r;
}

static int copy_field(char *dst, size_t len, const char *key, const char *value,
		      struct drover_err *err)
{
	if (strlen(value) >= len) {
		snprintf(err->text, sizeof(err->text), "%s is too long", key);
		return -EPROTO;
	}
	strcpy(dst, value);
	return 0;
}

static int number_field(unsigned *dst, unsigned max, const char *key, const char *value,
			struct drover_err *err)
{
	uint64_t v;

	if (parse_u64(value, max, &v) < 0) {
		snprintf(err->text, sizeof(err->text), "%s: '%.40s' is not a number up to %u", key,
			 value, max);
		return -EPROTO;
	}
	*dst = (unsigned)v;
	return 0;
}

/* "link3" -> 3, else -1. */
static int link_key(const char *key)
{
	if (!str_has_prefix(key, "link") || key[4] < '0' || key[4] > '7' || key[5])
		return -1;
	return key[4] - '0';
}

int join_request_write(const struct join_request *req, struct buf *out)
{
	const struct cluster_node_spec *n = &req->node;
	int r = buf_printf(out, "%s %u\nname=%s\nnodeid=%u\nvotes=%u\nforce=%d\n", JOIN_PROTOCOL,
			   JOIN_PROTOCOL_VERSION, n->name, n->nodeid, n->votes, req->force ? 1 : 0);

	for (unsigned l = 0; r == 0 && l < CLUSTER_LINKS_MAX; l++)
		if (n->link_mask & (1u << l))
			r = n->links[l].priority
				    ? buf_printf(out, "link%u=%s,priority=%u\n", l, n->links[l].addr,
						 n->links[l].priority)
				    : buf_printf(out, "link%u=%s\n", l, n->links[l].addr);
	if (r == 0)
		r = buf_printf(out, "ssh_key=%s\nhost_key=%s\n", req->ssh_key, req->host_key);
	return r;
}

static int request_field(const char *key, const char *value, void *arg, struct drover_err *err)
{
	struct join_request *req = arg;
	int link = link_key(key);
	unsigned force = 0;
	int r;

	if (link >= 0)
		return cluster_link_parse(value, (unsigned)link, &req->node, err);
	if (streq(key, "name"))
		return copy_field(req->node.name, sizeof(req->node.name), key, value, err);
	if (streq(key, "nodeid"))
		return number_field(&req->node.nodeid, UINT32_MAX, key, value, err);
	if (streq(key, "votes"))
		return number_field(&req->node.votes, 255, key, value, err);
	if (streq(key, "force")) {
		r = number_field(&force, 1, key, value, err);
		req->force = force == 1;
		return r;
	}
	if (streq(key, "ssh_key"))
		return copy_field(req->ssh_key, sizeof(req->ssh_key), key, value, err);
	if (streq(key, "host_key"))
		return copy_field(req->host_key, sizeof(req->host_key), key, value, err);
	return 0; /* a newer joiner's optional field: ignored */
}

int join_request_parse(const char *text, size_t len, struct join_request *req,
		       struct drover_err *err)
{
	memset(req, 0, sizeof(*req));
	req->node.votes = 1;
	return parse_lines(text, len, request_field, req, err);
}

void join_response_init(struct join_response *resp)
{
	memset(resp, 0, sizeof(*resp));
}

void join_response_free(struct join_response *resp)
{
	buf_free(&resp->corosync_conf);
	buf_free(&resp->authkey);
}

int join_response_write(const struct join_response *resp, struct buf *out)
{
	int r = buf_printf(out, "%s %u\n", JOIN_PROTOCOL, JOIN_PROTOCOL_VERSION);

	if (r == 0 && resp->error[0])
		return buf_printf(out, "error=%s\n", resp->error);
	if (r == 0)
		r = buf_printf(out, "nodeid=%u\ncorosync_conf=", resp->nodeid);
	if (r == 0)
		r = base64_encode(resp->corosync_conf.data, resp->corosync_conf.len, out);
	if (r == 0)
		r = buf_printf(out, "\nauthkey=");
	if (r == 0)
		r = base64_encode(resp->authkey.data, resp->authkey.len, out);
	if (r == 0)
		r = buf_printf(out, "\n");
	for (const char *w = resp->warnings; r == 0 && *w;) {
		size_t n = strcspn(w, "\n");

		r = buf_printf(out, "warning=%.*s\n", (int)n, w);
		w += n + (w[n] == '\n');
	}
	return r;
}

static int response_field(const char *key, const char *value, void *arg, struct drover_err *err)
{
	struct join_response *resp = arg;
	size_t wl = strlen(resp->warnings);

	if (streq(key, "error"))
		return copy_field(resp->error, sizeof(resp->error), key, value, err);
	if (streq(key, "nodeid"))
		return number_field(&resp->nodeid, UINT32_MAX, key, value, err);
	if (streq(key, "corosync_conf") || streq(key, "authkey")) {
		struct buf *b = streq(key, "authkey") ? &resp->authkey : &resp->corosync_conf;

		buf_clear(b);
		if (base64_decode(value, strlen(value), b) < 0) {
			snprintf(err->text, sizeof(err->text), "%s is not valid base64", key);
			return -EPROTO;
		}
		return 0;
	}
	if (streq(key, "warning"))
		snprintf(resp->warnings + wl, sizeof(resp->warnings) - wl, "%s\n", value);
	return 0;
}

int join_response_parse(const char *text, size_t len, struct join_response *resp,
			struct drover_err *err)
{
	int r = parse_lines(text, len, response_field, resp, err);

	if (r == 0 && !resp->error[0] && (!resp->corosync_conf.len || !resp->authkey.len)) {
		snprintf(err->text, sizeof(err->text), "the answer lacks corosync.conf or the authkey");
		r = -EPROTO;
	}
	return r;
}

int join_info_encode(const struct join_info *info, struct buf *out)
{
	struct buf lines = BUF_INIT;
	int r = buf_printf(&lines, "%s %u\ncluster=%s\nnode=%s\nfingerprint=%s\n", JOIN_PROTOCOL,
			   JOIN_PROTOCOL_VERSION, info->cluster, info->node, info->fingerprint);

	for (unsigned l = 0; r == 0 && l < CLUSTER_LINKS_MAX; l++)
		if (info->link_mask & (1u << l))
			r = buf_printf(&lines, "link%u=%s\n", l, info->addrs[l]);
	if (r == 0)
		r = buf_printf(out, INFO_PREFIX);
	if (r == 0)
		r = base64_encode(lines.data, lines.len, out);
	buf_free(&lines);
	return r;
}

static int info_field(const char *key, const char *value, void *arg, struct drover_err *err)
{
	struct join_info *info = arg;
	int link = link_key(key);

	if (link >= 0) {
		info->link_mask |= 1u << link;
		return copy_field(info->addrs[link], sizeof(info->addrs[link]), key, value, err);
	}
	if (streq(key, "cluster"))
		return copy_field(info->cluster, sizeof(info->cluster), key, value, err);
	if (streq(key, "node"))
		return copy_field(info->node, sizeof(info->node), key, value, err);
	if (streq(key, "fingerprint"))
		return copy_field(info->fingerprint, sizeof(info->fingerprint), key, value, err);
	return 0;
}

int join_info_decode(const char *text, struct join_info *info, struct drover_err *err)
{
	struct buf lines = BUF_INIT;
	int r;

	memset(info, 0, sizeof(*info));
	if (!str_has_prefix(text, INFO_PREFIX)) {
		snprintf(err->text, sizeof(err->text),
			 "the join information must start with '%s' (copy it whole from 'drover cluster join-info')",
			 INFO_PREFIX);
		return -EINVAL;
	}
	text += strlen(INFO_PREFIX);
	r = base64_decode(text, strlen(text), &lines);
	if (r == -EINVAL)
		snprintf(err->text, sizeof(err->text),
			 "the join information is damaged (not base64): copy it whole");
	if (r == 0)
		r = parse_lines((const char *)lines.data, lines.len, info_field, info, err);
	if (r == 0 && (!info->link_mask || !info->fingerprint[0] || !info->cluster[0])) {
		snprintf(err->text, sizeof(err->text),
			 "the join information lacks an address, the fingerprint or the cluster name");
		r = -EINVAL;
	}
	buf_free(&lines);
	return r < 0 ? (r == -EPROTO ? -EINVAL : r) : 0;
}
