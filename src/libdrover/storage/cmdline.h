/* SPDX-License-Identifier: MIT */
/*
 * An argument vector built piece by piece, with its strings kept inside it:
 * the command lines of the zfs and lvm plugins are made by functions that
 * a unit test can call and compare ("zfs create -s -V 1073741824 tank/vm-100-disk-0").
 */
#pragma once

#include <stddef.h>

#include "basic/buf.h"
#include "libdrover/error.h"

#define CMDLINE_ARGS 96
#define CMDLINE_BYTES 4096

struct cmdline {
	char *argv[CMDLINE_ARGS + 1];
	size_t argc;
	char store[CMDLINE_BYTES];
	size_t used;
	int error; /* -E2BIG once something did not fit: sticky */
};

void cmdline_init(struct cmdline *c);
/* Append one argument (printf-like). */
void cmdline_add(struct cmdline *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The arguments joined by spaces (for tests and error messages). */
void cmdline_join(const struct cmdline *c, char *out, size_t len);

/* storage_run() of the command line (refused if it did not fit). */
int cmdline_run(const struct cmdline *c, int in, struct buf *out, struct drover_err *err);
