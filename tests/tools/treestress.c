/* SPDX-License-Identifier: MIT */
/*
 * treestress: several processes change one directory tree at once
 * (create, overwrite, append, save by rename, rename, unlink, mkdir, rmdir,
 * truncate, read, stat, readdir), in the manner of fsstress, written anew
 * for this project.
 *
 * Names come from a small set, so the processes collide all the time: the
 * errors a collision gives (ENOENT, EEXIST, ENOTEMPTY, ENOTDIR, EISDIR,
 * EINVAL for a directory moved into itself) are counted; any other error
 * fails the run. Every file holds whole records (magic, length, data,
 * checksum); with -V every read must find only whole records, which a file
 * system whose files change whole at close (droverfs) guarantees and others
 * need not.
 *
 *   treestress [-p procs] [-n ops] [-S seed] [-V] [-q] DIR
 *
 * Process i draws from seed + i: a run is replayed with the same -p -n -S,
 * as far as the interleaving of the processes allows.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum op_kind {
	OP_CREATE,
	OP_OVERWRITE,
	OP_APPEND,
	OP_SAVE,
	OP_READ,
	OP_RENAME,
	OP_UNLINK,
	OP_MKDIR,
	OP_RMDIR,
	OP_TRUNCATE,
	OP_STAT,
	OP_READDIR,
	OP_COUNT
};

static const struct {
	const char *name;
	unsigned weight;
} op_info[OP_COUNT] = {
	[OP_CREATE] = { "create", 14 }, [OP_OVERWRITE] = { "overwrite", 10 },
	[OP_APPEND] = { "append", 8 },	[OP_SAVE] = { "save", 8 },
	[OP_READ] = { "read", 14 },	[OP_RENAME] = { "rename", 10 },
	[OP_UNLINK] = { "unlink", 9 },	[OP_MKDIR] = { "mkdir", 10 },
	[OP_RMDIR] = { "rmdir", 8 },	[OP_TRUNCATE] = { "truncate", 3 },
	[OP_STAT] = { "stat", 4 },	[OP_READDIR] = { "readdir", 4 },
};

#define RECORD_MAGIC 0x31525354u /* "TSR1" */
#define RECORD_MAX 4096
#define MAX_FILE (256 * 1024)

struct worker {
	const char *root;
	int id;
	uint64_t state;
	bool verify;
	unsigned long ops[OP_COUNT];
	unsigned long collisions[OP_COUNT];
	unsigned char buf[MAX_FILE + RECORD_MAX + 16];
};

