/* SPDX-License-Identifier: MIT */
/*
 * fsrandom: random operations on one file, checked against a copy kept in
 * memory (in the manner of fsx, written anew for this project).
 *
 * Every operation is drawn from a seeded generator, so a failing run is
 * replayed exactly by giving the same seed and count. Reads (read(2) and
 * mapped) compare what the file holds with the copy; the sizes fstat(2) and
 * lseek(SEEK_END) report are compared with its length. On a mismatch or an
 * unexpected error it prints the seed, the failing operation and the ones
 * before it, and exits with 1.
 *
 *   fsrandom [-N count] [-S seed] [-l maxlen] [-o maxoplen] [-X op,...] [-P] [-q] FILE
 *
 * -X leaves out operations a file system does not support (for example
 * mapwrite on a FUSE file system with direct I/O). -P makes operations by
 * path (truncate) first fsync the open descriptor: for file systems where
 * an open file's writes become the file's content only when it is synced
 * or closed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum op_kind {
	OP_READ,
	OP_WRITE,
	OP_TRUNCATE,
	OP_FTRUNCATE,
	OP_COPYRANGE,
	OP_FSYNC,
	OP_FDATASYNC,
	OP_REOPEN,
	OP_FSTAT,
	OP_SEEKEND,
	OP_MAPREAD,
	OP_MAPWRITE,
	OP_COUNT
};

static const struct {
	const char *name;
	unsigned weight;
} op_info[OP_COUNT] = {
	[OP_READ] = { "read", 20 },	     [OP_WRITE] = { "write", 24 },
	[OP_TRUNCATE] = { "truncate", 3 },   [OP_FTRUNCATE] = { "ftruncate", 6 },
	[OP_COPYRANGE] = { "copyrange", 8 }, [OP_FSYNC] = { "fsync", 4 },
	[OP_FDATASYNC] = { "fdatasync", 2 }, [OP_REOPEN] = { "reopen", 5 },
	[OP_FSTAT] = { "fstat", 5 },	     [OP_SEEKEND] = { "seekend", 5 },
	[OP_MAPREAD] = { "mapread", 6 },     [OP_MAPWRITE] = { "mapwrite", 6 },
};

#define LOG_SIZE 32

struct logged {
	unsigned long n;
	enum op_kind kind;
	uint64_t off, len, arg; /* arg: copyrange's destination */
	uint64_t size_before;
};

struct run {
	const char *path;
	int fd;
	uint64_t seed;
	uint64_t state; /* the generator */
	uint64_t maxlen, maxoplen;
	bool excluded[OP_COUNT];
	bool sync_before_path_ops;
	bool quiet;
	unsigned char *good; /* what the file must hold; zero beyond `len` */
	unsigned char *buf;
	uint64_t len;
	long pagesize;
	unsigned long n;
	struct logged log[LOG_SIZE];
	unsigned long counts[OP_COUNT];
};

/* splitmix64: small, and the same sequence everywhere for a seed. */
static uint64_t next(struct run *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi] (hi >= lo). */
static uint64_t between(struct run *r, uint64_t lo, uint64_t hi)
{
	return lo + next(r) % (hi - lo + 1);
}

static void fill(struct run *r, unsigned char *p, uint64_t len)
{
	for (uint64_t i = 0; i < len; i += 8) {
		uint64_t v = next(r);

		memcpy(p + i, &v, len - i < 8 ? len - i : 8);
	}
}

static void dump_log(const struct run *r)
{
	unsigned long first = r->n >= LOG_SIZE ? r->n - LOG_SIZE + 1 : 1;

	fprintf(stderr, "fsrandom: the last operations (number, operation, size before):\n");
	for (unsigned long i = first; i <= r->n; i++) {
		const struct logged *l = &r->log[i % LOG_SIZE];

		fprintf(stderr, "  %6lu %-9s off %-8" PRIu64 " len %-8" PRIu64, l->n,
			op_info[l->kind].name, l->off, l->len);
		if (l->kind == OP_COPYRANGE)
			fprintf(stderr, " to %-8" PRIu64, l->arg);
		fprintf(stderr, " (size %" PRIu64 ")\n", l->size_before);
	}
}

