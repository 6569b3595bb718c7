/* SPDX-License-Identifier: MIT */
#include "require.h"

#include <errno.h>
#include <unistd.h>

#include "libdrover/cfs/ipc_client.h"

int drover_require(unsigned needs, const char *what, const char *socket, struct cfs_brief *b,
		   struct drover_err *err)
{
	int r;

	if ((needs & DROVER_NEED_ROOT) && geteuid() != 0)
		return drover_fail(err, -EPERM, "%s changes this host: run it as root", what);
	if (!(needs & (DROVER_NEED_CFS | DROVER_NEED_CLUSTER | DROVER_NEED_QUORATE)))
		return 0;
	r = cfs_brief_get(socket, b);
	if (r < 0)
		return ipc_client_unreachable(err, socket, r);
	if ((needs & DROVER_NEED_CLUSTER) && !b->cluster_mode)
		return drover_fail(err, -ENOTCONN, "this node is in no cluster");
	if ((needs & DROVER_NEED_QUORATE) && !b->writable)
		return drover_fail(
			err, -EACCES,
			"no quorum: %s needs a quorate cluster, the tree is read-only (see 'drover cluster status'; 'drover cluster expected' when nodes are gone for good)",
			what);
	return 0;
}
