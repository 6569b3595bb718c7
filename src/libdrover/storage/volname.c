/* SPDX-License-Identifier: MIT */
#include "volname.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "basic/util.h"
#include "config.h"
#include "libdrover/format/names.h"

static const char *const volformat_names[] = { "raw", "qcow2", "subvol" };

const char *storage_volformat_name(enum storage_volformat f)
{
	return (unsigned)f < ARRAY_SIZE(volformat_names) ? volformat_names[f] : "?";
}

int storage_volformat_parse(const char *s, enum storage_volformat *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(volformat_names); i++)
		if (streq(s, volformat_names[i])) {
			*f = (enum storage_volformat)i;
			return 0;
		}
	return -EINVAL;
}

enum storage_naming storage_naming_of(const char *type)
{
	return streq(type, "dir") || streq(type, "btrfs") ? STORAGE_NAMING_FILE
							  : STORAGE_NAMING_BLOCK;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool storage_snapname_valid(const char *snap)
{
	size_t n = strlen(snap);

	if (n == 0 || n >= STORAGE_SNAPNAME_MAX || snap[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(snap[i]) && snap[i] != '_' && snap[i] != '-')
			return false;
	return true;
}

int storage_volid_split(const char *volid, char *storeid, size_t idlen, char *volname,
			size_t namelen, struct drover_err *err)
{
	const char *colon = strchr(volid, ':');
	size_t n = colon ? (size_t)(colon - volid) : 0;

	if (!colon)
		return drover_fail(err, -EINVAL, "'%.100s' is not a volume ID (STORAGE:VOLUME)",
				   volid);
	if (n >= idlen || n >= STORAGE_ID_MAX)
		return drover_fail(err, -EINVAL, "volume ID '%.100s': the storage ID is too long",
				   volid);
	memcpy(storeid, volid, n);
	storeid[n] = '\0';
	if (!storage_id_valid(storeid))
		return drover_fail(err, -EINVAL, "volume ID '%.100s': '%s' is not a storage ID",
				   volid, storeid);
	if (!colon[1])
		return drover_fail(err, -EINVAL, "volume ID '%.100s' names no volume", volid);
	if (strlen(colon + 1) >= namelen || strlen(colon + 1) >= STORAGE_VOLNAME_MAX)
		return drover_fail(err, -EINVAL, "volume ID '%.100s': the volume name is too long",
				   volid);
	snprintf(volname, namelen, "%s", colon + 1);
	return 0;
}

/* "vm-100-disk-0" -> prefix kind, VMID; the rest after it must be [A-Za-z0-9][A-Za-z0-9_-]*. */
static int parse_guest_name(const char *name, size_t len, struct storage_volname *v,
			    struct drover_err *err)
{
	static const struct {
		const char *prefix;
		enum storage_content content;
		bool base;
	} kinds[] = {
		{ "vm-", STORAGE_CONTENT_IMAGES, false },
		{ "base-", STORAGE_CONTENT_IMAGES, true },
		{ "subvol-", STORAGE_CONTENT_ROOTDIR, false },
	};
	const char *p = NULL, *dash;
	uint32_t vmid;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kinds); i++)
		if (len > strlen(kinds[i].prefix) &&
		    !strncmp(name, kinds[i].prefix, strlen(kinds[i].prefix))) {
			p = name + strlen(kinds[i].prefix);
			break;
		}
	if (!p)
		return drover_fail(
			err, -EINVAL,
			"'%.*s' is not a volume name: vm-VMID-..., base-VMID-... or subvol-VMID-...",
			(int)MIN(len, 100), name);
	dash = memchr(p, '-', len - (size_t)(p - name));
	if (!dash || vmid_parse_n(p, (size_t)(dash - p), &vmid) < 0)
		return drover_fail(err, -EINVAL, "'%.*s': no VMID after '%s'", (int)MIN(len, 100),
				   name, kinds[i].prefix);
	if (dash + 1 == name + len || !is_alnum(dash[1]))
		return drover_fail(err, -EINVAL, "'%.*s': nothing after the VMID (say %sdisk-0)",
				   (int)MIN(len, 100), name, name);
	for (const char *c = dash + 1; c < name + len; c++)
		if (!is_alnum(*c) && *c != '_' && *c != '-')
			return drover_fail(
				err, -EINVAL,
				"'%.*s': only letters, digits, '_' and '-' after the VMID",
				(int)MIN(len, 100), name);
	if (len >= sizeof(v->name))
		return drover_fail(err, -EINVAL, "'%.100s...' is too long", name);
	memcpy(v->name, name, len);
	v->name[len] = '\0';
	v->vmid = vmid;
	v->content = kinds[i].content;
	v->base = kinds[i].base;
	v->format = v->content == STORAGE_CONTENT_ROOTDIR ? STORAGE_VOLFORMAT_SUBVOL
							  : STORAGE_VOLFORMAT_RAW;
	return 0;
}

