// SPDX-License-Identifier: MIT
/*
 * cluster_probe: the node-side helper of bench/run-cluster-bench (the
 * 3-node droverfs benchmark). Runs inside a sandbox node.
 *
 *	cluster_probe write DIR -n N [-s SIZE] [-i INTERVAL_US] [--sync]
 *		Creates DIR/p0000000 .. DIR/pN-1 one after the other
 *		(open(O_CREAT|O_EXCL) + write SIZE bytes + close), sleeping
 *		INTERVAL_US between them (with --sync: reading a line from stdin
 *		before each file instead). One line per file on stdout:
 *		"w I T_OPEN_NS T_CLOSED_NS" (CLOCK_REALTIME).
 *
 *	cluster_probe wait DIR -n N [-s SIZE] [-p POLL_US] [-t TIMEOUT_S] [--read]
 *		For I = 0 .. N-1 in turn: stat(DIR/pI) every POLL_US until it
 *		exists with SIZE bytes, then (to be sure it is readable) reads
 *		it and checks the size read. With --read it polls with
 *		open + read instead of stat (a file system that keeps stale
 *		attributes, as pmxcfs does for a second, is measured by when its
 *		data can be read). One line per file on stdout:
 *		"r I T_EXISTS_NS T_SEEN_NS FIRST PARTIAL": when a stat first found
 *		the file (any size), when with SIZE bytes; FIRST is 1 if the very
 *		first stat already found it (the sample is then meaningless: the file
 *		came before the waiter looked) and PARTIAL counts the stats that
 *		found the file with another size. Prints "ready" first. Exits 1 if a file does not come
 *		within TIMEOUT_S (default 30) of the previous one.
 *
 *	cluster_probe mutate DIR -n N [-s SIZE] [-w WRITERS] [--tag TAG]
 *		N changes spread over the existing tree DIR (files directly in
 *		DIR and in its subdirectories, one level): change k is an
 *		overwrite (open(O_TRUNC) + write SIZE bytes + close) of an
 *		existing file if k % 3 == 0, the creation of a new file
 *		SUBDIR/TAG-k if k % 3 == 1, the removal of an existing file if
 *		k % 3 == 2. The files overwritten and removed are distinct and
 *		spread evenly over the sorted list of files. WRITERS processes
 *		share the changes. Prints one line of JSON.
 *
 * Both sides of write/wait stamp with CLOCK_REALTIME: sandbox nodes share
 * the host's kernel, so their clocks are the same clock.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/array.h"
#include "basic/process.h"

#define MAX_WRITERS 256

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("cluster_probe: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	if (clock_gettime(clk, &ts) != 0)
		die("clock_gettime: %s", strerror(errno));
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static long num_arg(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || v < min || v > max)
		die("%s: '%s' is not a number from %ld to %ld", opt, s, min, max);
	/* 1K, 4K: sizes in KiB */
	if (*end == 'K' && end[1] == '\0')
		return v * 1024;
	if (*end)
		die("%s: '%s' is not a number", opt, s);
	return v;
}

static void write_file(const char *path, const char *buf, size_t size, int flags)
{
	int fd = open(path, O_WRONLY | flags, 0640);
	size_t done = 0;

	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	while (done < size) {
		ssize_t w = write(fd, buf + done, size - done);

		if (w < 0)
			die("write %s: %s", path, strerror(errno));
		done += (size_t)w;
	}
	if (close(fd) != 0)
		die("close %s: %s", path, strerror(errno));
}

static void do_write(const char *dir, long n, size_t size, long interval_us, bool sync)
{
	char *buf = malloc(size + 1);
	char path[4096];

	if (!buf)
		die("out of memory");
	memset(buf, 'p', size);
	for (long i = 0; i < n; i++) {
		int64_t t0, t1;

		snprintf(path, sizeof(path), "%s/p%07ld", dir, i);
		if (sync) {
			char line[64];

			if (!fgets(line, sizeof(line), stdin))
				break; /* the driver is done */
		}
		t0 = now_ns(CLOCK_REALTIME);
		write_file(path, buf, size, O_CREAT | O_EXCL);
		t1 = now_ns(CLOCK_REALTIME);
		printf("w %ld %lld %lld\n", i, (long long)t0, (long long)t1);
		fflush(stdout);
		if (interval_us > 0 && i + 1 < n)
			sleep_us(interval_us);
	}
	free(buf);
}

