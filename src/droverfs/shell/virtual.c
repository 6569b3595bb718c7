/* SPDX-License-Identifier: MIT */
#include "virtual.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "context.h"
#include "basic/log.h"
#include "basic/util.h"
#include "status_json.h"

static const struct {
	const char *name;
	enum cfs_mode_kind kind;
} table[CFS_VIRT_COUNT] = {
	[CFS_VIRT_LOCAL] = { "local", CFS_MODE_SYMLINK },
	[CFS_VIRT_QEMU] = { "qemu-server", CFS_MODE_SYMLINK },
	[CFS_VIRT_LXC] = { "lxc", CFS_MODE_SYMLINK },
	[CFS_VIRT_VERSION] = { ".version", CFS_MODE_VIRTUAL_RO },
	[CFS_VIRT_MEMBERS] = { ".members", CFS_MODE_VIRTUAL_RO },
	[CFS_VIRT_VMLIST] = { ".vmlist", CFS_MODE_VIRTUAL_RO },
	[CFS_VIRT_CLUSTERLOG] = { ".clusterlog", CFS_MODE_VIRTUAL_RO },
	[CFS_VIRT_DEBUG] = { ".debug", CFS_MODE_VIRTUAL_RW },
};

int cfs_virtual_lookup(const char *name)
{
	for (int i = 0; i < CFS_VIRT_COUNT; i++)
		if (streq(name, table[i].name))
			return i;
	return -1;
}

const char *cfs_virtual_name(int id)
{
	return table[id].name;
}

uint64_t cfs_virtual_ino(int id)
{
	return CFS_VIRTUAL_INO_BASE + (uint64_t)id;
}

int cfs_virtual_id(uint64_t ino)
{
	if (ino < CFS_VIRTUAL_INO_BASE || ino >= CFS_VIRTUAL_INO_BASE + CFS_VIRT_COUNT)
		return -1;
	return (int)(ino - CFS_VIRTUAL_INO_BASE);
}

bool cfs_virtual_is_symlink(int id)
{
	return table[id].kind == CFS_MODE_SYMLINK;
}

enum cfs_mode_kind cfs_virtual_mode_kind(int id)
{
	return table[id].kind;
}

void cfs_virtual_symlink(const struct cfs_daemon *d, int id, char *buf, size_t len)
{
	const char *sub = id == CFS_VIRT_QEMU ? "/qemu-server" : id == CFS_VIRT_LXC ? "/lxc" : "";

	snprintf(buf, len, "nodes/%s%s", d->opt.nodename, sub);
}

char *cfs_virtual_content(struct cfs_daemon *d, int id)
{
	switch (id) {
	case CFS_VIRT_VERSION:
		return cfs_json_version(d);
	case CFS_VIRT_MEMBERS:
		return cfs_json_members(d);
	case CFS_VIRT_VMLIST:
		return cfs_json_vmlist(d);
	case CFS_VIRT_CLUSTERLOG:
		return cfs_json_clusterlog(d, 50, NULL);
	case CFS_VIRT_DEBUG:
		return strdup(log_debug_enabled() ? "1\n" : "0\n");
	default:
		return strdup("");
	}
}

int cfs_virtual_write(struct cfs_daemon *d, int id, const char *data, size_t len)
{
	if (id != CFS_VIRT_DEBUG)
		return -EACCES;
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == ' '))
		len--;
	if (len != 1 || (data[0] != '0' && data[0] != '1'))
		return -EINVAL;
	log_set_debug(data[0] == '1');
	log_notice("debug logging %s", data[0] == '1' ? "on" : "off");
	return 0;
}
