/* SPDX-License-Identifier: MIT */
/*
 * Wall-clock times as signed 64-bit nanoseconds since the epoch: one
 * integer, so it is compared, hashed and encoded as one. The range is
 * 1677-09-21 to 2262-04-11; times outside are clamped to it, as the kernel
 * clamps times to the range of the file system that stores them.
 */
#pragma once

#include <stdint.h>
#include <time.h>

#define NSEC_PER_SEC 1000000000LL

/* The wall clock now. */
int64_t now_wall_ns(void);

/* ts (tv_nsec in 0..999999999) as nanoseconds, clamped to the range. */
int64_t nstime_from_timespec(const struct timespec *ts);

/* Whole seconds as nanoseconds, clamped to the range. */
int64_t nstime_from_s(int64_t s);

/* The seconds (rounded down, also before 1970) and the nanoseconds 0..999999999. */
struct timespec nstime_to_timespec(int64_t ns);