static void fail(const struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
static void fail(const struct run *r, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fsrandom: FAILED at operation %lu (%s): ", r->n,
		op_info[r->log[r->n % LOG_SIZE].kind].name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	dump_log(r);
	fprintf(stderr, "fsrandom: replay with -S %" PRIu64 " -N %lu\n", r->seed, r->n);
	exit(1);
}

static void check_equal(const struct run *r, const unsigned char *got, uint64_t off, uint64_t len,
			const char *what)
{
	for (uint64_t i = 0; i < len; i++)
		if (got[i] != r->good[off + i])
			fail(r,
			     "%s: byte %" PRIu64 " is 0x%02x, expected 0x%02x (%" PRIu64
			     " bytes from offset %" PRIu64 ")",
			     what, off + i, got[i], r->good[off + i], len, off);
}

static void set_len(struct run *r, uint64_t len)
{
	if (len < r->len)
		memset(r->good + len, 0, r->len - len);
	r->len = len;
}

static void do_read(struct run *r, struct logged *l)
{
	uint64_t expect;
	ssize_t n;

	l->off = r->len ? between(r, 0, r->len - 1) : 0;
	l->len = between(r, 1, r->maxoplen);
	expect = r->len > l->off ? (l->len < r->len - l->off ? l->len : r->len - l->off) : 0;
	n = pread(r->fd, r->buf, l->len, (off_t)l->off);
	if (n < 0)
		fail(r, "pread: %s", strerror(errno));
	if ((uint64_t)n != expect)
		fail(r, "pread returned %zd, expected %" PRIu64, n, expect);
	check_equal(r, r->buf, l->off, expect, "read");
}

static void do_write(struct run *r, struct logged *l)
{
	ssize_t n;

	l->off = between(r, 0, r->maxlen - 1);
	l->len = between(r, 1, r->maxlen - l->off < r->maxoplen ? r->maxlen - l->off : r->maxoplen);
	fill(r, r->buf, l->len);
	n = pwrite(r->fd, r->buf, l->len, (off_t)l->off);
	if (n < 0)
		fail(r, "pwrite: %s", strerror(errno));
	if ((uint64_t)n != l->len)
		fail(r, "pwrite wrote %zd of %" PRIu64, n, l->len);
	memcpy(r->good + l->off, r->buf, l->len);
	if (l->off + l->len > r->len)
		r->len = l->off + l->len;
}

static void do_truncate(struct run *r, struct logged *l, bool by_path)
{
	l->len = between(r, 0, r->maxlen);
	if (by_path && r->sync_before_path_ops && fsync(r->fd) < 0)
		fail(r, "fsync before truncate: %s", strerror(errno));
	if (by_path ? truncate(r->path, (off_t)l->len) : ftruncate(r->fd, (off_t)l->len))
		fail(r, "%s: %s", by_path ? "truncate" : "ftruncate", strerror(errno));
	set_len(r, l->len);
}

/* Copy a range of the file to another place in it; the two never overlap. */
static void do_copyrange(struct run *r, struct logged *l)
{
	uint64_t done = 0;

	if (r->len == 0) {
		l->len = 0;
		return;
	}
	l->off = between(r, 0, r->len - 1);
	l->len = between(r, 1, r->len - l->off < r->maxoplen ? r->len - l->off : r->maxoplen);
	if (l->len > r->maxlen / 2)
		l->len = r->maxlen / 2;
	/* a destination before the source range or after it, inside maxlen */
	if (l->off >= l->len && (l->off + l->len + l->len > r->maxlen || next(r) % 2))
		l->arg = between(r, 0, l->off - l->len);
	else if (l->off + l->len + l->len <= r->maxlen)
		l->arg = between(r, l->off + l->len, r->maxlen - l->len);
	else {
		l->len = 0;
		return;
	}
	while (done < l->len) {
		loff_t in = (loff_t)(l->off + done), out = (loff_t)(l->arg + done);
		ssize_t n = copy_file_range(r->fd, &in, r->fd, &out, l->len - done, 0);

		if (n < 0)
			fail(r, "copy_file_range: %s", strerror(errno));
		if (n == 0)
			fail(r,
			     "copy_file_range returned 0 after %" PRIu64 " of %" PRIu64
			     " bytes inside the file",
			     done, l->len);
		done += (uint64_t)n;
	}
	memmove(r->good + l->arg, r->good + l->off, l->len);
	if (l->arg + l->len > r->len)
		r->len = l->arg + l->len;
}

static void do_reopen(struct run *r)
{
	if (close(r->fd) < 0)
		fail(r, "close: %s", strerror(errno));
	r->fd = open(r->path, O_RDWR);
	if (r->fd < 0)
		fail(r, "open: %s", strerror(errno));
}

static void do_sizes(struct run *r, enum op_kind kind)
{
	struct stat st;
	off_t end;

	if (kind == OP_FSTAT) {
		if (fstat(r->fd, &st) < 0)
			fail(r, "fstat: %s", strerror(errno));
		if ((uint64_t)st.st_size != r->len)
			fail(r, "fstat size %jd, expected %" PRIu64, (intmax_t)st.st_size, r->len);
		return;
	}
	end = lseek(r->fd, 0, SEEK_END);
	if (end < 0)
		fail(r, "lseek: %s", strerror(errno));
	if ((uint64_t)end != r->len)
		fail(r, "lseek(SEEK_END) %jd, expected %" PRIu64, (intmax_t)end, r->len);
}

/* A page-aligned mapping of [off, off + len) of the file: the map and its start in it. */
static unsigned char *map(struct run *r, uint64_t off, uint64_t len, int prot, uint64_t *lead)
{
	uint64_t start = off - off % (uint64_t)r->pagesize;
	void *p;

	*lead = off - start;
	p = mmap(NULL, *lead + len, prot, MAP_SHARED, r->fd, (off_t)start);
	if (p == MAP_FAILED)
		fail(r, "mmap: %s", strerror(errno));
	return p;
}

static void do_mapread(struct run *r, struct logged *l)
{
	unsigned char *p;
	uint64_t lead;

	if (r->len == 0) {
		l->len = 0;
		return;
	}
	l->off = between(r, 0, r->len - 1);
	l->len = between(r, 1, r->len - l->off < r->maxoplen ? r->len - l->off : r->maxoplen);
	p = map(r, l->off, l->len, PROT_READ, &lead);
	check_equal(r, p + lead, l->off, l->len, "mapped read");
	munmap(p, lead + l->len);
}

/* Writes through a mapping, inside the file (a mapping does not grow it). */
static void do_mapwrite(struct run *r, struct logged *l)
{
	unsigned char *p;
	uint64_t lead;

	if (r->len == 0) {
		l->len = 0;
		return;
	}
	l->off = between(r, 0, r->len - 1);
	l->len = between(r, 1, r->len - l->off < r->maxoplen ? r->len - l->off : r->maxoplen);
	fill(r, r->buf, l->len);
	p = map(r, l->off, l->len, PROT_READ | PROT_WRITE, &lead);
	memcpy(p + lead, r->buf, l->len);
	if (msync(p, lead + l->len, MS_SYNC) < 0)
		fail(r, "msync: %s", strerror(errno));
	munmap(p, lead + l->len);
	memcpy(r->good + l->off, r->buf, l->len);
}

static enum op_kind pick(struct run *r)
{
	unsigned total = 0, x;

	for (int k = 0; k < OP_COUNT; k++)
		total += r->excluded[k] ? 0 : op_info[k].weight;
	x = (unsigned)(next(r) % total);
	for (int k = 0; k < OP_COUNT; k++) {
		if (r->excluded[k])
			continue;
		if (x < op_info[k].weight)
			return (enum op_kind)k;
		x -= op_info[k].weight;
	}
	return OP_READ;
}

static void step(struct run *r)
{
	struct logged *l = &r->log[++r->n % LOG_SIZE];

	*l = (struct logged){ .n = r->n, .kind = pick(r), .size_before = r->len };
	r->counts[l->kind]++;
	switch (l->kind) {
	case OP_READ:
		do_read(r, l);
		break;
	case OP_WRITE:
		do_write(r, l);
		break;
	case OP_TRUNCATE:
	case OP_FTRUNCATE:
		do_truncate(r, l, l->kind == OP_TRUNCATE);
		break;
	case OP_COPYRANGE:
		do_copyrange(r, l);
		break;
	case OP_FSYNC:
		if (fsync(r->fd) < 0)
			fail(r, "fsync: %s", strerror(errno));
		break;
	case OP_FDATASYNC:
		if (fdatasync(r->fd) < 0)
			fail(r, "fdatasync: %s", strerror(errno));
		break;
	case OP_REOPEN:
		do_reopen(r);
		break;
	case OP_FSTAT:
	case OP_SEEKEND:
		do_sizes(r, l->kind);
		break;
	case OP_MAPREAD:
		do_mapread(r, l);
		break;
	case OP_MAPWRITE:
		do_mapwrite(r, l);
		break;
	default:
		break;
	}
}

/* After the last operation: close, and read the whole file back through a new descriptor. */
static void final_check(struct run *r)
{
	uint64_t got = 0;
	ssize_t n;

	if (close(r->fd) < 0)
		fail(r, "close: %s", strerror(errno));
	r->fd = open(r->path, O_RDONLY);
	if (r->fd < 0)
		fail(r, "open: %s", strerror(errno));
	while ((n = read(r->fd, r->buf, r->maxoplen)) > 0) {
		if (got + (uint64_t)n > r->len)
			fail(r, "the file is longer than %" PRIu64 " bytes", r->len);
		check_equal(r, r->buf, got, (uint64_t)n, "final read");
		got += (uint64_t)n;
	}
	if (n < 0)
		fail(r, "read: %s", strerror(errno));
	if (got != r->len)
		fail(r, "the file has %" PRIu64 " bytes, expected %" PRIu64, got, r->len);
	close(r->fd);
}

static int exclude(struct run *r, char *list)
{
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		int k;

		for (k = 0; k < OP_COUNT && strcmp(op_info[k].name, tok) != 0; k++)
			;
		if (k == OP_COUNT) {
			fprintf(stderr, "fsrandom: unknown operation '%s'\n", tok);
			return -1;
		}
		r->excluded[k] = true;
	}
	for (int k = 0; k < OP_COUNT; k++)
		if (!r->excluded[k])
			return 0;
	fprintf(stderr, "fsrandom: every operation is excluded\n");
	return -1;
}

