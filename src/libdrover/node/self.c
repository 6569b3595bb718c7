/* SPDX-License-Identifier: MIT */
#include "self.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "libdrover/task/task.h"

int node_self_name(const char *cfs_socket, char *out, size_t len, struct drover_err *err)
{
	char host[256];
	int r = task_node_name(cfs_socket, out, len);

	if (r == 0)
		return 0;
	/* -EINVAL: droverfs said nothing and the host name is no node name */
	if (r == -EINVAL && gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		host[strcspn(host, ".")] = '\0';
		return drover_fail(err, r,
				   "cannot tell this node's name: droverfs does not say it and "
				   "the host name '%s' is not a valid node name",
				   host);
	}
	return drover_fail(err, r, "cannot tell this node's name: %s", strerror(-r));
}
