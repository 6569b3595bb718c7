/* SPDX-License-Identifier: MIT */
#include "conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libdrover/format/names.h"
#include "basic/util.h"

bool cluster_name_valid(const char *name)
{
	return node_name_valid(name) && strlen(name) <= CLUSTER_NAME_MAX;
}

static bool address_valid(const char *addr)
{
	unsigned char b[16];

	return inet_pton(AF_INET, addr, b) == 1 || inet_pton(AF_INET6, addr, b) == 1;
}

int cluster_link_parse(const char *text, unsigned number, struct cluster_node_spec *spec,
		       struct drover_err *err)
{
	const char *comma = strchr(text, ',');
	size_t alen = comma ? (size_t)(comma - text) : strlen(text);
	struct cluster_link *l;
	uint64_t prio = 0;

	if (number >= CLUSTER_LINKS_MAX)
		return drover_fail(err, -EINVAL, "link%u: links are numbered 0 to 7", number);
	l = &spec->links[number];
	if (alen == 0 || alen >= sizeof(l->addr))
		return drover_fail(err, -EINVAL, "--link%u: no address in '%s'", number, text);
	memcpy(l->addr, text, alen);
	l->addr[alen] = '\0';
	if (!address_valid(l->addr))
		return drover_fail(err, -EINVAL, "--link%u: '%s' is not an IPv4 or IPv6 address",
				    number, l->addr);
	if (comma) {
		if (!str_has_prefix(comma + 1, "priority=") ||
		    parse_u64(comma + 1 + strlen("priority="), 255, &prio) < 0)
			return drover_fail(err, -EINVAL,
					    "--link%u: '%s' is not 'priority=N' (N from 0 to 255)",
					    number, comma + 1);
	}
	l->priority = (unsigned)prio;
	spec->link_mask |= 1u << number;
	return 0;
}

/* Link number of a "ringN_addr"/"linkN_addr" key, or -1. */
static int addr_key_link(const char *key)
{
	const char *p = str_has_prefix(key, "ring")   ? key + 4
			: str_has_prefix(key, "link") ? key + 4
						      : NULL;

	if (!p || p[0] < '0' || p[0] > '7' || !streq(p + 1, "_addr"))
		return -1;
	return p[0] - '0';
}

const char *cluster_conf_node_addr(const struct cc_node *node, unsigned link)
{
	for (const struct cc_node *c = node->children; c; c = c->next)
		if (c->value && addr_key_link(c->name) == (int)link)
			return c->value;
	return NULL;
}

static unsigned node_links(const struct cc_node *node)
{
	unsigned mask = 0;

	for (const struct cc_node *c = node->children; c; c = c->next) {
		int l = c->value ? addr_key_link(c->name) : -1;

		if (l >= 0)
			mask |= 1u << l;
	}
	return mask;
}

static unsigned interface_links(const struct cc_node *root)
{
	const struct cc_node *totem = cc_child(root, "totem");
	unsigned mask = 0;

	for (const struct cc_node *c = totem ? totem->children : NULL; c; c = c->next) {
		const char *num;
		uint64_t n;

		if (c->value || !streq(c->name, "interface"))
			continue;
		num = cc_get(c, NULL, "linknumber");
		if (!num)
			num = cc_get(c, NULL, "ringnumber");
		if (num && parse_u64(num, CLUSTER_LINKS_MAX - 1, &n) == 0)
			mask |= 1u << n;
	}
	return mask;
}

static struct cc_node *first_child(const struct cc_node *root, const char *section)
{
	struct cc_node *sec = cc_child(root, section);

	return sec ? sec->children : NULL;
}

/* Every "node" section of the nodelist. */
#define for_each_node(root, n)                                                  \
	for (struct cc_node *n = first_child(root, "nodelist"); n; n = n->next) \
		if (!n->value && streq(n->name, "node"))

unsigned cluster_conf_links(const struct cc_node *root)
{
	unsigned mask = interface_links(root);

	if (mask)
		return mask;
	for_each_node (root, n)
		mask |= node_links(n);
	return mask;
}

