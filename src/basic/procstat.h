/* SPDX-License-Identifier: MIT */
/*
 * What /proc says about a process and about the machine, for status
 * reports: CPU time, start time, resident memory, load, memory, uptime.
 * Cheap: a few small reads, no process spawned.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

struct procstat {
	char state; /* 'R', 'S', 'Z', ... */
	uint64_t utime, stime; /* clock ticks */
	uint64_t starttime; /* clock ticks since boot */
	uint64_t rss_bytes;
};

/* /proc/PID/stat and statm. Returns 0 or -errno (-ESRCH: no such process). */
int procstat_read(pid_t pid, struct procstat *st);

/* Seconds since boot (/proc/uptime). Returns 0 or -errno. */
int procstat_uptime(double *seconds);

/* Clock ticks per second (sysconf(_SC_CLK_TCK)). */
uint64_t procstat_hz(void);

struct sysstat {
	double load[3];
	uint64_t mem_total, mem_available; /* bytes */
	uint64_t swap_total, swap_free;
	double uptime_s;
	uint64_t cpu_busy, cpu_total; /* clock ticks of all CPUs since boot (/proc/stat "cpu") */
	unsigned cpus;
};

/* The machine's load, memory, uptime and CPU counters. Returns 0 or -errno. */
int sysstat_read(struct sysstat *st);
