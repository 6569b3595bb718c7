/* SPDX-License-Identifier: MIT */
#include "guest_net.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "basic/util.h"
#include "guest_value.h"
#include "propstr.h"

static const char *const nic_models[] = { "virtio",  "e1000",	 "e1000e",  "rtl8139",
					  "vmxnet3", "i82551",	 "i82557b", "i82559er",
					  "pcnet",   "ne2k_pci", NULL };

static int mac_copy(const char *v, char *dst, struct drover_err *err)
{
	uint8_t mac[6];

	if (guest_mac_parse(v, mac) < 0)
		return drover_fail(err, -EINVAL,
				   "bad MAC address '%s' (XX:XX:XX:XX:XX:XX, unicast)", v);
	snprintf(dst, GUEST_MAC_LEN, "%s", v);
	return 0;
}

static int trunks_copy(const char *v, char *dst, size_t len, struct drover_err *err)
{
	char copy[128], *save = NULL;

	if (strlen(v) >= len || strlen(v) >= sizeof(copy) || !guest_chars_ok(v, ";"))
		return drover_fail(err, -EINVAL, "bad trunks '%s' (VLAN IDs separated by ';')", v);
	snprintf(copy, sizeof(copy), "%s", v);
	for (char *w = strtok_r(copy, ";", &save); w; w = strtok_r(NULL, ";", &save))
		if (guest_uint_parse("trunk VLAN", w, 1, 4094, NULL, err) < 0)
			return -EINVAL;
	snprintf(dst, len, "%s", v);
	return 0;
}

/* What VM and container NICs share: bridge, firewall, link_down, tag, mtu, rate, trunks. */
struct nic_common {
	char *bridge;
	char *trunks;
	bool *firewall, *link_down;
	unsigned *tag, *mtu;
	double *rate;
};

/* 1 when k was one of the shared properties (handled), 0 when not, -EINVAL on a bad value. */
static int common_prop(struct nic_common *c, const char *k, const char *v, struct drover_err *err)
{
	uint64_t n;
	bool on;

	if (streq(k, "bridge")) {
		if (!guest_ifname_valid(v))
			return drover_fail(err, -EINVAL, "bad bridge name '%s'", v);
		snprintf(c->bridge, 16, "%s", v);
	} else if (streq(k, "firewall") || streq(k, "link_down")) {
		if (propstr_bool(v, &on) < 0)
			return drover_fail(err, -EINVAL, "%s is not a boolean: '%s'", k, v);
		*(streq(k, "firewall") ? c->firewall : c->link_down) = on;
	} else if (streq(k, "tag")) {
		if (guest_uint_parse("tag", v, 1, 4094, &n, err) < 0)
			return -EINVAL;
		*c->tag = (unsigned)n;
	} else if (streq(k, "mtu")) {
		if (guest_uint_parse("mtu", v, 1, 65520, &n, err) < 0)
			return -EINVAL;
		*c->mtu = (unsigned)n;
	} else if (streq(k, "rate")) {
		if (guest_number_parse("rate", v, 0, 1e7, c->rate, err) < 0)
			return -EINVAL;
	} else if (streq(k, "trunks")) {
		if (trunks_copy(v, c->trunks, 128, err) < 0)
			return -EINVAL;
	} else {
		return 0;
	}
	return 1;
}

static int nic_prop(struct guest_nic *n, const char *k, const char *v, struct drover_err *err)
{
	struct nic_common c = { n->bridge, n->trunks, &n->firewall, &n->link_down,
				&n->tag,   &n->mtu,   &n->rate };
	uint64_t q;
	int r = common_prop(&c, k, v, err);

	if (r != 0)
		return r < 0 ? r : 0;
	if (streq(k, "model") && !n->model[0])
		return guest_enum_copy("model", v, nic_models, n->model, sizeof(n->model), err);
	if (streq(k, "macaddr") && !n->mac[0])
		return mac_copy(v, n->mac, err);
	if (streq(k, "queues")) {
		if (guest_uint_parse("queues", v, 0, 64, &q, err) < 0)
			return -EINVAL;
		n->queues = (unsigned)q;
		return 0;
	}
	if (guest_enum_check("model", k, nic_models, NULL) == 0 && !n->model[0]) {
		snprintf(n->model, sizeof(n->model), "%s", k);
		return mac_copy(v, n->mac, err);
	}
	if (streq(k, "model") || streq(k, "macaddr") ||
	    guest_enum_check("model", k, nic_models, NULL) == 0)
		return drover_fail(err, -EINVAL, "model or MAC address given twice");
	return drover_fail(err, -EINVAL, "unknown property '%s'", k);
}