unsigned cluster_conf_node_count(const struct cc_node *root)
{
	unsigned count = 0;

	for_each_node (root, n)
		count++;
	return count;
}

struct cc_node *cluster_conf_node(const struct cc_node *root, const char *name)
{
	for_each_node (root, n) {
		const char *v = cc_get(n, NULL, "name");

		if (v && streq(v, name))
			return n;
	}
	return NULL;
}

static unsigned node_id(const struct cc_node *n)
{
	const char *v = cc_get(n, NULL, "nodeid");
	uint64_t id;

	return v && parse_u64(v, UINT32_MAX, &id) == 0 ? (unsigned)id : 0;
}

int cluster_conf_verify(const struct cc_node *root, struct drover_err *err)
{
	unsigned ifaces = interface_links(root), first = 0, count = 0;

	if (!cc_child(root, "totem"))
		return drover_fail(err, -EINVAL, "corosync.conf has no totem section");
	for_each_node (root, n) {
		const char *name = cc_get(n, NULL, "name");
		unsigned links = node_links(n);

		if (!name)
			return drover_fail(err, -EINVAL, "corosync.conf:%u: a node without a name",
					    n->line);
		if (!node_id(n))
			return drover_fail(err, -EINVAL,
					    "corosync.conf:%u: node %s has no valid nodeid",
					    n->line, name);
		if (!links)
			return drover_fail(err, -EINVAL,
					    "corosync.conf:%u: node %s has no ring0_addr", n->line,
					    name);
		if (ifaces && links != ifaces)
			return drover_fail(
				err, -EINVAL,
				"corosync.conf:%u: the links of node %s do not match the totem interfaces",
				n->line, name);
		if (count++ == 0)
			first = links;
		else if (links != first)
			return drover_fail(
				err, -EINVAL,
				"corosync.conf:%u: node %s has other links than the first node",
				n->line, name);
	}
	if (count == 0)
		return drover_fail(err, -EINVAL, "corosync.conf has no nodes in its nodelist");
	return 0;
}

static int add_node_section(struct cc_node *nodelist, const struct cluster_node_spec *spec)
{
	struct cc_node *n = cc_add(nodelist, "node", NULL);

	if (!n || !cc_add(n, "name", spec->name) || !cc_addf(n, "nodeid", "%u", spec->nodeid) ||
	    !cc_addf(n, "quorum_votes", "%u", spec->votes))
		return -ENOMEM;
	for (unsigned l = 0; l < CLUSTER_LINKS_MAX; l++) {
		char key[16];

		if (!(spec->link_mask & (1u << l)))
			continue;
		snprintf(key, sizeof(key), "ring%u_addr", l);
		if (!cc_add(n, key, spec->links[l].addr))
			return -ENOMEM;
	}
	return 0;
}

static int add_interfaces(struct cc_node *totem, const struct cluster_node_spec *spec)
{
	for (unsigned l = 0; l < CLUSTER_LINKS_MAX; l++) {
		struct cc_node *i;

		if (!(spec->link_mask & (1u << l)))
			continue;
		i = cc_add(totem, "interface", NULL);
		if (!i || !cc_addf(i, "linknumber", "%u", l))
			return -ENOMEM;
		if (spec->links[l].priority &&
		    !cc_addf(i, "knet_link_priority", "%u", spec->links[l].priority))
			return -ENOMEM;
	}
	return 0;
}

size_t cluster_node_spec_addrs(const struct cluster_node_spec *spec,
			       const char *addrs[CLUSTER_LINKS_MAX])
{
	size_t n = 0;

	for (unsigned l = 0; l < CLUSTER_LINKS_MAX; l++)
		if (spec->link_mask & (1u << l))
			addrs[n++] = spec->links[l].addr;
	return n;
}

struct cc_node *cluster_conf_new(const char *cluster_name, const struct cluster_node_spec *node)
{
	struct cc_node *root = cc_add(NULL, "", NULL);
	struct cc_node *logging, *nodelist, *quorum, *totem;
	int r = -ENOMEM;

