/* SPDX-License-Identifier: MIT */
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "basic/process.h"
#include "basic/util.h"

/*
 * Everything here asks the kernel through ioctls (or `ip`) in the caller's
 * network namespace: /sys/class/net shows the namespace /sys was mounted
 * in, which need not be ours (nsenter --net, a sandbox node).
 */

/* An ioctl on an interface through a datagram socket. */
static int if_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (s < 0)
		return -errno;
	if (ioctl(s, req, ifr) < 0)
		r = -errno;
	close(s);
	return r;
}

/* Is name a bridge (its driver says "bridge")? */
static bool is_bridge(const char *name)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (void *)&info;
	return if_ioctl(SIOCETHTOOL, &ifr) == 0 && streq(info.driver, "bridge");
}

/* Open the tap (creating it when missing) and make it persistent. */
static int tap_persist(const char *name, bool multiqueue, bool persist, struct drover_err *err)
{
	struct ifreq ifr = { 0 };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), r = 0;

	if (fd < 0)
		return drover_fail(err, -errno, "/dev/net/tun: %m");
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (multiqueue ? IFF_MULTI_QUEUE : 0);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		r = -errno;
		if (r == -EBUSY)
			drover_fail(err, r, "tap %s is in use (is the VM running?)", name);
		else if (r == -EINVAL)
			drover_fail(err, r, "tap %s exists with other settings (multiqueue?)",
				    name);
		else
			drover_fail(err, r, "tap %s: %s", name, strerror(-r));
	} else if (ioctl(fd, TUNSETPERSIST, persist ? 1 : 0) < 0) {
		r = drover_fail(err, -errno, "tap %s: TUNSETPERSIST: %m", name);
	}
	close(fd);
	return r;
}

static int attach(const char *name, const char *bridge, struct drover_err *err)
{
	struct ifreq ifr = { 0 };
	int r;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", bridge);
	ifr.ifr_ifindex = (int)if_nametoindex(name);
	r = if_ioctl(SIOCBRADDIF, &ifr);
	return r < 0 ? drover_fail(err, r, "add %s to bridge %s: %s", name, bridge, strerror(-r))
		     : 0;
}

static int mtu_and_up(const char *name, const char *bridge, unsigned mtu, struct drover_err *err)
{
	struct ifreq ifr = { 0 };
	int r;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", bridge);
	if (mtu == 0 && if_ioctl(SIOCGIFMTU, &ifr) == 0)
		mtu = (unsigned)ifr.ifr_mtu;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_mtu = (int)mtu;
	r = mtu ? if_ioctl(SIOCSIFMTU, &ifr) : 0;
	if (r < 0)
		return drover_fail(err, r, "%s: MTU %u: %s", name, mtu, strerror(-r));
	r = if_ioctl(SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (r == 0)
		r = if_ioctl(SIOCSIFFLAGS, &ifr);
	return r < 0 ? drover_fail(err, r, "%s: up: %s", name, strerror(-r)) : 0;
}

/* Does the bridge filter VLANs? `ip -d -j link` says so in the caller's namespace. */
static bool vlan_aware(const char *bridge)
{
	char *argv[] = { "ip", "-d", "-j", "link", "show", "dev", (char *)bridge, NULL };
	char out[16384];

	return process_run(argv, out, sizeof(out), NULL, NULL) == 0 &&
	       strstr(out, "\"vlan_filtering\":1");
}

static int vlan(const char *name, const char *bridge, unsigned tag, struct drover_err *err)
{
	char vid[16], out[512];
	char *argv[] = { "bridge", "vlan", "add",  "dev",      (char *)name,
			 "vid",	   vid,	   "pvid", "untagged", NULL };
	int r;

	if (!vlan_aware(bridge))
		return drover_fail(err, -EINVAL, "bridge %s is not VLAN aware (tag=%u)", bridge,
				   tag);
	snprintf(vid, sizeof(vid), "%u", tag);
	r = process_run(argv, out, sizeof(out), NULL, NULL);
	if (r != 0)
		return drover_fail(err, r < 0 ? r : -EIO, "bridge vlan add dev %s vid %u: %s", name,
				   tag, out);
	return 0;
}

int qemu_tap_create(const char *name, const char *bridge, unsigned mtu, unsigned tag,
		    bool multiqueue, struct drover_err *err)
{
	int r;

	if (strlen(name) >= IFNAMSIZ)
		return drover_fail(err, -EINVAL, "tap name '%s' is too long", name);
	if (!is_bridge(bridge))
		return drover_fail(err, -ENODEV, "bridge '%s' does not exist", bridge);
	/* One left by a QEMU that died is made anew: no old bridge, MTU or VLANs. */
	r = qemu_tap_delete(name, err);
	if (r == 0)
		r = tap_persist(name, multiqueue, true, err);
	if (r == 0)
		r = attach(name, bridge, err);
	if (r == 0)
		r = mtu_and_up(name, bridge, mtu, err);
	if (r == 0 && tag)
		r = vlan(name, bridge, tag, err);
	return r;
}

int qemu_tap_delete(const char *name, struct drover_err *err)
{
	int r;

	if (if_nametoindex(name) == 0)
		return 0; /* no such tap */
	r = tap_persist(name, false, false, err);
	if (r == -EINVAL)
		r = tap_persist(name, true, false, err); /* a multiqueue tap */
	return r;
}
