/* SPDX-License-Identifier: MIT */
/*
 * `drover ct template busybox`: a small container root from the host's
 * busybox-static (Debian's package, installed by scripts/install-deps),
 * so tests and the demo need nothing from outside. The tree: /bin/busybox
 * and a symbolic link per applet, an inittab whose sysinit brings up lo
 * and whose powerfail entry (LXC's SIGPWR) powers off, root's passwd and
 * group lines. Stored as pveam does: STORE:vztmpl/NAME.tar.gz.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/buf.h"
#include "basic/process.h"
#include "basic/util.h"
#include "ct_internal.h"

#define BUSYBOX "/bin/busybox"
#define BUSYBOX_MAX (16 << 20)

static const char inittab[] = "::sysinit:/etc/init.d/rcS\n"
			      "::powerfail:/sbin/poweroff\n"
			      "::ctrlaltdel:/sbin/reboot\n"
			      "::shutdown:/bin/umount -a -r\n";

/* LXC sets the host name and the NICs' addresses; nothing may undo them (no udhcpc). */
static const char rcs[] = "#!/bin/sh\n"
			  "mount -t tmpfs -o mode=0755 tmpfs /run 2>/dev/null\n"
			  "ip link set lo up\n";

static const struct {
	const char *path;
	const char *text;
	mode_t mode;
} files[] = {
	{ "etc/inittab", inittab, 0644 },
	{ "etc/init.d/rcS", rcs, 0755 },
	{ "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0644 },
	{ "etc/group", "root:x:0:\n", 0644 },
	{ "etc/hostname", "busybox\n", 0644 },
	{ "etc/os-release", "NAME=\"BusyBox\"\nID=busybox\n", 0644 },
};

static const char *const dirs[] = { "bin", "sbin",    "usr/bin", "usr/sbin", "etc/init.d",
				    "dev", "proc",    "sys",	 "root",     "run",
				    "tmp", "var/log", "home",	 "mnt" };

static int put_file(const char *root, const char *rel, const void *data, size_t len, mode_t mode,
		    struct drover_err *err)
{
	char p[4096];
	int r;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	r = write_file_atomic(p, data, len, mode);
	if (r == 0 && chmod(p, mode) < 0)
		r = -errno;
	return r < 0 ? drover_fail(err, r, "writing %s: %s", p, strerror(-r)) : 0;
}

/* A link to /bin/busybox for every applet busybox --list-full names ("usr/bin/awk"). */
static int applet_links(const char *root, struct drover_err *err)
{
	char *argv[] = { BUSYBOX, "--list-full", NULL };
	struct buf list = BUF_INIT;
	char p[4096], *line, *save = NULL;
	int st = process_run_io(argv, NULL, 0, &list, NULL), r = 0;

	if (st != 0 || buf_terminate(&list) < 0) {
		buf_free(&list);
		return drover_fail(err, st < 0 ? st : -EIO, "%s --list-full failed", BUSYBOX);
	}
	for (line = strtok_r((char *)list.data, "\n", &save); line && r == 0;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!*line || strstr(line, "..") || streq(line, "bin/busybox"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", root, line);
		if (symlink("/bin/busybox", p) < 0 && errno != EEXIST)
			r = drover_fail(err, -errno, "linking %s: %s", p, strerror(errno));
	}
	buf_free(&list);
	return r;
}

static int make_tree(const char *root, struct drover_err *err)
{
	char p[4096], *bin = NULL;
	size_t len;
	int r = 0;

	for (size_t i = 0; r == 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
		r = mkdir_p(p, 0755);
		if (r < 0)
			return drover_fail(err, r, "%s: %s", p, strerror(-r));
	}
	snprintf(p, sizeof(p), "%s/tmp", root);
	chmod(p, 01777);
	snprintf(p, sizeof(p), "%s/root", root);
	chmod(p, 0700);
	r = read_file_max(BUSYBOX, BUSYBOX_MAX, &bin, &len);
	if (r < 0)
		return drover_fail(err, r,
				   "%s: %s (the busybox-static package; scripts/install-deps "
				   "installs it)",
				   BUSYBOX, strerror(-r));
	r = put_file(root, "bin/busybox", bin, len, 0755, err);
	free(bin);
	for (size_t i = 0; r == 0 && i < sizeof(files) / sizeof(files[0]); i++)
		r = put_file(root, files[i].path, files[i].text, strlen(files[i].text),
			     files[i].mode, err);
	return r == 0 ? applet_links(root, err) : r;
}

/* The file of volid, on a storage that holds templates; its directory made. */
static int template_file(const struct storage_env *env, const char *volid, char *path, size_t len,
			 struct drover_err *err)
{
	struct storage_vol v;
	char *slash;
	int r = storage_vol_open(env, volid, &v, err);

	if (r < 0)
		return r;
	if (v.name.content != STORAGE_CONTENT_VZTMPL)
		r = drover_fail(err, -EINVAL,
				"%s is not a container template (STORE:vztmpl/NAME.tar.gz)", volid);
	else if (!(v.st.props.content & STORAGE_CONTENT_VZTMPL))
		r = drover_fail(err, -EINVAL,
				"storage '%s' does not hold templates (its content has no vztmpl)",
				v.storeid);
	storage_vol_close(&v);
	if (r == 0)
		r = storage_volume_path(env, volid, NULL, path, len, err);
	if (r < 0)
		return r;
	slash = strrchr(path, '/');
	*slash = '\0';
	r = mkdir_p(path, 0755);
	*slash = '/';
	return r < 0 ? drover_fail(err, r, "%s: %s", path, strerror(-r)) : 0;
}

static int pack(const char *root, const char *file, struct drover_err *err)
{
	char tmp[4200], out[2048];
	char *argv[] = { "tar",	      "-C",	   (char *)root, "--numeric-owner",
			 "--owner=0", "--group=0", "-czf",	 tmp,
			 ".",	      NULL };
	int st;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", file, (int)getpid());
	st = process_run(argv, out, sizeof(out), NULL, NULL);
	if (st != 0) {
		unlink(tmp);
		return drover_fail_run(err, st, out, "tar");
	}
	/* never a half-written template under the real name */
	if (rename(tmp, file) < 0) {
		int r = -errno;

		unlink(tmp);
		return drover_fail(err, r, "renaming %s: %s", tmp, strerror(-r));
	}
	return 0;
}

static void remove_tree(const char *dir)
{
	char *argv[] = { "rm", "-rf", "--one-file-system", (char *)dir, NULL };

	process_run(argv, NULL, 0, NULL, NULL);
}

int ct_template_busybox(const struct storage_env *env, const char *storeid, const char *name,
			char *volid, size_t len, const struct drover_reporter *rep,
			struct drover_err *err)
{
	char file[4096], root[] = "/tmp/drover-ct-template.XXXXXX";
	int r;

	if (!storeid)
		storeid = CT_TEMPLATE_STORAGE_DEFAULT;
	if (!name)
		name = "busybox.tar.gz";
	if ((size_t)snprintf(volid, len, "%s:vztmpl/%s", storeid, name) >= len)
		return drover_fail(err, -ENAMETOOLONG, "template name too long");
	r = template_file(env, volid, file, sizeof(file), err);
	if (r < 0)
		return r;
	if (!mkdtemp(root))
		return drover_fail(err, -errno, "mkdtemp: %s", strerror(errno));
	chmod(root, 0755); /* the container's / */
	drover_report_log(rep, "Building a busybox root in %s", root);
	r = make_tree(root, err);
	if (r == 0) {
		drover_report_log(rep, "Packing it into %s", file);
		r = pack(root, file, err);
	}
	remove_tree(root);
	return r;
}
