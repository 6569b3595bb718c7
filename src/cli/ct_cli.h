/* SPDX-License-Identifier: MIT */
/* drover ct: what its command files share (cmd_ct.c: the group and the operations; ct_show.c: output). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "libdrover/guest/lxc/ct.h"

#define CT_CLI_KV_MAX 64

/* A command line of `drover ct VERB`: positionals, config keys and the verb's own options. */
struct ct_args {
	uint32_t ctid;
	const char *pos[2]; /* after CTID: TEMPLATE, NAME */
	unsigned npos;
	struct ct_kv kv[CT_CLI_KV_MAX];
	size_t nkv;
	const char *del, *digest, *snapshot, *storage, *name;
	unsigned timeout_s;
	bool force_stop, current, verbose, json, purge;
	char **cmd; /* exec: what comes after "--" */
};

/*
 * Parse argv of verb: CTID first (unless want_ctid is false), up to
 * max_pos more positionals, then options. Options the verb does not take
 * are refused; with keys, any other --KEY VALUE is a config key (checked
 * later against the schema). Prints the error; returns 0 or -EINVAL.
 */
int ct_parse(const char *verb, int argc, char **argv, bool want_ctid, unsigned max_pos, bool keys,
	     struct ct_args *a);

/* Output commands (ct_show.c). */
int ct_cmd_config(struct cli_context *ctx, int argc, char **argv);
int ct_cmd_list(struct cli_context *ctx, int argc, char **argv);
int ct_cmd_status(struct cli_context *ctx, int argc, char **argv);
int ct_cmd_listsnapshot(struct cli_context *ctx, int argc, char **argv);
