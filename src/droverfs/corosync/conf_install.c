/* SPDX-License-Identifier: MIT */
#include "conf_install.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libdrover/format/corosync_conf.h"
#include "basic/util.h"

#define CONF_MAX_SIZE (1u << 20)

static ssize_t read_small_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

uint64_t cfs_conf_installed_version(const char *path)
{
	char *buf = malloc(CONF_MAX_SIZE);
	ssize_t n;
	uint64_t v = 0;

	if (!buf)
		return 0;
	n = read_small_file(path, buf, CONF_MAX_SIZE);
	if (n > 0)
		v = cc_config_version(buf, (size_t)n);
	free(buf);
	return v;
}

int cfs_conf_install(const void *data, size_t len, const char *path, uint64_t *version, char *err,
		     size_t errlen)
{
	struct cc_error perr = { 0 };
	struct cc_node *root;
	uint64_t installed;
	int r;

	err[0] = '\0';
	*version = 0;
	root = cc_parse(data, len, &perr);
	if (!root) {
		snprintf(err, errlen, "corosync.conf:%u: %s", perr.line, perr.text);
		return -EINVAL;
	}
	cc_free(root);
	*version = cc_config_version(data, len);
	if (*version == 0) {
		snprintf(err, errlen, "corosync.conf: no totem.config_version");
		return -EINVAL;
	}
	installed = cfs_conf_installed_version(path);
	if (*version == installed)
		return CFS_CONF_CURRENT;
	if (*version < installed) {
		snprintf(err, errlen,
			 "corosync.conf config_version %llu is lower than the installed %llu",
			 (unsigned long long)*version, (unsigned long long)installed);
		return -ESTALE;
	}
	r = write_file_atomic(path, data, len, 0644);
	return r < 0 ? r : CFS_CONF_INSTALLED;
}
