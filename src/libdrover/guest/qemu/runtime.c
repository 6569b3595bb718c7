/* SPDX-License-Identifier: MIT */
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

int qemu_paths_init(const char *run_dir, uint32_t vmid, struct qemu_paths *p,
		    struct drover_err *err)
{
	const char *d = run_dir ? run_dir : QEMU_RUN_DIR;
	int n = 0;

	memset(p, 0, sizeof(*p));
	/* The longest socket name decides: VMID.serial3. */
	n = snprintf(p->serial[QEMU_SERIAL_COUNT - 1], sizeof(p->serial[0]), "%s/%u.serial%d", d,
		     vmid, QEMU_SERIAL_COUNT - 1);
	if (n < 0 || (size_t)n >= sizeof(p->serial[0]))
		return drover_fail(err, -ENAMETOOLONG,
				   "run directory '%s' is too long for socket paths", d);
	snprintf(p->qmp, sizeof(p->qmp), "%s/%u.qmp", d, vmid);
	snprintf(p->qga, sizeof(p->qga), "%s/%u.qga", d, vmid);
	snprintf(p->pid, sizeof(p->pid), "%s/%u.pid", d, vmid);
	for (int i = 0; i < QEMU_SERIAL_COUNT; i++) {
		snprintf(p->serial[i], sizeof(p->serial[i]), "%s/%u.serial%d", d, vmid, i);
		snprintf(p->serial_log[i], sizeof(p->serial_log[i]), "%s/%u.serial%d.log", d, vmid,
			 i);
	}
	return 0;
}

/* mkdir -p for the parents of path (0755). */
static int make_parents(char *path)
{
	for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			int r = -errno;

			*s = '/';
			return r;
		}
		*s = '/';
	}
	return 0;
}

int qemu_run_dir_prepare(const char *run_dir, struct drover_err *err)
{
	const char *d = run_dir ? run_dir : QEMU_RUN_DIR;
	char path[QEMU_SOCK_PATH_MAX];
	struct stat st;
	int r;

	if (d[0] != '/' || snprintf(path, sizeof(path), "%s", d) >= (int)sizeof(path))
		return drover_fail(err, -EINVAL, "run directory '%s' must be a short absolute path",
				   d);
	r = make_parents(path);
	if (r < 0)
		return drover_fail(err, r, "mkdir parents of %s: %s", d, strerror(-r));
	if (mkdir(d, 0700) < 0 && errno != EEXIST)
		return drover_fail(err, -errno, "mkdir %s: %m", d);
	if (lstat(d, &st) < 0)
		return drover_fail(err, -errno, "%s: %m", d);
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return drover_fail(err, -EPERM, "%s is not a directory of ours", d);
	if ((st.st_mode & 07777) != 0700 && chmod(d, 0700) < 0)
		return drover_fail(err, -errno, "chmod 0700 %s: %m", d);
	return 0;
}

bool qemu_kvm_usable(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm;

	if (fd < 0)
		return false;
	if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		close(fd);
		return false;
	}
	vm = ioctl(fd, KVM_CREATE_VM, 0);
	if (vm >= 0)
		close(vm);
	close(fd);
	return vm >= 0;
}