	if (!root)
		return NULL;
	logging = cc_add(root, "logging", NULL);
	if (!logging || !cc_add(logging, "debug", "off") || !cc_add(logging, "to_syslog", "yes") ||
	    !cc_add(logging, "to_logfile", "yes") ||
	    !cc_add(logging, "logfile", "/var/log/corosync/corosync.log") ||
	    !cc_add(logging, "timestamp", "on"))
		goto out;
	nodelist = cc_add(root, "nodelist", NULL);
	if (!nodelist || add_node_section(nodelist, node) < 0)
		goto out;
	quorum = cc_add(root, "quorum", NULL);
	if (!quorum || !cc_add(quorum, "provider", "corosync_votequorum"))
		goto out;
	totem = cc_add(root, "totem", NULL);
	if (!totem || !cc_add(totem, "cluster_name", cluster_name) ||
	    !cc_add(totem, "config_version", "1") || add_interfaces(totem, node) < 0 ||
	    !cc_add(totem, "ip_version", "ipv4-6") || !cc_add(totem, "link_mode", "passive") ||
	    !cc_add(totem, "secauth", "on") || !cc_add(totem, "crypto_cipher", "aes256") ||
	    !cc_add(totem, "crypto_hash", "sha256") || !cc_add(totem, "transport", "knet") ||
	    !cc_add(totem, "version", "2"))
		goto out;
	r = 0;
out:
	if (r < 0) {
		cc_free(root);
		return NULL;
	}
	return root;
}

/* Is addr used by a node other than `except` (NULL: any)? Its name in *who. */
static bool address_taken(const struct cc_node *root, const char *addr,
			  const struct cc_node *except, const char **who)
{
	for_each_node (root, n) {
		if (n == except)
			continue;
		for (const struct cc_node *c = n->children; c; c = c->next) {
			if (c->value && addr_key_link(c->name) >= 0 && streq(c->value, addr)) {
				*who = cc_get(n, NULL, "name");
				return true;
			}
		}
	}
	return false;
}

static unsigned lowest_free_id(const struct cc_node *root)
{
	for (unsigned id = 1;; id++) {
		bool used = false;

		for_each_node (root, n)
			used = used || node_id(n) == id;
		if (!used)
			return id;
	}
}

static void describe_links(unsigned mask, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (unsigned l = 0; l < CLUSTER_LINKS_MAX && n < len; l++)
		if (mask & (1u << l))
			n += (size_t)snprintf(out + n, len - n, "%s%u", n ? "," : "", l);
}

/* A re-add with --force keeps the node's id and votes; anything else is a conflict. */
static int check_existing(struct cc_node *root, struct cluster_node_spec *spec, bool force,
			  struct cc_node **existing, struct drover_err *err)
{
	struct cc_node *old = cluster_conf_node(root, spec->name);
	const char *votes;

	*existing = old;
	if (!old) {
		for_each_node (root, n)
			if (spec->nodeid && node_id(n) == spec->nodeid)
				return drover_fail(err, -EEXIST, "node id %u is taken by %s",
						    spec->nodeid, cc_get(n, NULL, "name"));
		return 0;
	}
	if (!force)
		return drover_fail(
			err, -EEXIST,
			"a node named %s is in the cluster already (re-adding it needs --force)",
			spec->name);
	votes = cc_get(old, NULL, "quorum_votes");
	if ((spec->nodeid && spec->nodeid != node_id(old)) ||
	    (votes && spec->votes != (unsigned)atoi(votes)))
		return drover_fail(
			err, -EEXIST,
			"node %s is in the cluster with node id %u: a re-add must keep its id and votes",
			spec->name, node_id(old));
	spec->nodeid = node_id(old);
	return 0;
}

int cluster_conf_add_node(struct cc_node *root, struct cluster_node_spec *spec, bool force,
			  struct drover_err *err)
{
	struct cc_node *nodelist = cc_child(root, "nodelist"), *existing;
	unsigned have = cluster_conf_links(root);
	char a[32], b[32];
	int r;