static int net_index(const char *key, unsigned *index, struct drover_err *err)
{
	if (!str_has_prefix(key, "net") || guest_index_parse(key + 3, GUEST_NET_COUNT, index) < 0)
		return drover_fail(err, -EINVAL, "'%s' is not a network interface", key);
	return 0;
}

int guest_nic_parse(const char *key, const char *value, struct guest_nic *n, struct drover_err *err)
{
	struct propstr p = PROPSTR_INIT;
	int r;

	memset(n, 0, sizeof(*n));
	r = net_index(key, &n->index, err);
	if (r == 0)
		r = propstr_parse(value, &p, err);
	for (size_t i = 0; r == 0 && i < p.n; i++) {
		if (p.items[i].key)
			r = nic_prop(n, p.items[i].key, p.items[i].value, err);
		else
			r = guest_enum_copy("model", p.items[i].value, nic_models, n->model,
					    sizeof(n->model), err);
	}
	if (r == 0 && !n->model[0])
		r = drover_fail(err, -EINVAL, "no model (virtio=MAC, e1000=MAC, ...)");
	propstr_free(&p);
	return r;
}

static int ip_copy(const char *k, const char *v, char *dst, size_t len, struct drover_err *err)
{
	bool six = streq(k, "ip6") || streq(k, "gw6");
	int fam = six ? AF_INET6 : AF_INET;
	bool gw = k[0] == 'g';
	bool ok;

	if (strlen(v) >= len)
		return drover_fail(err, -EINVAL, "%s too long", k);
	if (gw)
		ok = guest_ip_valid(v, fam);
	else
		ok = streq(v, "dhcp") || streq(v, "manual") || (six && streq(v, "auto")) ||
		     guest_cidr_valid(v, fam);
	if (!ok)
		return drover_fail(err, -EINVAL, "bad %s '%s'%s", k, v,
				   gw ? "" : " (ADDRESS/PREFIX, dhcp or manual)");
	snprintf(dst, len, "%s", v);
	return 0;
}

static int ct_nic_prop(struct guest_ct_nic *n, const char *k, const char *v, struct drover_err *err)
{
	struct nic_common c = { n->bridge, n->trunks, &n->firewall, &n->link_down,
				&n->tag,   &n->mtu,   &n->rate };
	int r = common_prop(&c, k, v, err);

	if (r != 0)
		return r < 0 ? r : 0;
	if (streq(k, "name")) {
		if (!guest_ifname_valid(v))
			return drover_fail(err, -EINVAL, "bad interface name '%s'", v);
		snprintf(n->name, sizeof(n->name), "%s", v);
		return 0;
	}
	if (streq(k, "hwaddr"))
		return mac_copy(v, n->hwaddr, err);
	if (streq(k, "type"))
		return guest_enum_copy("type", v, (const char *const[]){ "veth", NULL }, n->type,
				       sizeof(n->type), err);
	if (streq(k, "ip") || streq(k, "ip6"))
		return ip_copy(k, v, k[2] ? n->ip6 : n->ip, sizeof(n->ip), err);
	if (streq(k, "gw") || streq(k, "gw6"))
		return ip_copy(k, v, k[2] ? n->gw6 : n->gw, sizeof(n->gw), err);
	return drover_fail(err, -EINVAL, "unknown property '%s'", k);
}

int guest_ct_nic_parse(const char *key, const char *value, struct guest_ct_nic *n,
		       struct drover_err *err)
{
	struct propstr p = PROPSTR_INIT;
	int r;

	memset(n, 0, sizeof(*n));
	strcpy(n->type, "veth");
	r = net_index(key, &n->index, err);
	if (r == 0)
		r = propstr_parse(value, &p, err);
	for (size_t i = 0; r == 0 && i < p.n; i++) {
		if (!p.items[i].key)
			r = drover_fail(err, -EINVAL, "'%s' is not key=value", p.items[i].value);
		else
			r = ct_nic_prop(n, p.items[i].key, p.items[i].value, err);
	}
	if (r == 0 && !n->name[0])
		r = drover_fail(err, -EINVAL, "no name= (the interface inside the container)");
	if (r == 0 && n->gw[0] && (!n->ip[0] || !strchr(n->ip, '/')))
		r = drover_fail(err, -EINVAL, "gw= needs a static ip=ADDRESS/PREFIX");
	propstr_free(&p);
	return r;
}
