/* SPDX-License-Identifier: MIT */
#include "layout.h"

#include <stdio.h>
#include <string.h>

#include "basic/util.h"

static bool is_root(const struct cfs_entry *e)
{
	return e && !e->parent && e->inode == CFS_ROOT_INODE;
}

/* e is root/<name> */
static bool is_top(const struct cfs_entry *e, const char *name)
{
	return e && is_root(e->parent) && streq(e->name, name);
}

static bool is_private_dir(const struct cfs_entry *e)
{
	if (!streq(e->name, "priv") || e->type != CFS_DIR)
		return false;
	if (is_root(e->parent))
		return true;
	/* nodes/<node>/priv */
	return e->parent && is_top(e->parent->parent, "nodes");
}

bool layout_is_private(const struct cfs_entry *e)
{
	for (; e && e->parent; e = e->parent)
		if (is_private_dir(e))
			return true;
	return false;
}

bool layout_path_is_private(const char *path)
{
	const char *rest;

	if (streq(path, "priv") || str_has_prefix(path, "priv/"))
		return true;
	if (!str_has_prefix(path, "nodes/"))
		return false;
	rest = strchr(path + strlen("nodes/"), '/');
	return rest && (streq(rest, "/priv") || str_has_prefix(rest, "/priv/"));
}

bool layout_is_lock_root(const struct cfs_entry *e)
{
	return e && e->type == CFS_DIR && streq(e->name, "lock") && is_top(e->parent, "priv");
}

bool layout_is_lock_dir(const struct cfs_entry *e)
{
	return e && e->type == CFS_DIR && layout_is_lock_root(e->parent);
}

bool layout_in_lock_area(const struct cfs_entry *e)
{
	for (; e && e->parent; e = e->parent)
		if (layout_is_lock_root(e))
			return true;
	return false;
}

bool layout_is_reserved_root_name(const char *name)
{
	static const char *const reserved[] = {
		".version", ".members", ".vmlist",     ".clusterlog", ".debug",
		".rrd",	    "local",	"qemu-server", "lxc",	      "openvz",
	};

	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
		if (streq(name, reserved[i]))
			return true;
	return false;
}

bool layout_guest_position(const struct cfs_entry *dir, const char *name, struct cfs_guest_ref *ref)
{
	const struct cfs_entry *node;
	enum guest_type type;
	uint32_t vmid;

	if (!dir || dir->type != CFS_DIR)
		return false;
	type = guest_type_from_dir(dir->name);
	if (type == GUEST_NONE)
		return false;
	node = dir->parent;
	if (!node || !is_top(node->parent, "nodes") || !node_name_valid(node->name))
		return false;
	if (!guest_config_filename(name, &vmid))
		return false;
	if (ref) {
		ref->vmid = vmid;
		ref->type = type;
		snprintf(ref->node, sizeof(ref->node), "%s", node->name);
	}
	return true;
}

bool layout_guest_path(const char *path, struct cfs_guest_ref *ref)
{
	const char *parts[4];
	size_t lens[4];
	const char *p = path;
	char dir[16];
	enum guest_type type;
	uint32_t vmid;
	char file[CFS_NAME_MAX + 1];

	for (int i = 0; i < 4; i++) {
		size_t len = strcspn(p, "/");

		parts[i] = p;
		lens[i] = len;
		p += len;
		if (i < 3) {
			if (*p != '/')
				return false;
			p++;
		}
	}
	if (*p != '\0' || lens[0] != 5 || strncmp(parts[0], "nodes", 5) != 0)
		return false;
	if (!node_name_valid_n(parts[1], lens[1]) || lens[2] >= sizeof(dir) ||
	    lens[3] > CFS_NAME_MAX)
		return false;
	memcpy(dir, parts[2], lens[2]);
	dir[lens[2]] = '\0';
	type = guest_type_from_dir(dir);
	if (type == GUEST_NONE)
		return false;
	memcpy(file, parts[3], lens[3]);
	file[lens[3]] = '\0';
	if (!guest_config_filename(file, &vmid))
		return false;
	if (ref) {
		ref->vmid = vmid;
		ref->type = type;
		memcpy(ref->node, parts[1], lens[1]);
		ref->node[lens[1]] = '\0';
	}
	return true;
}
