/* SPDX-License-Identifier: MIT */
/* A sandbox's name, its state directory and the small state file in it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/util.h"
#include "sandbox.h"

bool sb_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > SANDBOX_NAME_MAX || name[0] < 'a' || name[0] > 'z')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '-'))
			return false;
	return true;
}

int sb_init(struct sandbox *sb, const char *name)
{
	memset(sb, 0, sizeof(*sb));
	if (!sb_name_valid(name))
		return -EINVAL;
	snprintf(sb->name, sizeof(sb->name), "%s", name);
	snprintf(sb->dir, sizeof(sb->dir), "%s/%s", SANDBOX_ROOT, name);
	sb->disk_size = SB_DISK_SIZE_DEFAULT;
	return 0;
}

int sb_exists(const struct sandbox *sb)
{
	return access(sb->dir, F_OK) == 0;
}

int sb_path(const struct sandbox *sb, char *out, size_t len, const char *fmt, ...)
{
	size_t n = (size_t)snprintf(out, len, "%s/", sb->dir);
	va_list ap;
	int r;

	if (n >= len)
		return -ENAMETOOLONG;
	va_start(ap, fmt);
	r = vsnprintf(out + n, len - n, fmt, ap);
	va_end(ap);
	return r < 0 || (size_t)r >= len - n ? -ENAMETOOLONG : 0;
}

int sb_node_path(const struct sandbox *sb, unsigned node, char *out, size_t len, const char *rel)
{
	char name[16];

	sb_node_name(node, name, sizeof(name));
	return sb_path(sb, out, len, "%s%s%s", name, rel[0] ? "/" : "", rel);
}

void sb_node_name(unsigned node, char *out, size_t len)
{
	if (node == SB_QNETD_HOST)
		snprintf(out, len, SB_QNETD_NAME);
	else if (node == SB_CEPH_HOST)
		snprintf(out, len, SB_CEPH_NAME);
	else
		snprintf(out, len, "node%u", node);
}

int sb_parse_node(const struct sandbox *sb, const char *s, unsigned *node)
{
	uint64_t k;

	if (sb->qnetd && streq(s, SB_QNETD_NAME)) {
		*node = SB_QNETD_HOST;
		return 0;
	}
	if (sb->ceph && streq(s, SB_CEPH_NAME)) {
		*node = SB_CEPH_HOST;
		return 0;
	}
	if (!str_has_prefix(s, "node") || parse_u64(s + 4, SANDBOX_NODES_MAX, &k) < 0 || k == 0 ||
	    k > sb->nodes || s[4] == '0')
		return -EINVAL;
	*node = (unsigned)k;
	return 0;
}

bool sb_host_valid(const struct sandbox *sb, unsigned host)
{
	return (host >= 1 && host <= sb->nodes) || (sb->qnetd && host == SB_QNETD_HOST) ||
	       (sb->ceph && host == SB_CEPH_HOST);
}

unsigned sb_next_host(const struct sandbox *sb, unsigned host)
{
	if (host < sb->nodes)
		return host + 1;
	if (sb->ceph && host < SB_CEPH_HOST)
		return SB_CEPH_HOST;
	return sb->qnetd && host < SB_QNETD_HOST ? SB_QNETD_HOST : 0;
}

void sb_netns_name(const struct sandbox *sb, unsigned node, char *out, size_t len)
{
	char name[16];

	sb_node_name(node, name, sizeof(name));
	if (node == 0)
		snprintf(out, len, "dsb-%s-br", sb->name);
	else
		snprintf(out, len, "dsb-%s-%s", sb->name, name);
}

void sb_address(unsigned node, unsigned net, char *out, size_t len)
{
	snprintf(out, len, SANDBOX_SUBNET ".%u.%u", net, node);
}

int sb_load(struct sandbox *sb)
{
	char path[PATH_MAX], line[128];
	unsigned nodes = 0, nets = 0, qnetd = 0, realtime = 0, ceph = 0, ceph_local = 0;
	unsigned long long disk = SB_DISK_SIZE_DEFAULT;
	FILE *f;

	sb_path(sb, path, sizeof(path), "sandbox.conf");
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ENOENT : -errno;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "nodes=%u", &nodes);
		sscanf(line, "networks=%u", &nets);
		sscanf(line, "qnetd=%u", &qnetd);
		sscanf(line, "realtime=%u", &realtime);
		sscanf(line, "ceph=%u", &ceph);
		sscanf(line, "ceph_local=%u", &ceph_local);
		sscanf(line, "disk_size=%llu", &disk);
	}
	fclose(f);
	if (nodes < 1 || nodes > SANDBOX_NODES_MAX || nets < 1 || nets > SANDBOX_NETS_MAX ||
	    ceph > SB_CEPH_BLUESTORE)
		return -EBADMSG;
	sb->nodes = nodes;
	sb->networks = nets;
	sb->qnetd = qnetd == 1;
	sb->realtime = realtime == 1;
	sb->ceph = (enum sb_ceph)ceph;
	sb->ceph_local = ceph && ceph_local == 1;
	sb->disk_size = disk;
	return 0;
}

int sb_save(const struct sandbox *sb)
{
	char path[PATH_MAX], text[224];
	int n = snprintf(
		text, sizeof(text),
		"nodes=%u\nnetworks=%u\nqnetd=%u\nrealtime=%u\nceph=%u\nceph_local=%u\ndisk_size=%llu\n",
		sb->nodes, sb->networks, sb->qnetd ? 1 : 0, sb->realtime ? 1 : 0,
		(unsigned)sb->ceph, sb->ceph_local ? 1 : 0, (unsigned long long)sb->disk_size);

	sb_path(sb, path, sizeof(path), "sandbox.conf");
	return write_file_atomic(path, text, (size_t)n, 0644);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The sandboxes that exist (their state directories, even half-made ones), sorted. */
int sb_list(char names[][SANDBOX_NAME_MAX + 1], int max)
{
	DIR *d = opendir(SANDBOX_ROOT);
	struct dirent *e;
	int n = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) && n < max) {
		char path[PATH_MAX];

		if (!sb_name_valid(e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", SANDBOX_ROOT, e->d_name);
		if (access(path, F_OK) < 0)
			continue;
		memcpy(names[n++], e->d_name, strlen(e->d_name) + 1); /* valid: short */
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), name_cmp);
	return n;
}

/*
 * Commands that change a sandbox take this lock so that two of them (say a
 * test's stop and its start) never interleave. It lives beside the state
 * directory so that up can hold it before the directory exists and down
 * after it is gone.
 */
int sb_lock(const struct sandbox *sb)
{
	char path[PATH_MAX];
	int fd, r;

	r = mkdir_p(SANDBOX_ROOT, 0755);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/.%s.lock", SANDBOX_ROOT, sb->name);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			r = -errno;
			close(fd);
			return r;
		}
	return fd;
}

/* After down: remove the lock file (nothing is left to guard), then release the lock. */
void sb_lock_remove(const struct sandbox *sb, int lock)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/.%s.lock", SANDBOX_ROOT, sb->name);
	unlink(path);
	close(lock);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* rm -rf that stays on one file system: a mount left behind is never descended into. */
int sb_rm_rf(const char *path)
{
	if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
		return -errno;
	return access(path, F_OK) == 0 ? -EBUSY : 0;
}
