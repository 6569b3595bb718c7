/* SPDX-License-Identifier: MIT */
/* The QEMU command line: guest agent channel, serial ports, network interfaces. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/util.h"
#include "cmdline_internal.h"
#include "libdrover/format/guest_net.h"

int qb_agent(struct qemu_build *b)
{
	const char *v = guest_get(b->cur, "agent");
	char esc[2 * QEMU_SOCK_PATH_MAX];
	struct guest_agent a;
	int r;

	if (!v)
		return 0;
	if (guest_agent_parse(v, &a, b->err) < 0)
		return -EINVAL;
	if (!a.enabled)
		return 0;
	r = qb_addf(b, "-chardev", "socket,id=qga0,path=%s,server=on,wait=off",
		    qb_escape(b->paths.qga, esc, sizeof(esc)));
	if (r == 0 && streq(a.type, "isa"))
		return qb_add(b, "-device", "isa-serial,chardev=qga0", NULL);
	if (r == 0)
		r = qb_add(
			b, "-device", "virtio-serial-pci,id=qga-serial", "-device",
			"virtserialport,bus=qga-serial.0,chardev=qga0,name=org.qemu.guest_agent.0",
			NULL);
	return r;
}

static int serial(void *ctx, const char *key, const char *v, unsigned i)
{
	struct qemu_build *b = ctx;
	char esc[2 * QEMU_SOCK_PATH_MAX], logesc[2 * QEMU_SOCK_PATH_MAX + 8];
	int r;

	if (guest_serial_check(v, b->err) < 0)
		return -EINVAL;
	if (!streq(v, "socket"))
		r = qb_addf(b, "-chardev", "serial,id=serial%u,path=%s", i,
			    qb_escape(v, esc, sizeof(esc)));
	else if (b->o->serial_log)
		r = qb_addf(b, "-chardev",
			    "socket,id=serial%u,path=%s,server=on,wait=off,logfile=%s", i,
			    qb_escape(b->paths.serial[i], esc, sizeof(esc)),
			    qb_escape(b->paths.serial_log[i], logesc, sizeof(logesc)));
	else
		r = qb_addf(b, "-chardev", "socket,id=serial%u,path=%s,server=on,wait=off", i,
			    qb_escape(b->paths.serial[i], esc, sizeof(esc)));
	if (r == 0)
		r = qb_addf(b, "-device", "isa-serial,chardev=serial%u", i);
	return r;
}

int qb_serials(struct qemu_build *b)
{
	return guest_each_numbered(b->cur, "serial", QEMU_SERIAL_COUNT, serial, b);
}

static const char *nic_device(const char *model)
{
	static const struct {
		const char *model, *device;
	} map[] = {
		{ "virtio", "virtio-net-pci" }, { "e1000", "e1000" },	    { "e1000e", "e1000e" },
		{ "rtl8139", "rtl8139" },	{ "vmxnet3", "vmxnet3" },   { "i82551", "i82551" },
		{ "i82557b", "i82557b" },	{ "i82559er", "i82559er" }, { "pcnet", "pcnet" },
		{ "ne2k_pci", "ne2k_pci" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (streq(model, map[i].model))
			return map[i].device;
	return NULL;
}

static int nic_netdev(struct qemu_build *b, const struct guest_nic *n)
{
	char tap[16];

	if (!n->bridge[0])
		return qb_addf(b, "-netdev", "user,id=net%u", n->index);
	qemu_tap_name(b->vmid, n->index, tap);
	if (n->queues > 1)
		return qb_addf(b, "-netdev",
			       "tap,id=net%u,ifname=%s,script=no,downscript=no,queues=%u", n->index,
			       tap, n->queues);
	return qb_addf(b, "-netdev", "tap,id=net%u,ifname=%s,script=no,downscript=no", n->index,
		       tap);
}

static int nic(void *ctx, const char *key, const char *value, unsigned index)
{
	struct qemu_build *b = ctx;
	const char *dev;
	struct guest_nic n;
	char opts[256] = "";
	size_t o = 0;
	int boot, r;

	if (guest_nic_parse(key, value, &n, b->err) < 0)
		return -EINVAL;
	if (!n.mac[0])
		return drover_fail(b->err, -EINVAL, "%s has no MAC address", key);
	dev = nic_device(n.model);
	r = nic_netdev(b, &n);
	if (r < 0)
		return r;
	boot = qb_bootindex(b, key);
	if (boot >= 0)
		o += (size_t)snprintf(opts + o, sizeof(opts) - o, ",bootindex=%d", boot);
	if (n.queues > 1 && streq(n.model, "virtio"))
		o += (size_t)snprintf(opts + o, sizeof(opts) - o, ",mq=on,vectors=%u",
				      2 * n.queues + 2);
	if (n.mtu && streq(n.model, "virtio"))
		snprintf(opts + o, sizeof(opts) - o, ",host_mtu=%u", n.mtu);
	return qb_addf(b, "-device", "%s,mac=%s,netdev=net%u,id=%s%s", dev, n.mac, n.index, key,
		       opts);
}

int qb_nics(struct qemu_build *b)
{
	return guest_each_numbered(b->cur, "net", GUEST_NET_COUNT, nic, b);
}
