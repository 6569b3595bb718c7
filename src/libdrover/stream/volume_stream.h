/* SPDX-License-Identifier: MIT */
/*
 * A volume exported to, or imported from, a descriptor through the pump:
 * the plugin's export (or import) runs in a thread on one end of a pipe,
 * the pump on the other moves, counts, limits, (de)compresses and frames
 * the stream. `drover storage export/import` and both ends of
 * storage_copy() use these two.
 */
#pragma once

#include "libdrover/storage/storage.h"
#include "pump.h"

/* On failure *side (if given) says whether the export (PUMP_SENDER) or out failed. */
int stream_export(const struct storage_env *env, const char *volid, enum storage_format fmt,
		  const struct storage_export_opts *eo, int out, const struct pump_opts *po,
		  struct pump_stats *st, enum pump_side *side, struct drover_err *err);

/*
 * stream_export() into a new file at path (refused when it exists), synced
 * to disk: the stream is whole there, or the file is removed, so that no
 * half stream is left for someone to import.
 */
int stream_export_file(const struct storage_env *env, const char *volid, enum storage_format fmt,
		       const struct storage_export_opts *eo, const char *path,
		       const struct pump_opts *po, struct pump_stats *st, struct drover_err *err);

/*
 * Import from in. A stream that proves broken (cut short, the sender's
 * failure in the framing, a bad checksum) leaves nothing behind: the
 * plugin never sees its last byte and removes what it made.
 */
int stream_import(const struct storage_env *env, const char *volid, enum storage_format fmt,
		  const struct storage_import_opts *io, int in, const struct pump_opts *po,
		  char *imported, size_t len, struct pump_stats *st, struct drover_err *err);
