/* SPDX-License-Identifier: MIT */
/* A template unpacked into a new container's root, owners shifted for an unprivileged one. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/process.h"
#include "ct_internal.h"

/* lxc_conf.h's idmap: container root is host uid/gid 100000. */
#define CT_ID_SHIFT 100000

static int shift_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)flag;
	(void)f;
	if (lchown(path, st->st_uid + CT_ID_SHIFT, st->st_gid + CT_ID_SHIFT) < 0)
		return -errno;
	/* chown clears set-id bits: put them back */
	if (!S_ISLNK(st->st_mode) && (st->st_mode & 06000) && chmod(path, st->st_mode & 07777) < 0)
		return -errno;
	return 0;
}

static const struct {
	const char *file;
	const char *ostype;
} os_marks[] = {
	{ "etc/debian_version", "debian" },  { "etc/alpine-release", "alpine" },
	{ "etc/fedora-release", "fedora" },  { "etc/centos-release", "centos" },
	{ "etc/arch-release", "archlinux" }, { "etc/gentoo-release", "gentoo" },
};

static void detect_ostype(const char *dir, char *ostype, size_t len)
{
	char p[4200];

	for (size_t i = 0; i < sizeof(os_marks) / sizeof(os_marks[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, os_marks[i].file);
		if (access(p, F_OK) == 0) {
			snprintf(ostype, len, "%s", os_marks[i].ostype);
			return;
		}
	}
	snprintf(ostype, len, "unmanaged");
}

int ct_template_unpack(const struct storage_env *env, const char *volid, const char *dir,
		       bool unprivileged, char *ostype, size_t len,
		       const struct drover_reporter *rep, struct drover_err *err)
{
	char file[4096], out[2048];
	char *argv[] = { "tar", "-xpf", file, "-C", (char *)dir, "--numeric-owner", NULL };
	int r, st;

	r = storage_volume_path(env, volid, NULL, file, sizeof(file), err);
	if (r < 0)
		return r;
	drover_report_log(rep, "Extracting %s", volid);
	st = process_run(argv, out, sizeof(out), NULL, NULL);
	if (st != 0)
		return drover_fail_run(err, st, out, "unpacking %s", volid);
	if (unprivileged) {
		drover_report_log(rep, "Shifting owners by %d (unprivileged)", CT_ID_SHIFT);
		r = nftw(dir, shift_one, 64, FTW_PHYS | FTW_MOUNT);
		if (r != 0)
			return drover_fail(err, r < 0 ? r : -EIO, "shifting the owners in %s: %s",
					   dir, strerror(r < 0 ? -r : EIO));
	}
	detect_ostype(dir, ostype, len);
	return 0;
}