static uint64_t next(struct worker *w)
{
	uint64_t z = (w->state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned below(struct worker *w, unsigned n)
{
	return (unsigned)(next(w) % n);
}

/* A path of up to three directory levels, from few names: d0..d3 and f0..f7. */
static void random_path(struct worker *w, char *out, size_t len, bool dir)
{
	int n = snprintf(out, len, "%s", w->root);
	unsigned depth = below(w, 3);

	for (unsigned i = 0; i < depth; i++)
		n += snprintf(out + n, len - (size_t)n, "/d%u", below(w, 4));
	snprintf(out + n, len - (size_t)n, dir ? "/d%u" : "/f%u", below(w, dir ? 4 : 8));
}

static uint32_t checksum(const unsigned char *p, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* One record into buf: returns its size. */
static size_t make_record(struct worker *w, unsigned char *buf)
{
	uint32_t len = 1 + below(w, RECORD_MAX - 12);

	put32(buf, RECORD_MAGIC);
	put32(buf + 4, len);
	for (uint32_t i = 0; i < len; i++)
		buf[8 + i] = (unsigned char)('a' + below(w, 26));
	put32(buf + 8 + len, checksum(buf + 8, len));
	return 12 + len;
}

/* Is the content a sequence of whole records? */
static bool whole_records(const unsigned char *p, size_t len)
{
	while (len > 0) {
		uint32_t n;

		if (len < 12 || get32(p) != RECORD_MAGIC)
			return false;
		n = get32(p + 4);
		if (n > len - 12 || get32(p + 8 + n) != checksum(p + 8, n))
			return false;
		p += 12 + n;
		len -= 12 + n;
	}
	return true;
}

static void die(struct worker *w, enum op_kind k, const char *path, const char *what)
{
	fprintf(stderr, "treestress[%d]: %s %s: %s\n", w->id, op_info[k].name, path, what);
	exit(1);
}

/* Errors two processes working on the same names give each other. */
static bool collision(int e)
{
	return e == ENOENT || e == EEXIST || e == ENOTEMPTY || e == ENOTDIR || e == EISDIR ||
	       e == EINVAL;
}

/* 0, or a collision counted; anything else ends the run. */
static int check(struct worker *w, enum op_kind k, const char *path, int r)
{
	if (r >= 0)
		return 0;
	if (!collision(errno))
		die(w, k, path, strerror(errno));
	w->collisions[k]++;
	return -1;
}

static void write_all(struct worker *w, enum op_kind k, const char *path, int fd,
		      const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0)
			die(w, k, path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

static void close_checked(struct worker *w, enum op_kind k, const char *path, int fd)
{
	/* a close reports what only the commit finds: a collision is one of those */
	if (close(fd) < 0)
		check(w, k, path, -1);
}

/* Write 1 to 8 records to a new descriptor of path opened with flags. */
static void write_records(struct worker *w, enum op_kind k, const char *path, int flags)
{
	unsigned n = 1 + below(w, 8);
	size_t len = 0;
	int fd = open(path, flags, 0640);

	if (check(w, k, path, fd) < 0)
		return;
	for (unsigned i = 0; i < n; i++)
		len += make_record(w, w->buf + len);
	write_all(w, k, path, fd, w->buf, len);
	close_checked(w, k, path, fd);
}

static void do_read(struct worker *w, const char *path)
{
	size_t len = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (check(w, OP_READ, path, fd) < 0)
		return;
	while ((n = read(fd, w->buf + len, sizeof(w->buf) - len)) > 0)
		len += (size_t)n;
	if (n < 0)
		check(w, OP_READ, path, -1); /* EISDIR: it was a directory */
	close(fd);
	if (n == 0 && w->verify && !whole_records(w->buf, len))
		die(w, OP_READ, path, "content is not whole records");
}

/* The Proxmox way to save: a new temporary file, then rename it over the target. */
static void do_save(struct worker *w, const char *path)
{
	char tmp[4200];

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, w->id);
	write_records(w, OP_SAVE, tmp, O_WRONLY | O_CREAT | O_EXCL);
	if (check(w, OP_SAVE, path, rename(tmp, path)) < 0)
		unlink(tmp);
}

static void do_readdir(struct worker *w, const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (!d) {
		check(w, OP_READDIR, path, -1);
		return;
	}
	errno = 0;
	while ((de = readdir(d)))
		;
	if (errno)
		die(w, OP_READDIR, path, strerror(errno));
	closedir(d);
}

static enum op_kind pick(struct worker *w)
{
	unsigned total = 0, x;

	for (int k = 0; k < OP_COUNT; k++)
		total += op_info[k].weight;
	x = below(w, total);
	for (int k = 0; k < OP_COUNT; k++) {
		if (x < op_info[k].weight)
			return (enum op_kind)k;
		x -= op_info[k].weight;
	}
	return OP_STAT;
}

static void step(struct worker *w)
{
	enum op_kind k = pick(w);
	char path[4096], other[4096];
	struct stat st;

	w->ops[k]++;
	random_path(w, path, sizeof(path), k == OP_MKDIR || k == OP_RMDIR || k == OP_READDIR);
	switch (k) {
	case OP_CREATE:
		write_records(w, k, path, O_WRONLY | O_CREAT | O_EXCL);
		break;
	case OP_OVERWRITE:
		write_records(w, k, path, O_WRONLY | O_TRUNC);
		break;
	case OP_APPEND:
		write_records(w, k, path, O_WRONLY | O_APPEND | O_CREAT);
		break;
	case OP_SAVE:
		do_save(w, path);
		break;
	case OP_READ:
		do_read(w, path);
		break;
	case OP_RENAME:
		/* files and directories alike, anywhere in the tree */
		if (below(w, 3) == 0)
			random_path(w, path, sizeof(path), true);
		random_path(w, other, sizeof(other), below(w, 3) == 0);
		check(w, k, path, rename(path, other));
		break;
	case OP_UNLINK:
		check(w, k, path, unlink(path));
		break;
	case OP_MKDIR:
		check(w, k, path, mkdir(path, 0755));
		break;
	case OP_RMDIR:
		check(w, k, path, rmdir(path));
		break;
	case OP_TRUNCATE:
		check(w, k, path, truncate(path, 0));
		break;
	case OP_STAT:
		check(w, k, path, stat(path, &st));
		break;
	case OP_READDIR:
		do_readdir(w, path);
		break;
	default:
		break;
	}
}

static int run_worker(const char *root, int id, uint64_t seed, unsigned long nops, bool verify,
		      bool quiet)
{
	struct worker *w = calloc(1, sizeof(*w));

	if (!w)
		return 2;
	w->root = root;
	w->id = id;
	w->state = seed + (uint64_t)id;
	w->verify = verify;
	for (unsigned long i = 0; i < nops; i++)
		step(w);
	if (!quiet) {
		printf("treestress[%d]:", id);
		for (int k = 0; k < OP_COUNT; k++)
			printf(" %s %lu/%lu", op_info[k].name, w->ops[k] - w->collisions[k],
			       w->ops[k]);
		printf("\n");
		fflush(stdout); /* the process ends with _exit() */
	}
	free(w);
	return 0;
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
	fprintf(f, "usage: treestress [-p procs] [-n ops] [-S seed] [-V] [-q] DIR\n"
		   "  -p procs  processes (default 4)\n"
		   "  -n ops    operations per process (default 1000)\n"
		   "  -S seed   seed (default: from the clock, printed)\n"
		   "  -V        every read must find whole records (files change whole)\n"
		   "  -q        print only failures\n"
		   "Per process, the summary gives each operation as succeeded/attempted.\n");
}

int main(int argc, char **argv)
{
	uint64_t procs = 4, nops = 1000, seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	bool verify = false, quiet = false;
	int c, failed = 0;

	while ((c = getopt(argc, argv, "p:n:S:Vqh")) != -1) {
		bool bad = false;

		switch (c) {
		case 'p':
			bad = parse_num(optarg, &procs) < 0 || procs < 1 || procs > 64;
			break;
		case 'n':
			bad = parse_num(optarg, &nops) < 0;
			break;
		case 'S':
			bad = parse_num(optarg, &seed) < 0;
			break;
		case 'V':
			verify = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (bad) {
			fprintf(stderr, "treestress: invalid value for -%c: '%s'\n", c, optarg);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (!quiet)
		printf("treestress: %s, %" PRIu64 " processes x %" PRIu64
		       " operations, seed %" PRIu64 "\n",
		       argv[optind], procs, nops, seed);
	fflush(stdout);
	for (uint64_t i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("treestress: fork");
			return 2;
		}
		if (pid == 0)
			_exit(run_worker(argv[optind], (int)i, seed, (unsigned long)nops, verify,
					 quiet));
	}
	for (uint64_t i = 0; i < procs; i++) {
		int status;

		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	if (failed) {
		fprintf(stderr, "treestress: %d processes failed (seed %" PRIu64 ")\n", failed,
			seed);
		return 1;
	}
	return 0;
}
