/* SPDX-License-Identifier: MIT */
/* Small helpers used everywhere. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define UNUSED __attribute__((unused))
#define PRINTF_FMT(a, b) __attribute__((format(printf, a, b)))
#define WARN_UNUSED __attribute__((warn_unused_result))

static inline bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static inline bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The running program's absolute path (/proc/self/exe). Returns 0 or -errno. */
int self_exe_path(char *out, size_t len);

/* Monotonic clock in nanoseconds. */
uint64_t now_monotonic_ns(void);

/* Wall clock in whole seconds since the epoch. */
int64_t now_wall_s(void);

/*
 * Parse a size with an optional binary suffix (K, M, G; also KiB, MiB, GiB).
 * Returns 0 or -EINVAL.
 */
int parse_size(const char *s, uint64_t *out);

/* Parse a decimal unsigned integer that must fit in max. Returns 0 or -EINVAL/-ERANGE. */
int parse_u64(const char *s, uint64_t max, uint64_t *out);

/* The value of hexadecimal digit c (either case), or -1. */
int hex_digit(char c);

/* Format a byte count as "12.3 KiB". Returns buf. */
char *format_size(uint64_t bytes, char *buf, size_t len);

/* Read a whole file of at most max bytes into a new NUL-terminated buffer. 0, -EFBIG or -errno. */
int read_file_max(const char *path, size_t max, char **out, size_t *len);

/* write() the whole buffer, retrying on EINTR and short writes. Returns 0 or -errno. */
int write_all(int fd, const void *data, size_t len);

/*
 * Replace path with data: written to "path.tmp.PID", fsync'ed, renamed over
 * path (and the directory fsync'ed), so a crash leaves the old file or the
 * new one, never half of either. mode 0: the file system decides (droverfs
 * gives every path its fixed mode and refuses chmod). Returns 0 or -errno.
 */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* write_all() with pwrite() at offset off. */
int pwrite_all(int fd, const void *data, size_t len, long long off);

/*
 * mkdir -p: dir and every missing parent (parents 0755, dir itself mode).
 * Directories that exist are fine. Returns 0 or -errno.
 */
int mkdir_p(const char *dir, mode_t mode);
