/* SPDX-License-Identifier: MIT */
/* drover vm: what its files share (cmd_vm.c: the table and verbs, vm_show.c: output, vm_console.c). */
#pragma once

#include <stdint.h>

#include "cli.h"
#include "libdrover/guest/vm.h"

/* "drover vm CMD: ..." and CLI_EXIT_USAGE. */
int vm_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* VMID from text, or a usage error (-EINVAL). */
int vm_parse_vmid(const char *cmd, const char *text, uint32_t *vmid);

/* Open the environment for ctx (error printed). */
int vm_open(struct cli_context *ctx, struct vm_env *e);

int vm_cmd_config(struct cli_context *ctx, int argc, char **argv);
int vm_cmd_list(struct cli_context *ctx, int argc, char **argv);
int vm_cmd_showcmd(struct cli_context *ctx, int argc, char **argv);
int vm_cmd_status(struct cli_context *ctx, int argc, char **argv);
int vm_cmd_listsnapshot(struct cli_context *ctx, int argc, char **argv);
int vm_cmd_terminal(struct cli_context *ctx, int argc, char **argv);
int vm_cmd_monitor(struct cli_context *ctx, int argc, char **argv);
