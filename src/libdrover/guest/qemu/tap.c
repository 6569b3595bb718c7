/* SPDX-License-Identifier: MIT */
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/process.h"
#include "basic/util.h"

/* Read /sys/class/net/IF/ATTR into buf (trailing newline cut). */
static int sys_attr(const char *ifname, const char *attr, char *buf, size_t len)
{
	char path[128];
	char *data = NULL;
	size_t n = 0;
	int r;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", ifname, attr);
	r = read_file_max(path, len - 1, &data, &n);
	if (r < 0)
		return r;
	while (n > 0 && data[n - 1] == '\n')
		n--;
	memcpy(buf, data, n);
	buf[n] = '\0';
	free(data);
	return 0;
}

static bool is_bridge(const char *name)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", name);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
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

static int attach(const char *name, const char *bridge, struct drover_err *err)
{
	struct ifreq ifr = { 0 };
	char master[PATH_MAX], link[128];
	ssize_t n;
	int r;

	snprintf(link, sizeof(link), "/sys/class/net/%s/master", name);
	n = readlink(link, master, sizeof(master) - 1);
	if (n > 0) {
		master[n] = '\0';
		if (streq(strrchr(master, '/') + 1, bridge))
			return 0; /* already there */
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", strrchr(master, '/') + 1);
		ifr.ifr_ifindex = (int)if_nametoindex(name);
		if_ioctl(SIOCBRDELIF, &ifr);
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", bridge);
	ifr.ifr_ifindex = (int)if_nametoindex(name);
	r = if_ioctl(SIOCBRADDIF, &ifr);
	return r < 0 ? drover_fail(err, r, "add %s to bridge %s: %s", name, bridge, strerror(-r))
		     : 0;
}

static int mtu_and_up(const char *name, const char *bridge, unsigned mtu, struct drover_err *err)
{
	struct ifreq ifr = { 0 };
	char brmtu[32];
	int r;

	if (mtu == 0 && sys_attr(bridge, "mtu", brmtu, sizeof(brmtu)) == 0)
		mtu = (unsigned)atoi(brmtu);
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

static int vlan(const char *name, const char *bridge, unsigned tag, struct drover_err *err)
{
	char filtering[8] = "", vid[16], out[512];
	char *argv[] = { "bridge", "vlan", "add",  "dev",      (char *)name,
			 "vid",	   vid,	   "pvid", "untagged", NULL };
	int r;

	if (sys_attr(bridge, "bridge/vlan_filtering", filtering, sizeof(filtering)) < 0 ||
	    !streq(filtering, "1"))
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
	char flags[32];
	unsigned long f;

	if (sys_attr(name, "tun_flags", flags, sizeof(flags)) < 0)
		return 0; /* no such tap */
	f = strtoul(flags, NULL, 16);
	return tap_persist(name, f & IFF_MULTI_QUEUE, false, err);
}
