/* SPDX-License-Identifier: MIT */
/*
 * Real storage for a sandbox: every node gets a btrfs file system on a
 * sparse file of its own (STATE/nodeK/btrfs.img, on a loop device), mounted
 * in the node's mount namespace at SB_BTRFS_PATH and configured as storage
 * `local-btrfs`; and one host directory (STATE/shared) is bind-mounted into
 * every node at SB_SHARED_PATH as storage `shared`, the role NFS plays in a
 * real cluster.
 *
 * Loop devices are taken as `losetup -f` does (the first free one, through
 * /dev/loop-control) and set to detach themselves once unmounted; which one
 * each node has is written to STATE/nodeK/loop, and down detaches only a
 * device whose backing file is still this sandbox's image: other work on
 * the machine uses loop devices too.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/process.h"
#include "basic/util.h"
#include "sandbox.h"

#define LOOP_TRIES 20

static void image_path(const struct sandbox *sb, unsigned node, char *out, size_t len)
{
	sb_node_path(sb, node, out, len, "btrfs.img");
}

/* A sparse file of the sandbox's disk size with a fresh btrfs on it. */
static int make_image(const struct sandbox *sb, unsigned node, struct drover_err *err)
{
	char img[PATH_MAX], out[2048];
	char *argv[] = { "mkfs.btrfs", "-q", "-f", img, NULL };
	int fd, r;

	image_path(sb, node, img, sizeof(img));
	fd = open(img, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		return drover_fail(err, r, "creating %s: %s", img, strerror(-r));
	}
	r = ftruncate(fd, (off_t)sb->disk_size) < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return drover_fail(err, r, "sizing %s: %s", img, strerror(-r));
	r = process_run(argv, out, sizeof(out), NULL, NULL);
	if (r != 0)
		return drover_fail(err, r < 0 ? r : -EIO, "mkfs.btrfs %s: %s", img,
				   r < 0 ? strerror(-r) : out);
	return 0;
}

/*
 * Attach img to the first free loop device, set to detach itself when its
 * last user goes. Returns the open device (keep it open until mounted, or
 * it detaches at once) and its path in dev.
 */
static int attach_loop(const char *img, char *dev, size_t len)
{
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	int file = open(img, O_RDWR | O_CLOEXEC);
	int r = ctl < 0 || file < 0 ? -errno : -EBUSY;

	for (int i = 0; r == -EBUSY && i < LOOP_TRIES; i++) {
		struct loop_config cfg;
		int n = ioctl(ctl, LOOP_CTL_GET_FREE), fd;

		if (n < 0) {
			r = -errno;
			break;
		}
		snprintf(dev, len, "/dev/loop%d", n);
		fd = open(dev, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			break;
		}
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = (unsigned)file;
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
		/* the name shown by losetup, cut to its 63 bytes: the backing file is what counts */
		memcpy(cfg.info.lo_file_name, img,
		       MIN(strlen(img), sizeof(cfg.info.lo_file_name) - 1));
		if (ioctl(fd, LOOP_CONFIGURE, &cfg) == 0) {
			r = fd;
			break;
		}
		r = -errno; /* EBUSY: another process took it between the two calls */
		close(fd);
	}
	if (ctl >= 0)
		close(ctl);
	if (file >= 0)
		close(file);
	return r;
}

struct mount_arg {
	const struct sandbox *sb;
	unsigned node;
	const char *dev;
};

/* In a child: enter the node, mount its btrfs and the shared directory there. */
static int mount_in_node(void *arg)
{
	struct mount_arg *a = arg;
	char shared[PATH_MAX];
	int r;

	sb_path(a->sb, shared, sizeof(shared), "shared");
	r = sb_node_enter(a->sb, a->node);
	if (r < 0)
		return r;
	/* (a child: what it prints on stderr is the output process_run collects) */
	if (mount(a->dev, SB_BTRFS_PATH, "btrfs", MS_NOATIME, NULL) < 0) {
		r = -errno;
		fprintf(stderr, "mount %s on %s: %s\n", a->dev, SB_BTRFS_PATH, strerror(-r));
		return r;
	}
	if (mount(shared, SB_SHARED_PATH, NULL, MS_BIND, NULL) < 0) {
		r = -errno;
		fprintf(stderr, "bind %s on %s: %s\n", shared, SB_SHARED_PATH, strerror(-r));
		return r;
	}
	return 0;
}

static int mount_node(const struct sandbox *sb, unsigned node, const char *dev,
		      struct drover_err *err)
{
	struct mount_arg a = { sb, node, dev };
	char *argv[] = { "true", NULL };
	char out[1024];
	int r = process_run(argv, out, sizeof(out), mount_in_node, &a);

	if (r != 0)
		return drover_fail(err, r < 0 ? r : -EIO, "mounting node%u's storage: %s", node,
				   r < 0 ? strerror(-r) : out);
	return 0;
}

