/* SPDX-License-Identifier: MIT */
/*
 * Network interfaces of a guest config, typed.
 *   VM:        net0: virtio=BC:24:11:5E:0A:01,bridge=vmbr0,firewall=1,tag=20
 *   container: net0: name=eth0,bridge=vmbr0,hwaddr=BC:24:11:5E:0A:02,ip=10.0.0.5/24,gw=10.0.0.1
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "libdrover/error.h"

#define GUEST_NET_COUNT 32 /* net0..net31 */
#define GUEST_MAC_LEN 18

struct guest_nic {
	unsigned index;
	char model[16]; /* virtio, e1000, e1000e, rtl8139, vmxnet3 */
	char mac[GUEST_MAC_LEN]; /* "" when the config has none yet */
	char bridge[16]; /* "" : not connected (no bridge given) */
	char trunks[128]; /* ';'-separated VLAN IDs */
	bool firewall;
	bool link_down;
	unsigned tag; /* VLAN, 0 = none */
	unsigned mtu; /* 0 = the bridge's */
	unsigned queues; /* 0 = one */
	double rate; /* MB/s, 0 = unlimited */
};

/*
 * A VM's netN: the model is the bare first item, model=MODEL, or MODEL=MAC
 * (Proxmox's usual form, which also sets the MAC); macaddr= sets the MAC.
 * Returns 0 or -EINVAL.
 */
int guest_nic_parse(const char *key, const char *value, struct guest_nic *n,
		    struct drover_err *err);

struct guest_ct_nic {
	unsigned index;
	char name[16]; /* inside the container: eth0 */
	char bridge[16];
	char hwaddr[GUEST_MAC_LEN]; /* "" : none yet */
	char ip[64]; /* "", "dhcp", "manual" or ADDRESS/PREFIX */
	char gw[48];
	char ip6[64]; /* "", "dhcp", "auto", "manual" or ADDRESS/PREFIX */
	char gw6[48];
	char type[8]; /* veth */
	char trunks[128];
	bool firewall;
	bool link_down;
	unsigned tag;
	unsigned mtu;
	double rate;
};

/* A container's netN; name= is required. Returns 0 or -EINVAL. */
int guest_ct_nic_parse(const char *key, const char *value, struct guest_ct_nic *n,
		       struct drover_err *err);
