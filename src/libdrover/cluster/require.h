/* SPDX-License-Identifier: MIT */
/*
 * What an operation needs before it starts, as flags (git's RUN_SETUP):
 * a front end checks them once, before the operation runs, and hands the
 * operation droverfs's state. The operations document which flags they
 * assume and do not check them again.
 */
#pragma once

#include "cfs.h"

enum drover_need {
	DROVER_NEED_ROOT = 1u << 0, /* it changes this node: only root may */
	DROVER_NEED_CFS = 1u << 1, /* droverfs answers; its state is handed over */
	DROVER_NEED_CLUSTER = 1u << 2, /* this node is in a cluster (implies CFS) */
	DROVER_NEED_QUORATE = 1u << 3, /* the tree is writable: quorate and in sync (implies CFS) */
};

/*
 * Check needs (DROVER_NEED_* bits) for the operation `what` ("cluster
 * delnode", for the messages). socket: droverfs's IPC socket (NULL: the
 * default). b receives droverfs's state when any flag asks for droverfs.
 * Returns 0, or -EPERM, -ENOENT, -ECONNREFUSED ..., -ENOTCONN (no
 * cluster) or -EACCES (no quorum) with err saying what to do.
 */
int drover_require(unsigned needs, const char *what, const char *socket, struct cfs_brief *b,
		   struct drover_err *err);