/* The mount points, as the node sees them (its /var/lib/drover is STATE/nodeK/var-lib-drover). */
static int make_mount_points(const struct sandbox *sb, unsigned node)
{
	char dir[PATH_MAX];
	int r;

	sb_node_path(sb, node, dir, sizeof(dir), "var-lib-drover/local-btrfs");
	r = mkdir_p(dir, 0755);
	if (r == 0) {
		sb_node_path(sb, node, dir, sizeof(dir), "var-lib-drover/shared");
		r = mkdir_p(dir, 0755);
	}
	return r;
}

static int node_storage(const struct sandbox *sb, unsigned node, struct drover_err *err)
{
	char img[PATH_MAX], dev[64], rec[PATH_MAX], line[PATH_MAX + 80];
	int fd, r, n;

	r = make_mount_points(sb, node);
	if (r < 0)
		return drover_fail(err, r, "node%u's mount points: %s", node, strerror(-r));
	r = make_image(sb, node, err);
	if (r < 0)
		return r;
	image_path(sb, node, img, sizeof(img));
	fd = attach_loop(img, dev, sizeof(dev));
	if (fd < 0)
		return drover_fail(err, fd, "no loop device for %s: %s", img, strerror(-fd));
	/* recorded before the mount: down must find it whatever happens next */
	sb_node_path(sb, node, rec, sizeof(rec), "loop");
	n = snprintf(line, sizeof(line), "%s %s\n", dev, img);
	r = write_file_atomic(rec, line, (size_t)n, 0644);
	if (r < 0)
		drover_fail(err, r, "recording %s: %s", rec, strerror(-r));
	else
		r = mount_node(sb, node, dev, err);
	close(fd); /* the mount holds the device now; unmounted, it detaches */
	return r;
}

int sb_storage_create(const struct sandbox *sb, struct drover_err *err)
{
	char shared[PATH_MAX];
	int r;

	sb_path(sb, shared, sizeof(shared), "shared");
	r = mkdir_p(shared, 0755);
	if (r < 0)
		return drover_fail(err, r, "%s: %s", shared, strerror(-r));
	for (unsigned k = 1; r == 0 && k <= sb->nodes; k++)
		r = node_storage(sb, k, err);
	return r;
}

/* Is dev still attached to img (and not to someone else's file by now)? */
static bool loop_is_ours(const char *dev, const char *img)
{
	char path[PATH_MAX], backing[PATH_MAX];
	const char *name = strrchr(dev, '/');
	FILE *f;
	bool ours = false;

	if (!name)
		return false;
	snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", name + 1);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(backing, sizeof(backing), f)) {
		backing[strcspn(backing, "\n")] = '\0';
		ours = streq(backing, img);
	}
	fclose(f);
	return ours;
}

void sb_storage_destroy(const struct sandbox *sb)
{
	for (unsigned k = 1; k <= sb->nodes; k++) {
		char rec[PATH_MAX], line[PATH_MAX + 80], dev[64], img[PATH_MAX];
		FILE *f;
		int fd;

		sb_node_path(sb, k, rec, sizeof(rec), "loop");
		f = fopen(rec, "re");
		if (!f)
			continue;
		if (!fgets(line, sizeof(line), f) || sscanf(line, "%63s %4095s", dev, img) != 2) {
			fclose(f);
			continue;
		}
		fclose(f);
		/* the unmount (the node's namespace is gone) usually detached it already */
		for (int i = 0; i < 50 && loop_is_ours(dev, img); i++) {
			fd = open(dev, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				ioctl(fd, LOOP_CLR_FD, 0);
				close(fd);
			}
			if (loop_is_ours(dev, img))
				usleep(100 * 1000);
		}
		/* (down goes on: the next down tries again; the device detaches when unused) */
	}
}

int sb_storage_configure(const struct sandbox *sb, bool bare, struct drover_err *err)
{
	char *btrfs[] = { "storage", "add",	    "btrfs",	 SB_BTRFS_STORAGE,
			  "--path",  SB_BTRFS_PATH, "--content", "images,rootdir",
			  NULL };
	char *shared[] = { "storage",	"add",
			   "dir",	SB_SHARED_STORAGE,
			   "--path",	SB_SHARED_PATH,
			   "--shared",	"1",
			   "--content", "images,rootdir,iso,vztmpl",
			   NULL };
	int r = 0;

	/* a cluster shares storage.cfg; bare nodes each have their own tree */
	for (unsigned k = 1; r == 0 && k <= (bare ? sb->nodes : 1); k++) {
		r = sb_run_drover(sb, k, btrfs, err);
		if (r == 0)
			r = sb_run_drover(sb, k, shared, err);
	}
	return r;
}
