/* SPDX-License-Identifier: MIT */
/*
 * Running a storage tool (btrfs, qemu-img, zfs, lvcreate ...) and turning
 * its failure into an error that names it: "btrfs receive exited with 1:
 * ERROR: ...". Arguments go to the program as they are: no shell.
 */
#pragma once

#include "basic/buf.h"
#include "libdrover/error.h"

/*
 * Run argv with stdin from in (-1: /dev/null); its stdout into out (NULL:
 * dropped). 0 when it exited with 0, else -EIO (or -errno if it could
 * not run) with err naming argv[0] argv[1], how it ended and its stderr.
 */
int storage_run(char *const argv[], int in, struct buf *out, struct drover_err *err);

/*
 * Run argv with its stdout on fd (a stream: btrfs send, zfs send), its
 * stderr kept for the error. 0 when it exited with 0, else as above.
 */
int storage_run_to(char *const argv[], int fd, struct drover_err *err);

/* The error of a finished child: "NAME exited with N: STDERR". Returns r. */
int storage_run_fail(struct drover_err *err, int r, char *const argv[], int status, int errfd);
