/* SPDX-License-Identifier: MIT */
/*
 * The sandbox's networks. Each network L is a bridge brL in the bridge
 * namespace; node K joins it with a veth pair whose bridge end is nK-L and
 * whose node end is ethL (10.99.L.K/24); the QNetd host is K = 254, the
 * Ceph host K = 253. On network 0 the node end is the port of a bridge
 * vmbr0 that carries the address, as on a Proxmox host, so the taps of
 * VMs on vmbr0 reach the other nodes and their VMs (eth0 going down still
 * cuts the node off). Both ends live in sandbox namespaces, so interface
 * names never clash with the host's or another sandbox's, and no sandbox
 * packet ever crosses the host's own namespace.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/process.h"
#include "basic/util.h"
#include "sandbox.h"

#define IP "ip"

static int run(char *const argv[], struct drover_err *err)
{
	char out[1024];
	int r = process_run(argv, out, sizeof(out), NULL, NULL);

	if (r != 0)
		return drover_fail_run(err, r, out, "'%s %s %s %s ...' failed", argv[0], argv[1],
				       argv[2], argv[3] ? argv[3] : "");
	return 0;
}

/* `ip -n NS ARGS...` (NULL-terminated). */
static int ip_in(struct drover_err *err, const char *ns, ...)
{
	char *argv[24] = { IP, "-n", (char *)ns };
	size_t n = 3;
	va_list ap;

	va_start(ap, ns);
	while (n < ARRAY_SIZE(argv) - 1 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return run(argv, err);
}

static int netns_add(const char *ns, struct drover_err *err)
{
	char *argv[] = { IP, "netns", "add", (char *)ns, NULL };

	return run(argv, err);
}

/* before_exec: move into the network namespace named arg. */
static int enter_netns(void *arg)
{
	const char *ns = arg;
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		return -errno;
	close(fd);
	return 0;
}

/* IPv6 stays off in sandbox namespaces: no router solicitations or DAD chatter on the bridges. */
static void disable_ipv6(const char *ns)
{
	char *argv[] = { "sysctl",
			 "-q",
			 "-w",
			 "net.ipv6.conf.all.disable_ipv6=1",
			 "net.ipv6.conf.default.disable_ipv6=1",
			 NULL };

	process_run(argv, NULL, 0, enter_netns, (void *)ns);
}

/* vmbr0 in the node with eth as its port and the node's address addr on it. */
static int bridge_port(const char *ns, const char *eth, const char *addr, struct drover_err *err)
{
	int r = ip_in(err, ns, "link", "add", SB_VM_BRIDGE, "type", "bridge", NULL);

	if (r == 0)
		r = ip_in(err, ns, "link", "set", eth, "master", SB_VM_BRIDGE, NULL);
	if (r == 0)
		r = ip_in(err, ns, "addr", "add", addr, "dev", SB_VM_BRIDGE, NULL);
	if (r == 0)
		r = ip_in(err, ns, "link", "set", SB_VM_BRIDGE, "up", NULL);
	return r;
}

static int wire_node(const struct sandbox *sb, unsigned node, const char *br,
		     struct drover_err *err)
{
	char ns[64], veth[32], eth[16], addr[40], brname[16];
	int r;

	sb_netns_name(sb, node, ns, sizeof(ns));
	r = netns_add(ns, err);
	if (r < 0)
		return r;
	disable_ipv6(ns);
	r = ip_in(err, ns, "link", "set", "lo", "up", NULL);
	for (unsigned l = 0; r == 0 && l < sb->networks; l++) {
		snprintf(veth, sizeof(veth), "n%u-%u", node, l);
		snprintf(eth, sizeof(eth), "eth%u", l);
		snprintf(brname, sizeof(brname), "br%u", l);
		sb_address(node, l, addr, sizeof(addr));
		strcat(addr, "/24");
		r = ip_in(err, br, "link", "add", veth, "type", "veth", "peer", "name", eth,
			  "netns", ns, NULL);
		if (r == 0)
			r = ip_in(err, br, "link", "set", veth, "master", brname, "up", NULL);
		if (r == 0 && l == 0)
			r = bridge_port(ns, eth, addr, err);
		else if (r == 0)
			r = ip_in(err, ns, "addr", "add", addr, "dev", eth, NULL);
		if (r == 0)
			r = ip_in(err, ns, "link", "set", eth, "up", NULL);
	}
	return r;
}

int sb_net_create(const struct sandbox *sb, struct drover_err *err)
{
	char br[64], brname[16];
	int r;

	sb_netns_name(sb, 0, br, sizeof(br));
	r = netns_add(br, err);
	if (r < 0)
		return r;
	disable_ipv6(br);
	for (unsigned l = 0; r == 0 && l < sb->networks; l++) {
		snprintf(brname, sizeof(brname), "br%u", l);
		r = ip_in(err, br, "link", "add", brname, "type", "bridge", NULL);
		if (r == 0)
			r = ip_in(err, br, "link", "set", brname, "up", NULL);
	}
	for (unsigned k = 1; r == 0 && k; k = sb_next_host(sb, k))
		r = wire_node(sb, k, br, err);
	return r;
}

/*
 * Deleting the namespaces deletes the veths and bridges in them. Every
 * dsb-NAME-* namespace goes, not only those the state file knows of, so a
 * sandbox whose state file was lost can still be removed.
 */
void sb_net_destroy(const struct sandbox *sb)
{
	char prefix[64], *argv[] = { IP, "netns", "delete", NULL, NULL };
	struct dirent *e;
	DIR *d = opendir("/run/netns");

	if (!d)
		return;
	snprintf(prefix, sizeof(prefix), "dsb-%s-", sb->name);
	while ((e = readdir(d))) {
		const char *rest = e->d_name + strlen(prefix);

		if (!str_has_prefix(e->d_name, prefix))
			continue;
		/* dsb-a-node1 must not take dsb-a-b-node1 along: the rest is br, qnetd, ceph or nodeK */
		if (!streq(rest, "br") && !streq(rest, SB_QNETD_NAME) &&
		    !streq(rest, SB_CEPH_NAME) &&
		    !(str_has_prefix(rest, "node") && rest[4] >= '1' && rest[4] <= '9' &&
		      strspn(rest + 4, "0123456789") == strlen(rest + 4)))
			continue;
		argv[3] = e->d_name;
		process_run(argv, NULL, 0, NULL, NULL);
	}
	closedir(d);
}

int sb_link_set(const struct sandbox *sb, unsigned node, unsigned net, bool up,
		struct drover_err *err)
{
	char ns[64], eth[16];

	sb_netns_name(sb, node, ns, sizeof(ns));
	snprintf(eth, sizeof(eth), "eth%u", net);
	return ip_in(err, ns, "link", "set", eth, up ? "up" : "down", NULL);
}

int sb_link_up(const struct sandbox *sb, unsigned node, unsigned net)
{
	char ns[64], eth[16], out[1024];
	char *argv[] = { IP, "-n", ns, "-o", "link", "show", "dev", eth, NULL };
	const char *flags;
	int r;

	sb_netns_name(sb, node, ns, sizeof(ns));
	snprintf(eth, sizeof(eth), "eth%u", net);
	r = process_run(argv, out, sizeof(out), NULL, NULL);
	if (r != 0)
		return r < 0 ? r : -ENOENT;
	/* "2: eth0@if5: <BROADCAST,MULTICAST,UP,LOWER_UP> ..." : the administrative UP flag */
	flags = strchr(out, '<');
	if (!flags)
		return -EBADMSG;
	return strstr(flags, ",UP") || strstr(flags, "<UP") ? 1 : 0;
}

int sb_run_in_netns(const struct sandbox *sb, unsigned node, char *const argv[], char *out,
		    size_t len)
{
	char ns[64];

	sb_netns_name(sb, node, ns, sizeof(ns));
	return process_run(argv, out, len, enter_netns, ns);
}