static int parse_num(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || end == s || *end ? -1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fsrandom [-N count] [-S seed] [-l maxlen] [-o maxoplen] [-X op,...] "
		   "[-P] [-q] FILE\n"
		   "  -N count    operations (default 1000)\n"
		   "  -S seed     seed of the generator (default: from the clock, printed)\n"
		   "  -l maxlen   largest file size (default 262144)\n"
		   "  -o maxoplen largest read, write or copy (default 65536)\n"
		   "  -X ops      leave out these operations (comma-separated)\n"
		   "  -P          fsync the descriptor before operations by path\n"
		   "  -q          print only failures\n"
		   "operations:");
	for (int k = 0; k < OP_COUNT; k++)
		fprintf(f, " %s", op_info[k].name);
	fprintf(f, "\n");
}

int main(int argc, char **argv)
{
	struct run r = { .maxlen = 256 * 1024, .maxoplen = 64 * 1024 };
	uint64_t count = 1000, seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	int c;

	while ((c = getopt(argc, argv, "N:S:l:o:X:Pqh")) != -1) {
		bool bad = false;

		switch (c) {
		case 'N':
			bad = parse_num(optarg, &count) < 0;
			break;
		case 'S':
			bad = parse_num(optarg, &seed) < 0;
			break;
		case 'l':
			bad = parse_num(optarg, &r.maxlen) < 0 || r.maxlen < 2;
			break;
		case 'o':
			bad = parse_num(optarg, &r.maxoplen) < 0 || r.maxoplen < 1;
			break;
		case 'X':
			if (exclude(&r, optarg) < 0)
				return 2;
			break;
		case 'P':
			r.sync_before_path_ops = true;
			break;
		case 'q':
			r.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (bad) {
			fprintf(stderr, "fsrandom: invalid value for -%c: '%s'\n", c, optarg);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	r.path = argv[optind];
	r.state = r.seed = seed;
	r.pagesize = sysconf(_SC_PAGESIZE);
	r.good = calloc(1, r.maxlen);
	r.buf = malloc(r.maxlen > r.maxoplen ? r.maxlen : r.maxoplen);
	if (!r.good || !r.buf) {
		fprintf(stderr, "fsrandom: out of memory\n");
		return 2;
	}
	if (!r.quiet)
		printf("fsrandom: %s, seed %" PRIu64 ", %" PRIu64 " operations\n", r.path, seed,
		       count);
	fflush(stdout);
	r.fd = open(r.path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (r.fd < 0) {
		fprintf(stderr, "fsrandom: %s: %s\n", r.path, strerror(errno));
		return 2;
	}
	while (r.n < count)
		step(&r);
	final_check(&r);
	if (!r.quiet) {
		printf("fsrandom: %" PRIu64 " operations passed, final size %" PRIu64 ":", count,
		       r.len);
		for (int k = 0; k < OP_COUNT; k++)
			if (!r.excluded[k])
				printf(" %s %lu", op_info[k].name, r.counts[k]);
		printf("\n");
	}
	free(r.good);
	free(r.buf);
	return 0;
}
