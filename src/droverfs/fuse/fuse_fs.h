/* SPDX-License-Identifier: MIT */
/* The FUSE side of droverfs: mounting, the request handlers, kernel cache upkeep. */
#pragma once

#include "droverfs/shell/context.h"
#include "droverfs/core/state.h"

/* Mount at d->opt.mountpoint and start serving on d->event. Returns 0 or -errno. */
int cfs_fuse_start(struct cfs_daemon *d, struct cfs_fuse **out);

/* Unmount and stop. */
void cfs_fuse_stop(struct cfs_fuse *f);
