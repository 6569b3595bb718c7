/* SPDX-License-Identifier: MIT */
/* Shared helpers for the unit tests of corosync.conf handling (test_cluster, test_qdevice). */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "libdrover/format/corosync_conf.h"

/* text parsed; the test fails with the parser's line and reason if it does not parse. */
static inline struct cc_node *parse_text(const char *text)
{
	struct cc_error err;
	struct cc_node *root = cc_parse(text, strlen(text), &err);

	if (!root)
		fail_msg("cc_parse: line %u: %s", err.line, err.text);
	return root;
}