	if (!node_name_valid(spec->name))
		return drover_fail(
			err, -EINVAL,
			"'%s' is not a valid node name (letters, digits and '-', at most 63)",
			spec->name);
	if (!nodelist)
		return drover_fail(err, -EINVAL, "corosync.conf has no nodelist");
	if (spec->link_mask != have) {
		describe_links(have, a, sizeof(a));
		describe_links(spec->link_mask, b, sizeof(b));
		return drover_fail(
			err, -EINVAL,
			"the cluster uses link(s) %s, the new node gives link(s) %s: they must match",
			a, b[0] ? b : "none");
	}
	r = check_existing(root, spec, force, &existing, err);
	if (r < 0)
		return r;
	for (unsigned l = 0; l < CLUSTER_LINKS_MAX; l++) {
		const char *who;

		if ((spec->link_mask & (1u << l)) &&
		    address_taken(root, spec->links[l].addr, existing, &who))
			return drover_fail(
				err, -EEXIST,
				"address %s is already used by node %s: a reused address can crash the whole cluster",
				spec->links[l].addr, who ? who : "?");
	}
	if (existing)
		cc_remove(nodelist, existing);
	if (!spec->nodeid)
		spec->nodeid = lowest_free_id(root);
	return add_node_section(nodelist, spec);
}

int cluster_conf_remove_node(struct cc_node *root, const char *who, char *name, size_t name_len,
			     unsigned *nodeid)
{
	struct cc_node *nodelist = cc_child(root, "nodelist");

	for_each_node (root, n) {
		const char *v = cc_get(n, NULL, "name");
		bool match = v && streq(v, who);

		for (const struct cc_node *c = n->children; !match && c; c = c->next)
			match = c->value && addr_key_link(c->name) >= 0 && streq(c->value, who);
		if (!match)
			continue;
		snprintf(name, name_len, "%s", v ? v : who);
		*nodeid = node_id(n);
		cc_remove(nodelist, n);
		return 0;
	}
	return -ENOENT;
}

uint64_t cluster_conf_bump_version(struct cc_node *root)
{
	struct cc_node *totem = cc_child(root, "totem");
	const char *v = cc_get(root, "totem", "config_version");
	uint64_t version = 0;
	char text[32];

	if (!totem)
		return 0;
	if (v && parse_u64(v, UINT64_MAX - 1, &version) < 0)
		version = 0;
	snprintf(text, sizeof(text), "%" PRIu64, version + 1);
	return cc_set(totem, "config_version", text) ? version + 1 : 0;
}

/* ---- the QDevice ------------------------------------------------------------ */

int cluster_qdevice_algorithm(unsigned nodes, bool force, const char **algorithm,
			      struct drover_err *err)
{
	if (nodes == 0)
		return drover_fail(err, -EINVAL, "corosync.conf has no nodes in its nodelist");
	if (nodes % 2 == 0) {
		*algorithm = "ffsplit";
		return 0;
	}
	if (!force)
		return drover_fail(
			err, -EINVAL,
			"the cluster has an odd number of nodes (%u): a QDevice is meant for an even count; --force sets one up anyway (algorithm lms), read its drawbacks first",
			nodes);
	*algorithm = "lms";
	return 0;
}

bool cluster_qnetd_host_valid(const char *host)
{
	size_t n = strlen(host);

	if (address_valid(host))
		return true;
	/* a DNS name; never anything ssh could take for an option */
	if (n == 0 || n >= CLUSTER_QDEVICE_HOST_MAX || host[0] == '-' || host[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)host[i]) && host[i] != '-' && host[i] != '.')
			return false;
	return true;
}

static struct cc_node *qdevice_section(const struct cc_node *root)
{
	struct cc_node *device = cc_child(cc_child(root, "quorum"), "device");

	return device && !device->value ? device : NULL;
}

const char *cluster_conf_qdevice_host(const struct cc_node *root)
{
	const struct cc_node *device = qdevice_section(root);
	const char *host;

	if (!device)
		return NULL;
	host = cc_get(device, "net", "host");
	return host ? host : "";
}

