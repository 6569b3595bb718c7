/* SPDX-License-Identifier: MIT */
/* The `drover storage` commands (pvesm's verbs), one file per family. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "libdrover/report.h"
#include "libdrover/storage/storage.h"

/* configuration: storage_cfg_cmds.c */
extern const struct cli_command storage_status_cmd;
extern const struct cli_command storage_config_cmd;
extern const struct cli_command storage_add_cmd;
extern const struct cli_command storage_set_cmd;
extern const struct cli_command storage_remove_cmd;
/* volumes: storage_vol_cmds.c */
extern const struct cli_command storage_list_cmd;
extern const struct cli_command storage_alloc_cmd;
extern const struct cli_command storage_free_cmd;
extern const struct cli_command storage_path_cmd;
extern const struct cli_command storage_resize_cmd;
extern const struct cli_command storage_snapshot_cmd;
extern const struct cli_command storage_delsnapshot_cmd;
extern const struct cli_command storage_rollback_cmd;
extern const struct cli_command storage_snapshots_cmd;
extern const struct cli_command storage_sweep_cmd;
/* streams: storage_stream_cmds.c */
extern const struct cli_command storage_export_cmd;
extern const struct cli_command storage_import_cmd;
extern const struct cli_command storage_copy_cmd;

/* droverfs and storage.cfg, or an error printed (naming storage.cfg:LINE). */
int storage_cli_env(struct cli_context *ctx, struct storage_env *env);

/* Print a JSON value (pretty when 2) to stdout and free it. */
void storage_cli_print_json(void *json_object, int mode);

/* A size: bytes, or with K/M/G/T (KiB...). -1 (printed) when bad. */
int storage_cli_size(const char *opt, const char *s, uint64_t *out);

/*
 * The progress of a transfer for the user, on stderr: a progress line
 * redrawn on a terminal, a log line every 10 s otherwise. quiet: only
 * log lines (no byte reports).
 */
struct storage_progress {
	struct drover_reporter rep;
	bool tty;
	bool drawn; /* a progress line is on the terminal */
	uint64_t last_log_ns;
};
void storage_progress_init(struct storage_progress *p);
/* End a progress line that is on the terminal. */
void storage_progress_done(struct storage_progress *p);

/* "12.3 MiB/s" etc. */
void storage_cli_rate(uint64_t bytes_per_s, char *out, size_t len);
