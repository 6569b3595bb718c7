/* SPDX-License-Identifier: MIT */
/*
 * A token bucket: at most `rate` bytes per second on average, with bursts
 * of at most `burst` bytes. The clock is injected, so a test can drive it
 * without sleeping; a caller passes NULL for the monotonic clock.
 *
 * Usage: before sending n bytes, wait = ratelimit_take(rl, n); sleep wait
 * nanoseconds, then send. Taking more than the bucket holds leaves a debt
 * that later calls wait out, so large writes are limited as well as small.
 */
#pragma once

#include <stdint.h>

typedef uint64_t (*ratelimit_clock_fn)(void *ctx); /* nanoseconds, never going back */

struct ratelimit {
	uint64_t rate; /* bytes per second; 0: no limit */
	uint64_t burst; /* bucket size in bytes */
	int64_t tokens; /* bytes that may go now (negative: debt) */
	uint64_t frac; /* byte-nanoseconds of refill not yet a whole byte (< 1e9) */
	uint64_t last_ns; /* clock at the last refill */
	ratelimit_clock_fn clock;
	void *clock_ctx;
};

/*
 * rate 0 disables the limit. burst 0 picks one tenth of a second's worth
 * (at least 64 KiB). The bucket starts full.
 */
void ratelimit_init(struct ratelimit *rl, uint64_t rate, uint64_t burst, ratelimit_clock_fn clock,
		    void *clock_ctx);

/* Account for n bytes; returns the nanoseconds to wait before sending them. */
uint64_t ratelimit_take(struct ratelimit *rl, uint64_t n);