/* "iso/debian.iso", "vztmpl/x.tar.gz": a plain file name with the right ending. */
static int parse_plain_file(const char *volname, struct storage_volname *v, struct drover_err *err)
{
	static const struct {
		const char *dir;
		const char *const ends[3];
		enum storage_content content;
	} dirs[] = {
		{ "iso/", { ".iso", ".img", NULL }, STORAGE_CONTENT_ISO },
		{ "vztmpl/", { ".tar.gz", ".tar.xz", ".tar.zst" }, STORAGE_CONTENT_VZTMPL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		const char *name = volname + strlen(dirs[i].dir);
		size_t n = strlen(name);
		bool ok = false;

		if (!str_has_prefix(volname, dirs[i].dir))
			continue;
		if (!n || !is_alnum(name[0]) || strstr(name, "..") || n >= sizeof(v->name))
			return drover_fail(err, -EINVAL, "'%.100s' is not a file name", volname);
		for (const char *c = name; *c; c++)
			if (!is_alnum(*c) && !strchr("_.+-", *c))
				return drover_fail(
					err, -EINVAL,
					"'%.100s': only letters, digits, '_', '.', '+' and '-' in a file name",
					volname);
		for (size_t e = 0; e < 3 && dirs[i].ends[e]; e++)
			ok |= n > strlen(dirs[i].ends[e]) &&
			      streq(name + n - strlen(dirs[i].ends[e]), dirs[i].ends[e]);
		if (!ok)
			return drover_fail(err, -EINVAL, "'%.100s' does not end in %s%s%s", volname,
					   dirs[i].ends[0], dirs[i].ends[1] ? " or " : "",
					   dirs[i].ends[1] ? dirs[i].ends[1] : "");
		memset(v, 0, sizeof(*v));
		memcpy(v->name, name, n + 1);
		v->content = dirs[i].content;
		v->format = STORAGE_VOLFORMAT_RAW;
		return 0;
	}
	return 1; /* not one of these */
}

/* The extension of a file-storage name and the format it means. */
static int split_ext(const char *name, size_t *stem, enum storage_volformat *fmt)
{
	const char *dot = strrchr(name, '.');

	if (!dot || storage_volformat_parse(dot + 1, fmt) < 0)
		return -EINVAL;
	*stem = (size_t)(dot - name);
	return 0;
}

int storage_volname_parse(const char *volname, enum storage_naming naming,
			  struct storage_volname *v, struct drover_err *err)
{
	const char *slash = strchr(volname, '/'), *name = volname;
	enum storage_volformat fmt;
	size_t stem;
	uint32_t dir_vmid = 0;
	int r;

	memset(v, 0, sizeof(*v));
	if (!volname[0])
		return drover_fail(err, -EINVAL, "empty volume name");
	if (strstr(volname, ".."))
		return drover_fail(err, -EINVAL, "volume name '%.100s' has '..' in it", volname);
	if (naming == STORAGE_NAMING_BLOCK) {
		if (slash)
			return drover_fail(
				err, -EINVAL,
				"volume name '%.100s': no '/' on this storage (say vm-100-disk-0)",
				volname);
		return parse_guest_name(volname, strlen(volname), v, err);
	}
	r = parse_plain_file(volname, v, err);
	if (r <= 0)
		return r;
	if (!slash || strchr(slash + 1, '/') ||
	    vmid_parse_n(volname, (size_t)(slash - volname), &dir_vmid) < 0)
		return drover_fail(
			err, -EINVAL,
			"volume name '%.100s' is not VMID/NAME.EXT (say 100/vm-100-disk-0.raw)",
			volname);
	name = slash + 1;
	if (split_ext(name, &stem, &fmt) < 0)
		return drover_fail(err, -EINVAL,
				   "volume name '%.100s' does not end in .raw, .qcow2 or .subvol",
				   volname);
	r = parse_guest_name(name, stem, v, err);
	if (r < 0)
		return r;
	if (v->vmid != dir_vmid)
		return drover_fail(
			err, -EINVAL,
			"volume name '%.100s': '%s' belongs to VMID %u, not to %u (the directory)",
			volname, v->name, v->vmid, dir_vmid);
	if ((fmt == STORAGE_VOLFORMAT_SUBVOL) != (v->content == STORAGE_CONTENT_ROOTDIR))
		return drover_fail(
			err, -EINVAL,
			"volume name '%.100s': .subvol goes with subvol-VMID-... names only",
			volname);
	v->format = fmt;
	return 0;
}

int storage_name_check(const char *name, unsigned vmid, enum storage_naming naming,
		       enum storage_volformat *fmt, bool fmt_given, struct drover_err *err)
{
	struct storage_volname v;
	enum storage_volformat ext_fmt;
	size_t stem = strlen(name);
	bool has_ext = false;
	int r;

	if (strchr(name, '/') || strstr(name, ".."))
		return drover_fail(err, -EINVAL, "volume name '%.100s' may not have '/' or '..'",
				   name);
	if (naming == STORAGE_NAMING_FILE && split_ext(name, &stem, &ext_fmt) == 0)
		has_ext = true;
	r = parse_guest_name(name, stem, &v, err);
	if (r < 0)
		return r;
	if (v.vmid != vmid)
		return drover_fail(err, -EPERM,
				   "volume name '%.100s' belongs to VMID %u, not to %u", name,
				   v.vmid, vmid);
	if (has_ext && fmt_given && ext_fmt != *fmt)
		return drover_fail(err, -EINVAL, "volume name '%.100s' says %s, --format says %s",
				   name, storage_volformat_name(ext_fmt),
				   storage_volformat_name(*fmt));
	if (has_ext)
		*fmt = ext_fmt;
	else if (!fmt_given)
		*fmt = v.format;
	if ((*fmt == STORAGE_VOLFORMAT_SUBVOL) != (v.content == STORAGE_CONTENT_ROOTDIR))
		return drover_fail(
			err, -EINVAL,
			"volume name '%.100s': format subvol goes with subvol-VMID-... names only",
			name);
	return 0;
}

int storage_volname_make(enum storage_naming naming, unsigned vmid, const char *name,
			 enum storage_volformat fmt, char *out, size_t len)
{
	int n;

	if (naming == STORAGE_NAMING_BLOCK)
		n = snprintf(out, len, "%s", name);
	else
		n = snprintf(out, len, "%u/%s.%s", vmid, name, storage_volformat_name(fmt));
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
