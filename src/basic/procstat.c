/* SPDX-License-Identifier: MIT */
#include "procstat.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int read_small(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return 0;
}

int procstat_uptime(double *seconds)
{
	char buf[128];
	int r = read_small("/proc/uptime", buf, sizeof(buf));

	if (r < 0)
		return r;
	return sscanf(buf, "%lf", seconds) == 1 ? 0 : -EIO;
}

uint64_t procstat_hz(void)
{
	long hz = sysconf(_SC_CLK_TCK);

	return hz > 0 ? (uint64_t)hz : 100;
}

int procstat_read(pid_t pid, struct procstat *st)
{
	char path[64], buf[1024], *p;
	unsigned long long utime, stime, start, pages;
	int r;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	r = read_small(path, buf, sizeof(buf));
	if (r < 0)
		return r;
	/* the command name (field 2) may hold blanks and ')': the fields follow its last ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1,
			 " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
			 "%*d %*d %llu",
			 &st->state, &utime, &stime, &start) != 4)
		return -EIO;
	st->utime = utime;
	st->stime = stime;
	st->starttime = start;
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	if (read_small(path, buf, sizeof(buf)) == 0 && sscanf(buf, "%*u %llu", &pages) == 1)
		st->rss_bytes = pages * (uint64_t)sysconf(_SC_PAGESIZE);
	return 0;
}

static void read_meminfo(struct sysstat *st)
{
	char line[256];
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long kb;
		char key[64];

		if (sscanf(line, "%63[^:]: %llu", key, &kb) != 2)
			continue;
		if (strcmp(key, "MemTotal") == 0)
			st->mem_total = kb * 1024;
		else if (strcmp(key, "MemAvailable") == 0)
			st->mem_available = kb * 1024;
		else if (strcmp(key, "SwapTotal") == 0)
			st->swap_total = kb * 1024;
		else if (strcmp(key, "SwapFree") == 0)
			st->swap_free = kb * 1024;
	}
	fclose(f);
}

/* The "cpu" line (all CPUs): busy = everything but idle and iowait; and the "cpuN" count. */
static void read_cpu(struct sysstat *st)
{
	char line[512];
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v[8] = { 0 };

		if (strncmp(line, "cpu ", 4) == 0 &&
		    sscanf(line + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
			   &v[3], &v[4], &v[5], &v[6], &v[7]) >= 4) {
			for (int i = 0; i < 8; i++)
				st->cpu_total += v[i];
			st->cpu_busy = st->cpu_total - v[3] - v[4];
		} else if (strncmp(line, "cpu", 3) == 0 && line[3] >= '0' && line[3] <= '9') {
			st->cpus++;
		}
	}
	fclose(f);
}

int sysstat_read(struct sysstat *st)
{
	char buf[256];
	int r;

	memset(st, 0, sizeof(*st));
	r = read_small("/proc/loadavg", buf, sizeof(buf));
	if (r < 0)
		return r;
	if (sscanf(buf, "%lf %lf %lf", &st->load[0], &st->load[1], &st->load[2]) != 3)
		return -EIO;
	r = procstat_uptime(&st->uptime_s);
	if (r < 0)
		return r;
	read_meminfo(st);
	read_cpu(st);
	return 0;
}
