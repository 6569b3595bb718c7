/* SPDX-License-Identifier: MIT */
/*
 * Moving a volume stream from one descriptor to another, with what a
 * transfer between nodes needs on the way: a token-bucket rate limit,
 * optional zstd, progress reports, and drover's framing.
 *
 * The framing exists so that a receiver never takes a stream for whole
 * when the sender failed: the stream formats themselves (raw+size, btrfs,
 * zfs, rbd-diff) end cleanly at any end of file that falls on a record
 * boundary, and an export that fails after writing its last byte, or a
 * sender killed between records, would otherwise look like success.
 *
 *   "DROVSTR1"                     magic and version (8 bytes)
 *   { le32 n (1..16 MiB), n bytes }  chunks, zstd-compressed when asked
 *   le32 0, le32 status              end: 0 when the sender's export succeeded
 *
 * The receiver holds back the last byte it has decoded until the end
 * record says 0 (and, with zstd, the frame's checksum matched), so a
 * consumer reading the output sees a stream that is cut short whenever
 * anything went wrong, and fails.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "libdrover/error.h"
#include "libdrover/report.h"

#define PUMP_MAGIC "DROVSTR1"
#define PUMP_CHUNK_MAX (16u << 20)

struct pump_opts {
	uint64_t rate; /* bytes per second written to the output (the wire); 0: no limit */
	bool compress; /* send: zstd the input; receive: the input is zstd */
	int level; /* zstd level (0: 1, fast) */
	bool framed; /* send: write the framing; receive: read it */
	uint64_t total; /* stream bytes expected (progress), 0: unknown */
	const struct drover_reporter *rep;
	uint64_t report_ns; /* between progress reports (0: 1 s) */
	/*
	 * When *cancel becomes non-zero (a signal handler's flag, say), the pump
	 * stops at the next chunk and fails with -ECANCELED; the stream is then
	 * cut short, without its end record. NULL: never.
	 */
	const volatile int *cancel;
	/*
	 * Receive: fail with -ETIMEDOUT when the input brings nothing for this
	 * long (the sender or the link is gone without a word: a cut link shows
	 * no end of file). Time spent waiting for the output does not count. 0:
	 * wait forever.
	 */
	unsigned idle_ms;
};

struct pump_stats {
	uint64_t stream_bytes; /* uncompressed stream bytes that went through */
	uint64_t wire_bytes; /* bytes on the compressed/framed side */
	uint64_t elapsed_ns;
};

/* Which side failed, for the caller to name the step. */
enum pump_side {
	PUMP_OK,
	PUMP_INPUT, /* reading in, or what it held (bad framing, bad zstd) */
	PUMP_OUTPUT, /* writing out (the receiver went away: EPIPE) */
	PUMP_SENDER, /* the end record said the sender failed, or there was none */
	PUMP_CANCELLED, /* *cancel was set */
};

/*
 * Send: copy in to out until in ends, compressing and framing as asked.
 * At the end of in, finish(ctx) says whether what wrote in succeeded (0)
 * or not (-errno); that goes into the end record. A failure is returned
 * with *side and err set; out then has no valid end record.
 */
int pump_send(int in, int out, const struct pump_opts *o, int (*finish)(void *ctx), void *ctx,
	      struct pump_stats *st, enum pump_side *side, struct drover_err *err);

/*
 * Receive: copy in to out, reading the framing and decompressing as asked;
 * the last byte goes out only once the stream proved whole (see above).
 */
int pump_recv(int in, int out, const struct pump_opts *o, struct pump_stats *st,
	      enum pump_side *side, struct drover_err *err);
