/* SPDX-License-Identifier: MIT */
/* drover replication: the commands of the group, and what they share. */
#pragma once

#include <stdint.h>

#include "cli.h"
#include "libdrover/replication/config.h"

extern const struct cli_command repl_create_cmd;
extern const struct cli_command repl_update_cmd;
extern const struct cli_command repl_delete_cmd;
extern const struct cli_command repl_enable_cmd;
extern const struct cli_command repl_disable_cmd;
extern const struct cli_command repl_list_cmd;
extern const struct cli_command repl_read_cmd;
extern const struct cli_command repl_status_cmd;
extern const struct cli_command repl_run_cmd;
extern const struct cli_command repl_schedule_now_cmd;
extern const struct cli_command repl_log_cmd;
extern const struct cli_command repl_metrics_cmd;
extern const struct cli_command repl_prepare_cmd;
extern const struct cli_command repl_finalize_cmd;
extern const struct cli_command repl_set_state_cmd;

/* A job ID argument; prints the error. */
int repl_cli_jobid(const char *arg, uint32_t *guest, uint32_t *jobnum);

/* replication.cfg from droverfs (ctx's socket); prints the error. */
int repl_cli_cfg(struct cli_context *ctx, struct cfs_brief *b, struct repl_cfg *cfg);
