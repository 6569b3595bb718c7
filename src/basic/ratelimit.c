/* SPDX-License-Identifier: MIT */
#include "ratelimit.h"

#include "util.h"

#define NS_PER_S 1000000000ull
#define MIN_BURST (64u * 1024)

static uint64_t monotonic_clock(void *ctx)
{
	(void)ctx;
	return now_monotonic_ns();
}

void ratelimit_init(struct ratelimit *rl, uint64_t rate, uint64_t burst, ratelimit_clock_fn clock,
		    void *clock_ctx)
{
	rl->rate = rate;
	if (!burst)
		burst = rate / 10 > MIN_BURST ? rate / 10 : MIN_BURST;
	rl->burst = burst > INT64_MAX ? INT64_MAX : burst;
	rl->tokens = (int64_t)rl->burst;
	rl->frac = 0;
	rl->clock = clock ? clock : monotonic_clock;
	rl->clock_ctx = clock ? clock_ctx : NULL;
	rl->last_ns = rl->clock(rl->clock_ctx);
}

/* Add what the time since the last call earned, up to a full bucket. */
static void refill(struct ratelimit *rl)
{
	uint64_t now = rl->clock(rl->clock_ctx);
	unsigned __int128 earned;
	__int128 tokens;

	if (now <= rl->last_ns)
		return;
	earned = (unsigned __int128)(now - rl->last_ns) * rl->rate + rl->frac;
	rl->last_ns = now;
	rl->frac = (uint64_t)(earned % NS_PER_S);
	tokens = (__int128)rl->tokens + (__int128)(earned / NS_PER_S);
	if (tokens >= (__int128)rl->burst) {
		/* a full bucket earns no more */
		rl->tokens = (int64_t)rl->burst;
		rl->frac = 0;
	} else {
		rl->tokens = (int64_t)tokens;
	}
}

uint64_t ratelimit_take(struct ratelimit *rl, uint64_t n)
{
	unsigned __int128 owed;

	if (!rl->rate)
		return 0;
	refill(rl);
	if (n > (uint64_t)INT64_MAX / 2)
		n = (uint64_t)INT64_MAX / 2;
	rl->tokens -= (int64_t)n;
	if (rl->tokens >= 0)
		return 0;
	/* the debt, less the fraction of a byte already earned, at rate bytes/s */
	owed = (unsigned __int128)(-rl->tokens) * NS_PER_S - rl->frac;
	return (uint64_t)((owed + rl->rate - 1) / rl->rate);
}
