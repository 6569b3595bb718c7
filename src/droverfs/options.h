/* SPDX-License-Identifier: MIT */
/* droverfs command line. */
#pragma once

#include "droverfs/shell/context.h"

#define CFS_DEFAULT_MOUNT "/etc/drover"
#define CFS_DEFAULT_DB "/var/lib/drover/config.db"

/*
 * Parse argv into opt. Returns 0 to run, 1 when it printed --help or
 * --version (exit 0), or -EINVAL after printing what is wrong (exit 2).
 */
int cfs_options_parse(int argc, char **argv, struct cfs_options *opt);
