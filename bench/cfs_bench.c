// SPDX-License-Identifier: MIT
/*
 * cfs_bench: a file system load generator for droverfs (and, for
 * comparison, any other directory: tmpfs, ext4).
 *
 *	cfs_bench MODE DIR [options]
 *
 * Modes (one operation = what is timed):
 *	create   open(O_CREAT|O_EXCL) + write SIZE bytes + close, of N new files
 *	save     the Proxmox save pattern: open("T.tmp.PID", O_CREAT|O_EXCL) +
 *		 write + close + rename("T.tmp.PID", "T"), N saves over N files
 *		 (or, with --one-file, N saves of one file: DIR/x, or xW per writer)
 *	read     open(O_RDONLY) + read to the end + close, of N existing files
 *		 of SIZE bytes (as left by `create` with the same -n/--dirs)
 *	chunked  open(O_CREAT|O_EXCL) + SIZE bytes in CHUNK-byte write()s +
 *		 close, of N new files
 *	overwrite open(O_TRUNC) + write SIZE bytes + close, of N existing files
 *		 (as left by `create` with the same -n/--dirs); each overwrite
 *		 writes content other than the file's
 *
 * create, save and overwrite write SIZE bytes with one write(), or in
 * CHUNK-byte write()s if -c is given.
 *
 * The N operations are shared by W writer processes (fork); each works on
 * its own files (file i is DIR/fNNNNNNN, or DIR/dNNNN/fNNNNNNN with --dirs,
 * directory i % DIRS). Writers start together, each timing every operation
 * with CLOCK_MONOTONIC into a shared array. The result is ONE line of JSON
 * on stdout: operations per second over the wall time from the first start
 * to the last end, and per-operation latency percentiles in microseconds.
 * Every system call is checked; any failure is reported on stderr and the
 * exit status is 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/process.h"

#define MAX_WRITERS 256
#define MAX_DIRS 100000
#define PATTERN 26 /* the content: letters, a..z again and again */

enum mode { MODE_CREATE, MODE_SAVE, MODE_READ, MODE_CHUNKED, MODE_OVERWRITE, MODE_COUNT };

static const char *const mode_names[] = {
	[MODE_CREATE] = "create",   [MODE_SAVE] = "save",	    [MODE_READ] = "read",
	[MODE_CHUNKED] = "chunked", [MODE_OVERWRITE] = "overwrite",
};

struct opts {
	enum mode mode;
	const char *dir;
	long count; /* operations */
	size_t size; /* bytes per file */
	size_t chunk; /* bytes per write(); 0: all in one (chunked: 4 KiB) */
	int writers;
	long dirs; /* 0: files directly in dir */
	bool one_file; /* save: every save replaces the same file */
	const char *label;
};

/* Shared between the parent and the writers (MAP_SHARED). */
struct writer_times {
	uint64_t start_ns;
	uint64_t end_ns;
};

static const char *prog = "cfs_bench";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	char msg[PATH_MAX + 256];
	int n = snprintf(msg, sizeof(msg), "%s: ", prog);
	va_list ap;

	/* One write(), so that messages of several writers do not mix. */
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(msg);
	msg[n++] = '\n';
	if (write(STDERR_FILENO, msg, (size_t)n) < 0) {
		/* Nothing left to report to. */
	}
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		die("clock_gettime: %s", strerror(errno));
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: cfs_bench MODE DIR [OPTIONS]\n"
		   "\n"
		   "MODE: create | save | read | chunked | overwrite (see bench/README.md)\n"
		   "\n"
		   "  -n, --count N      operations (files, saves, reads; default 1000)\n"
		   "  -s, --size N       bytes per file, K/M suffixes allowed (default 1K)\n"
		   "  -c, --chunk N      bytes per write() (default: all at once; chunked: 4K)\n"
		   "  -w, --writers N    concurrent writer processes (default 1)\n"
		   "  -d, --dirs N       spread the files over N subdirectories of DIR\n"
		   "      --one-file     save: all saves replace one file (one per writer)\n"
		   "      --label TEXT   copied into the JSON result\n"
		   "  -h, --help         this help\n"
		   "\n"
		   "Prints one line of JSON: ops_per_s, p50_us, p99_us, ...\n");
}

