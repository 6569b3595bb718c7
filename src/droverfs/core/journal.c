/* SPDX-License-Identifier: MIT */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "basic/crc32c.h"
#include "basic/log.h"
#include "basic/util.h"
#include "basic/wire.h"

#define HEADER_MAGIC "DRVJRNL"
#define FORMAT 1
#define RECORD_MAGIC 0x4345524au /* "JREC" */
#define PREALLOC_CHUNK (4u << 20)

struct cfs_journal {
	int fd;
	char *path;
	off_t end; /* where the next record goes */
	off_t allocated; /* preallocated up to here */
	bool can_prealloc;
};

int cfs_journal_open(const char *path, struct cfs_journal **out)
{
	struct cfs_journal *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->path = strdup(path);
	j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (!j->path || j->fd < 0) {
		int e = j->path ? errno : ENOMEM;

		free(j->path);
		free(j);
		return -e;
	}
	j->can_prealloc = true;
	*out = j;
	return 0;
}

void cfs_journal_close(struct cfs_journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j);
}

static void header_encode(unsigned char h[CFS_JOURNAL_HEADER_SIZE], uint64_t db_id, uint64_t base)
{
	memset(h, 0, CFS_JOURNAL_HEADER_SIZE);
	memcpy(h, HEADER_MAGIC, 8);
	le_put32(h + 8, FORMAT);
	le_put64(h + 16, db_id);
	le_put64(h + 24, base);
	le_put32(h + 12, crc32c(0, h, CFS_JOURNAL_HEADER_SIZE));
}

static bool header_valid(const unsigned char *h, size_t len)
{
	unsigned char copy[CFS_JOURNAL_HEADER_SIZE];

	if (len < CFS_JOURNAL_HEADER_SIZE || memcmp(h, HEADER_MAGIC, 8) != 0)
		return false;
	memcpy(copy, h, sizeof(copy));
	le_put32(copy + 12, 0);
	return crc32c(0, copy, sizeof(copy)) == le_get32(h + 12) && le_get32(h + 8) == FORMAT;
}

