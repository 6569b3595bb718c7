/* SPDX-License-Identifier: MIT */
/* What the parts of the QEMU command line builder share. */
#pragma once

#include <stdbool.h>

#include "basic/strv.h"
#include "cmdline.h"
#include "libdrover/format/guest_options.h"
#include "runtime.h"

struct qemu_build {
	struct strv argv;
	const struct qemu_cmdline_opts *o;
	struct guest_section *cur;
	uint32_t vmid;
	struct qemu_paths paths;
	struct guest_boot boot;
	bool q35;
	bool kvm;
	struct drover_err *err;
};

/* Append arguments (NULL-terminated); on ENOMEM fail with a message. */
int qb_add(struct qemu_build *b, ...) __attribute__((sentinel));
int qb_addf(struct qemu_build *b, const char *opt, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A value for a QEMU option list: ',' doubled. The result lives in buf. */
const char *qb_escape(const char *value, char *buf, size_t len);

/* The bootindex of a device key: 100 + its place in boot order=, or -1. */
int qb_bootindex(const struct qemu_build *b, const char *key);

int qb_drives(struct qemu_build *b);
int qb_nics(struct qemu_build *b);
int qb_serials(struct qemu_build *b);
int qb_agent(struct qemu_build *b);