/* open + read: the size of what a reader gets now, -1 if the file is not there. */
static ssize_t read_size(const char *path, char *buf, size_t cap)
{
	ssize_t r = 0, total = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		if (errno != ENOENT)
			die("open %s: %s", path, strerror(errno));
		return -1;
	}
	while ((size_t)total < cap && (r = read(fd, buf + total, cap - (size_t)total)) > 0)
		total += r;
	if (r < 0)
		die("read %s: %s", path, strerror(errno));
	close(fd);
	return total;
}

static void do_wait(const char *dir, long n, size_t size, long poll_us, long timeout_s,
		    bool by_read)
{
	char *buf = malloc(size + 2);
	char path[4096];

	if (!buf)
		die("out of memory");
	printf("ready\n");
	fflush(stdout);
	for (long i = 0; i < n; i++) {
		int64_t start = now_ns(CLOCK_MONOTONIC), seen, exist = 0;
		bool first = true;
		long partial = 0;
		struct stat st;
		ssize_t r;
		int fd;

		snprintf(path, sizeof(path), "%s/p%07ld", dir, i);
		for (;;) {
			if (by_read) {
				ssize_t got = read_size(path, buf, size + 1);

				if (got >= 0 && !exist)
					exist = now_ns(CLOCK_REALTIME);
				if (got == (ssize_t)size)
					break;
				partial += got >= 0;
			} else if (stat(path, &st) == 0) {
				if (!exist)
					exist = now_ns(CLOCK_REALTIME);
				if ((size_t)st.st_size == size)
					break;
				partial++;
			} else if (errno != ENOENT) {
				die("stat %s: %s", path, strerror(errno));
			}
			if (now_ns(CLOCK_MONOTONIC) - start > (int64_t)timeout_s * 1000000000)
				die("%s did not appear (with %zu bytes) within %ld s", path, size,
				    timeout_s);
			first = false;
			sleep_us(poll_us);
		}
		seen = now_ns(CLOCK_REALTIME);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			die("open %s: %s", path, strerror(errno));
		r = read(fd, buf, size + 1);
		if (r < 0)
			die("read %s: %s", path, strerror(errno));
		if ((size_t)r != size)
			die("read %s: %zd bytes, stat said %zu", path, r, size);
		close(fd);
		printf("r %ld %lld %lld %d %ld\n", i, (long long)exist, (long long)seen,
		       first ? 1 : 0, partial);
		fflush(stdout);
	}
	free(buf);
}

struct file_list {
	char **paths;
	size_t n, cap;
};

static void list_add(struct file_list *l, const char *path)
{
	if (ARRAY_GROW(l->paths, l->cap, l->n + 1) < 0)
		die("out of memory");
	l->paths[l->n] = strdup(path);
	if (!l->paths[l->n])
		die("out of memory");
	l->n++;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular files of dir into files, subdirectories into dirs (if not NULL). */
static void scan(const char *dir, struct file_list *files, struct file_list *dirs)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096];

	if (!d)
		die("opendir %s: %s", dir, strerror(errno));
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (de->d_type == DT_REG)
			list_add(files, path);
		else if (de->d_type == DT_DIR && dirs)
			list_add(dirs, path);
	}
	if (errno)
		die("readdir %s: %s", dir, strerror(errno));
	closedir(d);
}