static bool all_zero(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static int read_file(int fd, unsigned char **data, size_t *len)
{
	struct stat stbuf;
	unsigned char *d;
	size_t got = 0;

	if (fstat(fd, &stbuf) < 0)
		return -errno;
	d = malloc(stbuf.st_size ? (size_t)stbuf.st_size : 1);
	if (!d)
		return -ENOMEM;
	while (got < (size_t)stbuf.st_size) {
		ssize_t n = pread(fd, d + got, (size_t)stbuf.st_size - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;

			free(d);
			return -e;
		}
		got += (size_t)n;
	}
	*data = d;
	*len = got;
	return 0;
}

/* Length of the valid record at p, or 0 if it is not one (torn, bad crc). */
static size_t record_at(const unsigned char *p, size_t left, uint64_t *version, uint32_t *flags)
{
	uint32_t len;
	uint32_t crc;

	if (left < CFS_JOURNAL_RECORD_HEADER_SIZE || le_get32(p) != RECORD_MAGIC)
		return 0;
	len = le_get32(p + 4);
	if (len > CFS_JOURNAL_MAX_RECORD || len > left - CFS_JOURNAL_RECORD_HEADER_SIZE)
		return 0;
	crc = crc32c(0, p, 16);
	crc = crc32c(crc, p + CFS_JOURNAL_RECORD_HEADER_SIZE, len);
	if (crc != le_get32(p + 16))
		return 0;
	*version = le_get64(p + 8);
	*flags = le_get32(p + 20);
	return CFS_JOURNAL_RECORD_HEADER_SIZE + len;
}

static int replay_records(const unsigned char *d, size_t len, uint64_t base, uint64_t db_version,
			  int (*apply)(void *, const void *, size_t, uint64_t, uint32_t), void *ctx,
			  struct cfs_journal_replay *info, size_t *end)
{
	size_t pos = CFS_JOURNAL_HEADER_SIZE;
	uint64_t expect = base + 1;
	int r = 0;

	while (pos < len) {
		uint64_t version;
		uint32_t flags;
		size_t n = record_at(d + pos, len - pos, &version, &flags);

		if (n == 0 || version != expect)
			break;
		/* base <= db_version and versions are consecutive: no gap is possible here */
		if (version <= db_version) {
			info->skipped++;
		} else {
			r = apply(ctx, d + pos + CFS_JOURNAL_RECORD_HEADER_SIZE,
				  n - CFS_JOURNAL_RECORD_HEADER_SIZE, version, flags);
			if (r < 0) {
				snprintf(info->problem, sizeof(info->problem),
					 "record of version %" PRIu64 " does not apply: %s",
					 version, strerror(-r));
				return r;
			}
			info->records++;
			db_version = version;
		}
		info->last = version;
		expect++;
		pos += n;
	}
	info->torn_bytes = len - pos;
	*end = pos;
	return 0;
}

int cfs_journal_replay(struct cfs_journal *j, uint64_t db_id, uint64_t db_version,
		       int (*apply)(void *ctx, const void *op, size_t len, uint64_t version,
				    uint32_t flags),
		       void *ctx, struct cfs_journal_replay *info)
{
	unsigned char *d = NULL;
	size_t len = 0, end = CFS_JOURNAL_HEADER_SIZE;
	uint64_t base;
	int r;

	memset(info, 0, sizeof(*info));
	r = read_file(j->fd, &d, &len);
	if (r < 0)
		return r;
	if (len == 0 || (len < CFS_JOURNAL_HEADER_SIZE && all_zero(d, len))) {
		free(d);
		j->end = 0; /* no header yet: the first reset writes it */
		return 0;
	}
	if (!header_valid(d, len)) {
		snprintf(info->problem, sizeof(info->problem), "journal header is damaged");
		free(d);
		return -EUCLEAN;
	}
	if (le_get64(d + 16) != db_id) {
		snprintf(info->problem, sizeof(info->problem),
			 "journal belongs to another database (id %016" PRIx64 ")",
			 le_get64(d + 16));
		free(d);
		return -EUCLEAN;
	}
	base = le_get64(d + 24);
	if (base > db_version) {
		snprintf(info->problem, sizeof(info->problem),
			 "journal starts after version %" PRIu64
			 " but the database ends at %" PRIu64,
			 base, db_version);
		free(d);
		return -EUCLEAN;
	}
	r = replay_records(d, len, base, db_version, apply, ctx, info, &end);
	free(d);
	j->end = (off_t)end;
	return r;
}

int cfs_journal_frame(struct buf *batch, uint64_t version, uint32_t flags, const void *op,
		      size_t len)
{
	unsigned char *h;
	uint32_t crc;
	int r;

	if (len > CFS_JOURNAL_MAX_RECORD)
		return -EFBIG;
	r = buf_reserve(batch, CFS_JOURNAL_RECORD_HEADER_SIZE + len);
	if (r < 0)
		return r;
	h = batch->data + batch->len;
	le_put32(h, RECORD_MAGIC);
	le_put32(h + 4, (uint32_t)len);
	le_put64(h + 8, version);
	le_put32(h + 20, flags);
	memcpy(h + CFS_JOURNAL_RECORD_HEADER_SIZE, op, len);
	crc = crc32c(0, h, 16);
	crc = crc32c(crc, op, len);
	le_put32(h + 16, crc);
	batch->len += CFS_JOURNAL_RECORD_HEADER_SIZE + len;
	return 0;
}

int cfs_journal_reserve(struct cfs_journal *j, size_t bytes)
{
	off_t need = j->end + (off_t)bytes + CFS_JOURNAL_HEADER_SIZE;
	off_t len;

	if (!j->can_prealloc || need <= j->allocated)
		return 0;
	len = need - j->allocated + PREALLOC_CHUNK;
	if (fallocate(j->fd, FALLOC_FL_KEEP_SIZE, j->allocated, len) < 0) {
		if (errno == EOPNOTSUPP || errno == ENOSYS) {
			j->can_prealloc = false;
			return 0;
		}
		return errno == ENOSPC || errno == EDQUOT ? -ENOSPC : -errno;
	}
	j->allocated += len;
	return 0;
}

int cfs_journal_write(struct cfs_journal *j, const void *records, size_t len)
{
	int r;

	if (j->end < CFS_JOURNAL_HEADER_SIZE)
		return -EINVAL; /* reset() writes the header first */
	r = pwrite_all(j->fd, records, len, j->end);
	if (r < 0) {
		/* Cut off whatever part did get written: those ops fail. */
		if (ftruncate(j->fd, j->end) < 0)
			log_err("journal %s: cannot cut back a failed write: %m", j->path);
		j->allocated = MIN(j->allocated, j->end);
		return r == -EDQUOT ? -ENOSPC : r;
	}
	j->end += (off_t)len;
	return 0;
}

int cfs_journal_reset(struct cfs_journal *j, uint64_t db_id, uint64_t base_version)
{
	unsigned char h[CFS_JOURNAL_HEADER_SIZE];
	int r;

	/* Truncate before the new header: either order of crash leaves a usable file. */
	if (ftruncate(j->fd, CFS_JOURNAL_HEADER_SIZE) < 0)
		return -errno;
	j->allocated = 0;
	header_encode(h, db_id, base_version);
	r = pwrite_all(j->fd, h, sizeof(h), 0);
	if (r < 0)
		return r;
	j->end = CFS_JOURNAL_HEADER_SIZE;
	return 0;
}

int cfs_journal_sync(struct cfs_journal *j)
{
	return fdatasync(j->fd) < 0 ? -errno : 0;
}

bool cfs_journal_ready(const struct cfs_journal *j)
{
	return j->end >= CFS_JOURNAL_HEADER_SIZE;
}

size_t cfs_journal_size(const struct cfs_journal *j)
{
	return j->end > CFS_JOURNAL_HEADER_SIZE ? (size_t)(j->end - CFS_JOURNAL_HEADER_SIZE) : 0;
}

int cfs_journal_move_aside(struct cfs_journal *j)
{
	char stamp[32], dst[4096];
	struct tm tm;
	time_t now = time(NULL);

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	snprintf(dst, sizeof(dst), "%s.damaged-%s", j->path, stamp);
	if (rename(j->path, dst) < 0)
		return -errno;
	log_warn("journal %s moved aside to %s", j->path, dst);
	close(j->fd);
	j->fd = open(j->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (j->fd < 0)
		return -errno;
	j->end = 0;
	j->allocated = 0;
	return 0;
}
