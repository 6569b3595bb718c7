/* SPDX-License-Identifier: MIT */
#include "fsversion.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "basic/util.h"

static const char *const observed[] = {
	"corosync.conf",
	"corosync.conf.new",
	"datacenter.cfg",
	"storage.cfg",
	"user.cfg",
	"domains.cfg",
	"notifications.cfg",
	"priv/notifications.cfg",
	"priv/shadow.cfg",
	"priv/acme/plugins.cfg",
	"priv/tfa.cfg",
	"priv/token.cfg",
	"priv/wg-keys.cfg",
	"vzdump.cron",
	"vzdump.conf",
	"jobs.cfg",
	"replication.cfg",
	"mirror.cfg",
	"status.cfg",
	"ceph.conf",
	"ha/crm_commands",
	"ha/manager_status",
	"ha/resources.cfg",
	"ha/rules.cfg",
	"ha/groups.cfg",
	"ha/fence.cfg",
	"sdn/vnets.cfg",
	"sdn/zones.cfg",
	"sdn/controllers.cfg",
	"sdn/subnets.cfg",
	"sdn/ipams.cfg",
	"sdn/dns.cfg",
	"sdn/fabrics.cfg",
	"sdn/route-maps.cfg",
	"sdn/prefix-lists.cfg",
	"sdn/mac-cache.json",
	"sdn/pve-ipam-state.json",
	"sdn/.running-config",
	"virtual-guest/cpu-models.conf",
	"virtual-guest/profiles.cfg",
	"firewall/cluster.fw",
	"mapping/directory.cfg",
	"mapping/pci.cfg",
	"mapping/usb.cfg",
};

const char *const *cfs_fsversion_files(size_t *count)
{
	*count = ARRAY_SIZE(observed);
	return observed;
}

int cfs_fsversion_init(struct cfs_fsversion *v, int64_t starttime)
{
	memset(v, 0, sizeof(*v));
	v->starttime = starttime;
	v->files = calloc(ARRAY_SIZE(observed), sizeof(*v->files));
	return v->files ? 0 : -ENOMEM;
}

void cfs_fsversion_destroy(struct cfs_fsversion *v)
{
	free(v->files);
	v->files = NULL;
}

void cfs_fsversion_note_path(struct cfs_fsversion *v, const char *path)
{
	if (layout_guest_path(path, NULL)) {
		v->vmlist++;
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(observed); i++) {
		if (streq(path, observed[i])) {
			v->files[i]++;
			return;
		}
	}
}

void cfs_fsversion_note_reload(struct cfs_fsversion *v)
{
	v->clinfo++;
	v->vmlist++;
	for (size_t i = 0; i < ARRAY_SIZE(observed); i++)
		v->files[i]++;
}