static void do_mutate(const char *dir, long n, size_t size, int writers, const char *tag)
{
	struct file_list files = { 0 }, dirs = { 0 };
	long m = n - n / 3; /* changes that touch an existing file: k%3 == 0 or 2 */
	char *buf = malloc(size);
	int64_t t0, t1;
	pid_t pids[MAX_WRITERS];
	int failed = 0;

	if (!buf)
		die("out of memory");
	memset(buf, 'm', size);
	scan(dir, &files, &dirs);
	qsort(dirs.paths, dirs.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < dirs.n; i++)
		scan(dirs.paths[i], &files, NULL);
	qsort(files.paths, files.n, sizeof(char *), cmp_str);
	if ((size_t)m > files.n)
		die("%ld changes need %ld existing files, %s has %zu", n, m, dir, files.n);

	t0 = now_ns(CLOCK_MONOTONIC);
	for (int w = 0; w < writers; w++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			char path[4096];

			for (long k = w; k < n; k += writers) {
				/* the j-th change that touches an existing file */
				long j = (k / 3) * 2 + (k % 3 == 2 ? 1 : 0);
				const char *victim = files.paths[(size_t)j * files.n / (size_t)m];

				switch (k % 3) {
				case 0:
					write_file(victim, buf, size, O_TRUNC);
					break;
				case 1:
					snprintf(path, sizeof(path), "%s/%s-%ld",
						 dirs.n ? dirs.paths[(size_t)k % dirs.n] : dir, tag,
						 k);
					write_file(path, buf, size, O_CREAT | O_EXCL);
					break;
				default:
					if (unlink(victim) != 0)
						die("unlink %s: %s", victim, strerror(errno));
				}
			}
			_exit(0);
		}
		pids[w] = pid;
	}
	for (int w = 0; w < writers; w++) {
		if (process_wait(pids[w]) != 0)
			failed = 1;
	}
	t1 = now_ns(CLOCK_MONOTONIC);
	if (failed)
		die("a writer failed");
	printf("{\"mode\":\"mutate\",\"dir\":\"%s\",\"changes\":%ld,\"overwrites\":%ld,"
	       "\"creates\":%ld,\"removes\":%ld,\"files_before\":%zu,\"writers\":%d,"
	       "\"elapsed_s\":%.6f,\"ops_per_s\":%.1f}\n",
	       dir, n, (n + 2) / 3, (n + 1) / 3, n / 3, files.n, writers, (t1 - t0) / 1e9,
	       n / ((t1 - t0) / 1e9));
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "interval-us", required_argument, NULL, 'i' },
		{ "poll-us", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "writers", required_argument, NULL, 'w' },
		{ "tag", required_argument, NULL, 'T' },
		{ "sync", no_argument, NULL, 'S' },
		{ "read", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	long n = 100, size = 1024, interval_us = 20000, poll_us = 100, timeout_s = 30;
	int writers = 1, c;
	bool sync = false, by_read = false;
	const char *tag = "m";

	while ((c = getopt_long(argc, argv, "n:s:i:p:t:w:T:", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			n = num_arg("--count", optarg, 1, 100000000);
			break;
		case 's':
			size = num_arg("--size", optarg, 1, 4 * 1024 * 1024);
			break;
		case 'i':
			interval_us = num_arg("--interval-us", optarg, 0, 10000000);
			break;
		case 'p':
			poll_us = num_arg("--poll-us", optarg, 0, 1000000);
			break;
		case 't':
			timeout_s = num_arg("--timeout", optarg, 1, 3600);
			break;
		case 'w':
			writers = (int)num_arg("--writers", optarg, 1, MAX_WRITERS);
			break;
		case 'T':
			tag = optarg;
			break;
		case 'S':
			sync = true;
			break;
		case 'R':
			by_read = true;
			break;
		default:
			fprintf(stderr,
				"usage: cluster_probe write|wait|mutate DIR [-n N] [-s SIZE] "
				"[-i INTERVAL_US] [-p POLL_US] [-t TIMEOUT_S] [-w WRITERS] "
				"[--tag TAG] [--sync] [--read]\n");
			return 2;
		}
	}
	if (argc - optind != 2)
		die("need a mode (write, wait, mutate) and a directory");
	if (strcmp(argv[optind], "write") == 0)
		do_write(argv[optind + 1], n, (size_t)size, sync ? 0 : interval_us, sync);
	else if (strcmp(argv[optind], "wait") == 0)
		do_wait(argv[optind + 1], n, (size_t)size, poll_us, timeout_s, by_read);
	else if (strcmp(argv[optind], "mutate") == 0)
		do_mutate(argv[optind + 1], n, (size_t)size, writers, tag);
	else
		die("unknown mode '%s' (write, wait, mutate)", argv[optind]);
	return 0;
}