/* Options votequorum(5) says turn a quorum device off, or cannot go with one. */
static int check_quorum_options(const struct cc_node *quorum, struct drover_err *err)
{
	static const char *const exclusive[] = { "two_node", "last_man_standing",
						 "auto_tie_breaker" };
	const char *provider = cc_get(quorum, NULL, "provider");

	if (!provider || !streq(provider, "corosync_votequorum"))
		return drover_fail(
			err, -EINVAL,
			"corosync.conf has no 'quorum { provider: corosync_votequorum }': a QDevice votes through votequorum");
	for (size_t i = 0; i < ARRAY_SIZE(exclusive); i++) {
		const char *v = cc_get(quorum, NULL, exclusive[i]);

		if (v && !streq(v, "0"))
			return drover_fail(
				err, -EINVAL,
				"corosync.conf sets quorum.%s: corosync does not combine it with a QDevice; remove it first",
				exclusive[i]);
	}
	return 0;
}

/* ffsplit hands out one vote and needs every node to have exactly one too. */
static int check_one_vote_each(const struct cc_node *root, struct drover_err *err)
{
	for_each_node (root, n) {
		const char *votes = cc_get(n, NULL, "quorum_votes");

		if (votes && !streq(votes, "1"))
			return drover_fail(
				err, -EINVAL,
				"node %s has %s votes: the QDevice algorithm ffsplit needs one vote per node",
				cc_get(n, NULL, "name") ?: "?", votes);
	}
	return 0;
}

static int add_device_section(struct cc_node *quorum, const char *host, const char *algorithm)
{
	struct cc_node *device = cc_add(quorum, "device", NULL), *net = NULL;
	bool ok = device && cc_add(device, "model", "net");

	/* lms: no votes key, so that corosync gives the device nodes - 1 votes */
	if (ok && streq(algorithm, "ffsplit"))
		ok = cc_add(device, "votes", "1");
	if (ok)
		net = cc_add(device, "net", NULL);
	ok = ok && net && cc_add(net, "tls", "on") && cc_add(net, "host", host) &&
	     cc_add(net, "algorithm", algorithm);
	if (!ok && device)
		cc_remove(quorum, device); /* no half section stays behind */
	return ok ? 0 : -ENOMEM;
}

int cluster_conf_add_qdevice(struct cc_node *root, const char *host, bool force,
			     const char **algorithm, struct drover_err *err)
{
	struct cc_node *quorum = cc_child(root, "quorum");
	const char *have = cluster_conf_qdevice_host(root);
	int r;

	if (have)
		return drover_fail(
			err, -EEXIST,
			"a QDevice is configured already (QNetd host %s): remove it first with 'drover cluster qdevice remove'",
			have[0] ? have : "unknown");
	if (!cluster_qnetd_host_valid(host))
		return drover_fail(err, -EINVAL, "'%s' is not an IP address or a host name", host);
	if (!quorum || quorum->value)
		return drover_fail(err, -EINVAL, "corosync.conf has no quorum section");
	r = check_quorum_options(quorum, err);
	if (r == 0)
		r = cluster_qdevice_algorithm(cluster_conf_node_count(root), force, algorithm, err);
	if (r == 0 && streq(*algorithm, "ffsplit"))
		r = check_one_vote_each(root, err);
	if (r == 0)
		r = add_device_section(quorum, host, *algorithm);
	if (r == -ENOMEM)
		drover_fail(err, r, "out of memory");
	return r;
}

int cluster_conf_check_no_qdevice(const struct cc_node *root, const char *change,
				  struct drover_err *err)
{
	const char *host = cluster_conf_qdevice_host(root);

	if (!host)
		return 0;
	return drover_fail(
		err, -EBUSY,
		"%s: the cluster has a QDevice (QNetd host %s), set up for the present nodes; remove it first with 'drover cluster qdevice remove', then set it up again with 'drover cluster qdevice setup %s' once the node count is even",
		change, host[0] ? host : "unknown", host[0] ? host : "ADDR");
}

int cluster_conf_remove_qdevice(struct cc_node *root, char *host, size_t len)
{
	struct cc_node *device = qdevice_section(root);

	if (!device)
		return -ENOENT;
	if (host)
		snprintf(host, len, "%s", cluster_conf_qdevice_host(root));
	cc_remove(cc_child(root, "quorum"), device);
	return 0;
}