static bool parse_num(const char *s, long min, long max, long *out)
{
	char *end;
	long long v, mult = 1;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s)
		return false;
	if (*end == 'K' || *end == 'k')
		mult = 1024, end++;
	else if (*end == 'M' || *end == 'm')
		mult = 1024 * 1024, end++;
	if (*end == 'i' && mult > 1 && end[1] == 'B')
		end += 2;
	if (*end || v < 0 || v > LLONG_MAX / mult)
		return false;
	v *= mult;
	if (v < min || v > max)
		return false;
	*out = (long)v;
	return true;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	enum { OPT_ONE_FILE = 256, OPT_LABEL };
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "writers", required_argument, NULL, 'w' },
		{ "dirs", required_argument, NULL, 'd' },
		{ "one-file", no_argument, NULL, OPT_ONE_FILE },
		{ "label", required_argument, NULL, OPT_LABEL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	int c;

	*o = (struct opts){ .count = 1000, .size = 1024, .writers = 1, .label = "" };
	while ((c = getopt_long(argc, argv, "n:s:c:w:d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!parse_num(optarg, 1, 100000000, &o->count))
				die("--count: '%s' is not a number from 1 to 100000000", optarg);
			break;
		case 's':
			if (!parse_num(optarg, 0, 1L << 30, &v))
				die("--size: '%s' is not a size up to 1 GiB", optarg);
			o->size = (size_t)v;
			break;
		case 'c':
			if (!parse_num(optarg, 1, 1L << 30, &v))
				die("--chunk: '%s' is not a size from 1 byte to 1 GiB", optarg);
			o->chunk = (size_t)v;
			break;
		case 'w':
			if (!parse_num(optarg, 1, MAX_WRITERS, &v))
				die("--writers: '%s' is not a number from 1 to %d", optarg,
				    MAX_WRITERS);
			o->writers = (int)v;
			break;
		case 'd':
			if (!parse_num(optarg, 0, MAX_DIRS, &o->dirs))
				die("--dirs: '%s' is not a number from 0 to %d", optarg, MAX_DIRS);
			break;
		case OPT_ONE_FILE:
			o->one_file = true;
			break;
		case OPT_LABEL:
			o->label = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		exit(2);
	}
	o->mode = MODE_COUNT;
	for (int i = 0; i < MODE_COUNT; i++)
		if (strcmp(argv[optind], mode_names[i]) == 0)
			o->mode = (enum mode)i;
	if (o->mode == MODE_COUNT)
		die("unknown mode '%s' (create, save, read, chunked, overwrite)", argv[optind]);
	o->dir = argv[optind + 1];
	if (o->mode == MODE_CHUNKED && o->chunk == 0)
		o->chunk = 4096;
	if (o->one_file && o->mode != MODE_SAVE)
		die("--one-file is for the save mode");
	if (o->writers > o->count)
		die("more writers (%d) than operations (%ld)", o->writers, o->count);
}

static void path_fmt(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* snprintf that fails loudly instead of truncating. */
static void path_fmt(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		die("path too long (%s...)", out);
}

/* Directory of file i ("" or "/dNNNN"), relative to opts.dir. */
static void file_dir(const struct opts *o, long i, char *out, size_t len)
{
	if (o->dirs > 0)
		path_fmt(out, len, "%s/d%04ld", o->dir, i % o->dirs);
	else
		path_fmt(out, len, "%s", o->dir);
}

/* File i; with --one-file, i is the writer: "x" (or "xW" with several writers). */
static void file_path(const struct opts *o, long i, char *out, size_t len)
{
	char dir[PATH_MAX];

	file_dir(o, i, dir, sizeof(dir));
	if (o->one_file && o->writers == 1)
		path_fmt(out, len, "%s/x", dir);
	else if (o->one_file)
		path_fmt(out, len, "%s/x%ld", dir, i);
	else
		path_fmt(out, len, "%s/f%07ld", dir, i);
}

static void write_or_die(int fd, const char *path, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("write %s: %s", path, strerror(errno));
		if (n == 0)
			die("write %s: wrote nothing", path);
		data += n;
		len -= (size_t)n;
	}
}

/* SIZE bytes, in CHUNK-byte write()s if chunk is set. */
static void write_content(const struct opts *o, int fd, const char *path, const char *data)
{
	size_t chunk = o->chunk ? o->chunk : o->size;

	for (size_t done = 0; done < o->size; done += chunk) {
		size_t n = o->size - done < chunk ? o->size - done : chunk;

		write_or_die(fd, path, data + done, n);
	}
}

static void close_checked(int fd, const char *path)
{
	/* A FUSE file system commits at close: its error is the write's error. */
	if (close(fd) < 0)
		die("close %s: %s", path, strerror(errno));
}

/* create and chunked: a new file. */
static void op_create(const struct opts *o, const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	write_content(o, fd, path, data);
	close_checked(fd, path);
}

static void op_overwrite(const struct opts *o, const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	write_content(o, fd, path, data);
	close_checked(fd, path);
}

static void op_save(const struct opts *o, const char *path, const char *data)
{
	char tmp[PATH_MAX + 32];
	int fd;

	path_fmt(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		die("open %s: %s", tmp, strerror(errno));
	write_content(o, fd, tmp, data);
	close_checked(fd, tmp);
	if (rename(tmp, path) < 0)
		die("rename %s to %s: %s", tmp, path, strerror(errno));
}

static void op_read(const struct opts *o, const char *path, char *buf, size_t buflen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t total = 0;

	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	for (;;) {
		ssize_t n = read(fd, buf, buflen);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read %s: %s", path, strerror(errno));
		if (n == 0)
			break;
		total += (size_t)n;
	}
	if (close(fd) < 0)
		die("close %s: %s", path, strerror(errno));
	if (total != o->size)
		die("read %s: %zu bytes, expected %zu", path, total, o->size);
}

static void run_writer(const struct opts *o, int w, int start_fd, uint64_t *lat,
		       struct writer_times *times)
{
	long first = o->count * w / o->writers, end = o->count * (w + 1) / o->writers;
	/* + PATTERN: room to start the pattern elsewhere (overwrite) */
	size_t buflen = o->size + PATTERN > 65536 ? o->size + PATTERN : 65536;
	char *data = malloc(buflen), path[PATH_MAX];
	char go;
	ssize_t n;

	if (!data)
		die("out of memory");
	for (size_t i = 0; i < buflen; i++)
		data[i] = (char)('a' + (i + (size_t)w) % PATTERN);
	do
		n = read(start_fd, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die("start pipe: %s", strerror(errno));
	times->start_ns = now_ns();
	for (long i = first; i < end; i++) {
		/* --one-file: writer w saves its one file again and again. */
		file_path(o, o->one_file ? w : i, path, sizeof(path));
		uint64_t t0 = now_ns();

		switch (o->mode) {
		case MODE_CREATE:
		case MODE_CHUNKED:
			op_create(o, path, data);
			break;
		case MODE_SAVE:
			op_save(o, path, data);
			break;
		case MODE_READ:
			op_read(o, path, data, buflen);
			break;
		case MODE_OVERWRITE:
			/* Not what `create` wrote, nor the last overwrite: 1 to 25 letters on. */
			op_overwrite(o, path, data + 1 + i % (PATTERN - 1));
			break;
		case MODE_COUNT:
			die("no mode");
		}
		lat[i] = now_ns() - t0;
	}
	times->end_ns = now_ns();
	free(data);
}

static void make_dirs(const struct opts *o)
{
	char dir[PATH_MAX];
	long n = o->dirs;

	if (n == 0 || o->mode == MODE_READ || o->mode == MODE_OVERWRITE)
		return;
	if (o->one_file)
		n = o->writers < n ? o->writers : n;
	for (long i = 0; i < n && i < o->count; i++) {
		struct stat st;

		file_dir(o, i, dir, sizeof(dir));
		if (mkdir(dir, 0755) == 0)
			continue;
		if (errno != EEXIST || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
			die("mkdir %s: %s", dir, strerror(errno == EEXIST ? ENOTDIR : errno));
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array, in microseconds. */
static double pct_us(const uint64_t *sorted, long n, double p)
{
	long rank = (long)(p / 100.0 * (double)n + 0.999999999);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)sorted[rank - 1] / 1000.0;
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void report(const struct opts *o, uint64_t *lat, const struct writer_times *times)
{
	uint64_t first = UINT64_MAX, last = 0;
	double sum = 0, elapsed;

	for (int w = 0; w < o->writers; w++) {
		first = times[w].start_ns < first ? times[w].start_ns : first;
		last = times[w].end_ns > last ? times[w].end_ns : last;
	}
	for (long i = 0; i < o->count; i++)
		sum += (double)lat[i];
	qsort(lat, (size_t)o->count, sizeof(*lat), cmp_u64);
	elapsed = (double)(last - first) / 1e9;
	printf("{\"mode\":");
	json_string(mode_names[o->mode]);
	printf(",\"dir\":");
	json_string(o->dir);
	printf(",\"label\":");
	json_string(o->label);
	printf(",\"ops\":%ld,\"size\":%zu,\"chunk\":%zu,\"writers\":%d,\"dirs\":%ld,"
	       "\"one_file\":%s,\"elapsed_s\":%.6f,\"ops_per_s\":%.1f,\"mib_per_s\":%.2f,"
	       "\"mean_us\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f}\n",
	       o->count, o->size, o->chunk, o->writers, o->dirs, o->one_file ? "true" : "false",
	       elapsed, (double)o->count / elapsed,
	       (double)o->count * (double)o->size / elapsed / (1024.0 * 1024.0),
	       sum / (double)o->count / 1000.0, pct_us(lat, o->count, 50),
	       pct_us(lat, o->count, 99), (double)lat[o->count - 1] / 1000.0);
	if (fflush(stdout) != 0 || ferror(stdout))
		die("writing the result: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	struct opts o;
	struct writer_times *times;
	pid_t pids[MAX_WRITERS];
	uint64_t *lat;
	size_t lat_len;
	int start[2], failed = 0;

	parse_args(argc, argv, &o);
	make_dirs(&o);
	lat_len = (size_t)o.count * sizeof(*lat);
	lat = mmap(NULL, lat_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	times = mmap(NULL, sizeof(*times) * MAX_WRITERS, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (lat == MAP_FAILED || times == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	if (pipe2(start, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	for (int w = 0; w < o.writers; w++) {
		pids[w] = fork();
		if (pids[w] < 0) {
			int e = errno;

			close(start[1]); /* let the writers already forked go (and finish) */
			while (wait(NULL) > 0)
				;
			die("fork: %s", strerror(e));
		}
		if (pids[w] == 0) {
			close(start[1]);
			run_writer(&o, w, start[0], lat, &times[w]);
			_exit(0);
		}
	}
	close(start[0]);
	/* Every writer is blocked on the pipe: closing it starts them all at once. */
	if (close(start[1]) < 0)
		die("close: %s", strerror(errno));
	for (int w = 0; w < o.writers; w++) {
		int status = process_wait(pids[w]);

		if (status < 0)
			die("waitpid: %s", strerror(-status));
		if (status != 0) {
			if (status > 128)
				fprintf(stderr, "%s: writer %d killed by signal %d\n", prog, w,
					status - 128);
			failed++;
		}
	}
	if (failed)
		die("%d of %d writers failed (%s %s)", failed, o.writers, mode_names[o.mode],
		    o.dir);
	report(&o, lat, times);
	return 0;
}
