/* SPDX-License-Identifier: MIT */
#include "names.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/util.h"

static bool is_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

bool node_name_valid_n(const char *name, size_t len)
{
	if (len == 0 || len > NODE_NAME_MAX)
		return false;
	if (name[0] == '-' || name[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_ldh(name[i]))
			return false;
	return true;
}

bool node_name_valid(const char *name)
{
	return node_name_valid_n(name, strlen(name));
}

int vmid_parse_n(const char *s, size_t len, uint32_t *vmid)
{
	uint64_t v = 0;

	if (len == 0 || len > 10 || s[0] == '0')
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -EINVAL;
	*vmid = (uint32_t)v;
	return 0;
}

enum guest_type guest_type_from_dir(const char *dirname)
{
	if (streq(dirname, "qemu-server"))
		return GUEST_QEMU;
	if (streq(dirname, "lxc"))
		return GUEST_LXC;
	return GUEST_NONE;
}

const char *guest_type_name(enum guest_type t)
{
	switch (t) {
	case GUEST_QEMU:
		return "qemu";
	case GUEST_LXC:
		return "lxc";
	default:
		return "none";
	}
}

const char *guest_kind(enum guest_type t)
{
	return t == GUEST_LXC ? "CT" : "VM";
}

const char *guest_type_dirname(enum guest_type t)
{
	switch (t) {
	case GUEST_QEMU:
		return "qemu-server";
	case GUEST_LXC:
		return "lxc";
	default:
		return NULL;
	}
}

bool guest_config_filename(const char *filename, uint32_t *vmid)
{
	size_t len = strlen(filename);

	if (len < 6 || !streq(filename + len - 5, ".conf"))
		return false;
	return vmid_parse_n(filename, len - 5, vmid) == 0;
}

int guest_conf_relpath(const char *node, enum guest_type type, uint32_t vmid, char *out, size_t len)
{
	int n = snprintf(out, len, "nodes/%s/%s/%" PRIu32 ".conf", node, guest_type_dirname(type),
			 vmid);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
