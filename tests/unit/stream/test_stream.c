/* SPDX-License-Identifier: MIT */
/*
 * Streams: the raw+size framing (storage/rawsize), the token bucket with an
 * injected clock (basic/ratelimit), the pump's framing, zstd and held-back
 * last byte (stream/pump), and the btrfs send stream check
 * (storage/btrfs_stream) on streams built here, good and hostile.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "basic/buf.h"
#include "basic/crc32c.h"
#include "basic/ratelimit.h"
#include "basic/util.h"
#include "libdrover/storage/btrfs_stream.h"
#include "libdrover/storage/rawsize.h"
#include "libdrover/cluster/ssh.h"
#include "libdrover/stream/pump.h"
#include "libdrover/stream/sshmux.h"
#include "libdrover/stream/transport.h"

/* A memfd holding data, read from its start. */
static int mem_with(const void *data, size_t len)
{
	int fd = memfd_create("t", MFD_CLOEXEC);

	assert_true(fd >= 0);
	if (len)
		assert_int_equal(write_all(fd, data, len), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* What a memfd holds now, into out (a new buffer). */
static void mem_read(int fd, struct buf *out)
{
	off_t size = lseek(fd, 0, SEEK_END);

	out->len = 0;
	assert_int_equal(buf_reserve(out, (size_t)size + 1), 0);
	assert_int_equal(pread(fd, out->data, (size_t)size, 0), size);
	out->len = (size_t)size;
}

static unsigned char *random_bytes(size_t n, unsigned seed)
{
	unsigned char *p = malloc(n);

	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
	return p;
}

/* ---- raw+size --------------------------------------------------------- */

static void test_rawsize_header(void **state)
{
	unsigned char h[RAWSIZE_HEADER];
	struct drover_err err = { "" };
	uint64_t size;
	int fd;

	(void)state;
	/* little-endian */
	rawsize_encode(h, 0x0000010203040506ull);
	assert_memory_equal(h, "\x06\x05\x04\x03\x02\x01\x00\x00", 8);
	assert_int_equal(rawsize_decode(h, &size, &err), 0);
	assert_int_equal(size, 0x0000010203040506ull);
	/* more than any disk: a damaged or hostile header */
	rawsize_encode(h, RAWSIZE_MAX + 1);
	assert_int_equal(rawsize_decode(h, &size, &err), -EBADMSG);
	assert_non_null(strstr(err.text, "more than any disk"));
	/* a stream that ends inside the header */
	fd = mem_with("\x01\x02\x03", 3);
	assert_int_equal(rawsize_read_header(fd, &size, &err), -EPIPE);
	assert_string_equal(err.text, "the stream ended after 3 bytes, inside its raw+size header");
	close(fd);
}

static void test_rawsize_data(void **state)
{
	size_t len = 3 * 65536 + 1000;
	unsigned char *data = random_bytes(len, 7), h[RAWSIZE_HEADER];
	struct drover_err err = { "" };
	struct buf got = BUF_INIT, stream = BUF_INIT;
	struct stat st;
	uint64_t size;
	int src, out, in, dst;

	(void)state;
	/* a block of zeroes in the middle stays a hole */
	memset(data + 65536, 0, 65536);
	src = mem_with(data, len);
	out = mem_with(NULL, 0);
	assert_int_equal(rawsize_export(src, len, out, &err), 0);
	mem_read(out, &stream);
	assert_int_equal(stream.len, len + 8);
	rawsize_encode(h, len);
	assert_memory_equal(stream.data, h, 8);
	assert_memory_equal(stream.data + 8, data, len);

	/* whole: read back equal */
	in = mem_with(stream.data, stream.len);
	dst = mem_with(NULL, 0);
	assert_int_equal(rawsize_read_header(in, &size, &err), 0);
	assert_int_equal(size, len);
	assert_int_equal(ftruncate(dst, (off_t)size), 0);
	assert_int_equal(rawsize_import_data(in, size, dst, &err), 0);
	mem_read(dst, &got);
	assert_int_equal(got.len, len);
	assert_memory_equal(got.data, data, len);
	assert_int_equal(fstat(dst, &st), 0);
	assert_true((size_t)st.st_blocks * 512 < len); /* the zero block was not written */
	close(in);
	close(dst);

	/* cut short: the last byte missing */
	in = mem_with(stream.data, stream.len - 1);
	dst = mem_with(NULL, 0);
	assert_int_equal(rawsize_read_header(in, &size, &err), 0);
	assert_int_equal(rawsize_import_data(in, size, dst, &err), -EPIPE);
	assert_non_null(strstr(err.text, "the stream ended after"));
	close(in);
	close(dst);

	/* more after the data than the header says */
	assert_int_equal(buf_append(&stream, "x", 1), 0);
	in = mem_with(stream.data, stream.len);
	dst = mem_with(NULL, 0);
	assert_int_equal(rawsize_read_header(in, &size, &err), 0);
	assert_int_equal(rawsize_import_data(in, size, dst, &err), -EBADMSG);
	assert_non_null(strstr(err.text, "more data than its raw+size header says"));
	close(in);
	close(dst);
	close(src);
	close(out);
	free(data);
	buf_free(&got);
	buf_free(&stream);
}

/* ---- the token bucket ------------------------------------------------- */

static uint64_t fake_clock(void *ctx)
{
	return *(uint64_t *)ctx;
}

static void test_ratelimit(void **state)
{
	uint64_t now = 1000, wait, sent = 0;
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 1000, 100, fake_clock, &now);
	assert_int_equal(ratelimit_take(&rl, 100), 0); /* a full bucket goes at once */
	assert_int_equal(ratelimit_take(&rl, 100), 100000000); /* 100 B at 1000 B/s */
	now += 100000000;
	assert_int_equal(ratelimit_take(&rl, 100), 100000000);
	/* a long idle time earns one bucket, no more */
	now += 1000ull * 1000000000ull;
	assert_int_equal(ratelimit_take(&rl, 100), 0);
	assert_int_equal(ratelimit_take(&rl, 1000), 1000000000);

	/* a sender that waits as told: 10 MB at 1 MB/s take 10 s, less the first bucket */
	now = 0;
	ratelimit_init(&rl, 1000000, 0, fake_clock, &now);
	assert_int_equal(rl.burst, 100000); /* a tenth of a second */
	while (sent < 10000000) {
		wait = ratelimit_take(&rl, 65536);
		now += wait;
		sent += 65536;
	}
	/* within 1% of what the rate says */
	assert_true(now >= 9800000000ull && now <= 10100000000ull);

	/* fractions of a byte add up: 1 byte at 3 B/s */
	now = 0;
	ratelimit_init(&rl, 3, 1, fake_clock, &now);
	assert_int_equal(ratelimit_take(&rl, 1), 0);
	wait = ratelimit_take(&rl, 1);
	assert_int_equal(wait, 333333334);
	now += wait;
	wait = ratelimit_take(&rl, 1);
	now += wait;
	wait = ratelimit_take(&rl, 1);
	now += wait;
	assert_true(now >= 999999999 && now <= 1000000002);

	/* no limit */
	ratelimit_init(&rl, 0, 0, fake_clock, &now);
	assert_int_equal(ratelimit_take(&rl, 1ull << 40), 0);
}

/* ---- the pump --------------------------------------------------------- */

static int finish_ok(void *ctx)
{
	(void)ctx;
	return 0;
}

static int finish_failed(void *ctx)
{
	(void)ctx;
	return -EIO;
}

/* data -> pump_send -> wire (a memfd). */
static void send_to_wire(const void *data, size_t len, bool compress, int (*finish)(void *),
			 struct buf *wire, int want)
{
	struct pump_opts o = { .compress = compress, .framed = true };
	struct drover_err err = { "" };
	struct pump_stats st;
	enum pump_side side;
	int in = mem_with(data, len), out = mem_with(NULL, 0);

	assert_int_equal(pump_send(in, out, &o, finish, NULL, &st, &side, &err), want);
	assert_int_equal(st.stream_bytes, len);
	mem_read(out, wire);
	assert_int_equal(st.wire_bytes, wire->len);
	close(in);
	close(out);
}

/* wire -> pump_recv -> got; returns its result and side. */
static int recv_from_wire(const void *wire, size_t len, bool compress, struct buf *got,
			  enum pump_side *side, struct drover_err *err)
{
	struct pump_opts o = { .compress = compress, .framed = true };
	struct pump_stats st;
	int in = mem_with(wire, len), out = mem_with(NULL, 0);
	int r = pump_recv(in, out, &o, &st, side, err);

	mem_read(out, got);
	close(in);
	close(out);
	return r;
}

static void test_pump_round_trip(void **state)
{
	size_t len = (3u << 20) + 12345;
	unsigned char *data = random_bytes(len, 1), *text = malloc(len);
	struct buf wire = BUF_INIT, got = BUF_INIT;
	struct drover_err err = { "" };
	enum pump_side side;

	(void)state;
	/* plain: the data, the magic, a length per chunk, the end record */
	send_to_wire(data, len, false, finish_ok, &wire, 0);
	assert_memory_equal(wire.data, PUMP_MAGIC, 8);
	assert_true(wire.len > len + 16 && wire.len < len + 16 + 4 * 64);
	assert_memory_equal(wire.data + wire.len - 8, "\0\0\0\0\0\0\0\0", 8);
	assert_int_equal(recv_from_wire(wire.data, wire.len, false, &got, &side, &err), 0);
	assert_int_equal(got.len, len);
	assert_memory_equal(got.data, data, len);

	/* zstd: smaller on the wire for text, the same after */
	for (size_t i = 0; i < len; i++)
		text[i] = "drover storage "[i % 15];
	send_to_wire(text, len, true, finish_ok, &wire, 0);
	assert_true(wire.len < len / 20);
	assert_int_equal(recv_from_wire(wire.data, wire.len, true, &got, &side, &err), 0);
	assert_int_equal(got.len, len);
	assert_memory_equal(got.data, text, len);
	free(data);
	free(text);
	buf_free(&wire);
	buf_free(&got);
}

static void test_pump_refuses_broken_streams(void **state)
{
	size_t len = 200000;
	unsigned char *data = random_bytes(len, 2);
	struct buf wire = BUF_INIT, got = BUF_INIT;
	struct drover_err err = { "" };
	enum pump_side side;

	(void)state;
	/* the sender's export failed: the end record says so; the data never goes out whole */
	send_to_wire(data, len, false, finish_failed, &wire, -EIO);
	assert_int_equal(recv_from_wire(wire.data, wire.len, false, &got, &side, &err), -EIO);
	assert_int_equal(side, PUMP_SENDER);
	assert_non_null(strstr(err.text, "the sender failed"));
	assert_true(got.len < len);

	/* cut anywhere: never whole, always an error naming the input */
	send_to_wire(data, len, false, finish_ok, &wire, 0);
	for (size_t cut = 0; cut < wire.len; cut += cut < 64 ? 1 : 7919) {
		assert_true(recv_from_wire(wire.data, cut, false, &got, &side, &err) < 0);
		assert_int_equal(side, PUMP_INPUT);
		assert_true(got.len < len);
	}
	assert_int_equal(recv_from_wire(wire.data, wire.len - 1, false, &got, &side, &err), -EPIPE);
	assert_string_equal(err.text, "reading the stream: it ended inside its end record");
	assert_int_equal(recv_from_wire(wire.data, 100, false, &got, &side, &err), -EPIPE);
	assert_true(strstr(err.text, "ended inside a chunk") != NULL);

	/* zstd: a flipped byte is caught by zstd (its checksum at the latest) */
	send_to_wire(data, len, true, finish_ok, &wire, 0);
	wire.data[wire.len / 2] ^= 0x40;
	assert_true(recv_from_wire(wire.data, wire.len, true, &got, &side, &err) < 0);
	assert_int_equal(side, PUMP_INPUT);
	assert_true(got.len < len);
	/* zstd cut short: the frame is not whole */
	wire.data[wire.len / 2] ^= 0x40;
	assert_true(recv_from_wire(wire.data, wire.len - 9, true, &got, &side, &err) < 0);
	assert_true(got.len < len);

	/* not our stream at all */
	assert_int_equal(recv_from_wire("btrfs-stream\0\1\0\0\0", 17, false, &got, &side, &err),
			 -EBADMSG);
	assert_string_equal(err.text, "not a drover stream (no DROVSTR1 at its start)");
	/* a chunk longer than any sender makes */
	assert_int_equal(
		recv_from_wire(PUMP_MAGIC "\xff\xff\xff\x7f", 12, false, &got, &side, &err),
		-EBADMSG);
	free(data);
	buf_free(&wire);
	buf_free(&got);
}

/* ---- btrfs send streams, built here ----------------------------------- */

#define UUID_A "\xa1\xa1\xa1\xa1\xa1\xa1\xa1\xa1\xa1\xa1\xa1\xa1\xa1\xa1\xa1\xa1"
#define UUID_P "\xb2\xb2\xb2\xb2\xb2\xb2\xb2\xb2\xb2\xb2\xb2\xb2\xb2\xb2\xb2\xb2"
#define UUID_X "\xc3\xc3\xc3\xc3\xc3\xc3\xc3\xc3\xc3\xc3\xc3\xc3\xc3\xc3\xc3\xc3"

static void put16(struct buf *b, uint16_t v)
{
	unsigned char x[2] = { (unsigned char)v, (unsigned char)(v >> 8) };

	assert_int_equal(buf_append(b, x, 2), 0);
}

static void put32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
			       (unsigned char)(v >> 24) };

	assert_int_equal(buf_append(b, x, 4), 0);
}

static void attr(struct buf *b, uint16_t type, const void *v, size_t n)
{
	put16(b, type);
	put16(b, (uint16_t)n);
	assert_int_equal(buf_append(b, v, n), 0);
}

static void attr_str(struct buf *b, uint16_t type, const char *s)
{
	attr(b, type, s, strlen(s));
}

/* Append command cmd with payload p (its TLVs) to the stream, checksummed as btrfs does. */
static void command(struct buf *stream, uint16_t cmd, const struct buf *p)
{
	size_t at = stream->len;
	uint32_t crc;

	put32(stream, (uint32_t)p->len);
	put16(stream, cmd);
	put32(stream, 0);
	if (p->len)
		assert_int_equal(buf_append(stream, p->data, p->len), 0);
	crc = ~crc32c(0xffffffffu, stream->data + at, 10 + p->len);
	memcpy(stream->data + at + 6,
	       (unsigned char[4]){ (unsigned char)crc, (unsigned char)(crc >> 8),
				   (unsigned char)(crc >> 16), (unsigned char)(crc >> 24) },
	       4);
}

/* A stream: its first command (SUBVOL, or SNAPSHOT of parent), then the given middle, then END. */
static void make_stream(struct buf *s, const char *name, const char *parent,
			void (*middle)(struct buf *s), bool end)
{
	struct buf p = BUF_INIT;
	uint64_t transid = 7;

	s->len = 0;
	assert_int_equal(buf_append(s, "btrfs-stream\0", 13), 0);
	put32(s, 1);
	attr_str(&p, 15, name);
	attr(&p, 1, UUID_A, 16);
	attr(&p, 2, &transid, 8);
	if (parent) {
		attr(&p, 20, parent, 16);
		attr(&p, 21, &transid, 8);
	}
	command(s, parent ? 2 : 1, &p);
	if (middle)
		middle(s);
	if (end) {
		p.len = 0;
		command(s, 21, &p);
	}
	buf_free(&p);
}

static void files(struct buf *s)
{
	struct buf p = BUF_INIT;
	uint64_t off = 0;

	attr_str(&p, 15, "o257-7-0");
	command(s, 3, &p); /* mkfile */
	p.len = 0;
	attr_str(&p, 15, "o257-7-0");
	attr_str(&p, 16, "disk.raw");
	command(s, 9, &p); /* rename */
	p.len = 0;
	attr_str(&p, 15, "disk.raw");
	attr(&p, 18, &off, 8);
	attr(&p, 19, "data data data", 14);
	command(s, 15, &p); /* write */
	p.len = 0;
	attr_str(&p, 15, "link");
	attr_str(&p, 17, "../../../etc/passwd"); /* a symlink's target is data */
	command(s, 8, &p);
	p.len = 0;
	attr_str(&p, 15, "disk.raw");
	attr(&p, 18, &off, 8);
	attr(&p, 24, &off, 8);
	attr(&p, 20, UUID_A, 16); /* clone from itself */
	attr_str(&p, 22, "disk.raw");
	command(s, 16, &p);
	buf_free(&p);
}

static void escape_rename(struct buf *s)
{
	struct buf p = BUF_INIT;

	attr_str(&p, 15, "disk.raw");
	attr_str(&p, 16, "../../escaped");
	command(s, 9, &p);
	buf_free(&p);
}

static void absolute_path(struct buf *s)
{
	struct buf p = BUF_INIT;

	attr_str(&p, 15, "/etc/cron.d/x");
	command(s, 3, &p);
	buf_free(&p);
}

static void hardlink_out(struct buf *s)
{
	struct buf p = BUF_INIT;

	attr_str(&p, 15, "x");
	attr_str(&p, 17, "a/../../y");
	command(s, 10, &p); /* link: PATH_LINK is a path here */
	buf_free(&p);
}

static void foreign_clone(struct buf *s)
{
	struct buf p = BUF_INIT;
	uint64_t off = 0;

	attr_str(&p, 15, "disk.raw");
	attr(&p, 18, &off, 8);
	attr(&p, 24, &off, 8);
	attr(&p, 20, UUID_X, 16); /* another volume's data on the target */
	attr_str(&p, 22, "disk.raw");
	command(s, 16, &p);
	buf_free(&p);
}

static void unknown_command(struct buf *s)
{
	struct buf p = BUF_INIT;

	command(s, 99, &p);
	buf_free(&p);
}

static void second_subvol(struct buf *s)
{
	struct buf p = BUF_INIT;

	attr_str(&p, 15, "other@s");
	attr(&p, 1, UUID_X, 16);
	command(s, 1, &p);
	buf_free(&p);
}

/* Run the filter on stream; 0 or its error (err filled); the output into out. */
static int filter(const struct buf *stream, struct btrfs_stream_check *c, struct buf *out,
		  struct drover_err *err)
{
	int in = mem_with(stream->data, stream->len), o = mem_with(NULL, 0);
	int r = btrfs_stream_filter(in, o, c, err);

	mem_read(o, out);
	close(in);
	close(o);
	return r;
}

static void expect_refused(const struct buf *stream, struct btrfs_stream_check *c, int want,
			   const char *text)
{
	struct drover_err err = { "" };
	struct buf out = BUF_INIT;

	assert_int_equal(filter(stream, c, &out, &err), want);
	if (!strstr(err.text, text))
		fail_msg("got '%s', want '%s'", err.text, text);
	buf_free(&out);
}

/*
 * A sender that went silent without closing (a cut link): with idle_ms
 * the receiver gives up after that long, inside a chunk and between
 * chunks, instead of waiting forever.
 */
static void test_pump_idle_timeout(void **state)
{
	size_t len = 200000, cuts[] = { 100000, 8 };
	unsigned char *data = random_bytes(len, 4);
	struct buf wire = BUF_INIT, got = BUF_INIT;

	(void)state;
	send_to_wire(data, len, false, finish_ok, &wire, 0);
	for (size_t i = 0; i < ARRAY_SIZE(cuts); i++) {
		struct pump_opts o = { .framed = true, .idle_ms = 300 };
		struct drover_err err = { "" };
		struct pump_stats st;
		enum pump_side side;
		int p[2], out = mem_with(NULL, 0);
		uint64_t t0;

		assert_int_equal(pipe(p), 0);
		fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
		assert_int_equal(write(p[1], wire.data, cuts[i]), (ssize_t)cuts[i]);
		t0 = now_monotonic_ns();
		/* p[1] stays open: no end of file, only silence */
		assert_int_equal(pump_recv(p[0], out, &o, &st, &side, &err), -ETIMEDOUT);
		assert_true(now_monotonic_ns() - t0 >= 290000000ull);
		assert_true(now_monotonic_ns() - t0 < 5000000000ull);
		assert_int_equal(side, PUMP_INPUT);
		assert_non_null(strstr(err.text, "no data from the sender for 1 s"));
		mem_read(out, &got);
		assert_true(got.len < len);
		close(p[0]);
		close(p[1]);
		close(out);
	}
	free(data);
	buf_free(&wire);
	buf_free(&got);
}

static void test_btrfs_stream_good(void **state)
{
	struct btrfs_stream_check c = { 0 };
	struct drover_err err = { "" };
	struct buf s = BUF_INIT, out = BUF_INIT, renamed = BUF_INIT;
	uint32_t len, crc;

	(void)state;
	make_stream(&s, "vm-100-disk-0@s1", NULL, files, true);
	assert_int_equal(filter(&s, &c, &out, &err), 0);
	assert_string_equal(c.subvol, "vm-100-disk-0@s1");
	assert_memory_equal(c.uuid, UUID_A, 16);
	assert_int_equal(out.len, s.len);
	assert_memory_equal(out.data, s.data, s.len); /* passed on as it came */

	/* received under another name: the first command rewritten, its checksum right */
	c = (struct btrfs_stream_check){ .rename_to = ".tmp-node2-42-vm-100-disk-0",
					 .snapshot = "s1" };
	assert_int_equal(filter(&s, &c, &renamed, &err), 0);
	assert_int_equal(renamed.len, s.len + strlen(".tmp-node2-42-vm-100-disk-0") -
					      strlen("vm-100-disk-0@s1"));
	len = (uint32_t)renamed.data[17] | (uint32_t)renamed.data[18] << 8;
	assert_non_null(memmem(renamed.data + 27, len, ".tmp-node2-42-vm-100-disk-0", 27));
	memcpy(&crc, renamed.data + 23, 4);
	memset(renamed.data + 23, 0, 4);
	assert_int_equal(crc, ~crc32c(0xffffffffu, renamed.data + 17, 10 + len));
	/* the rest is unchanged */
	assert_memory_equal(renamed.data + 27 + len, s.data + s.len - (renamed.len - 27 - len),
			    renamed.len - 27 - len);

	/* incremental, on the parent we have (by received UUID or own UUID) */
	make_stream(&s, "vm-100-disk-0@s2", UUID_P, NULL, true);
	c = (struct btrfs_stream_check){ .incremental = true, .nparent_ids = 2 };
	memcpy(c.parent_ids[0], UUID_X, 16);
	memcpy(c.parent_ids[1], UUID_P, 16);
	assert_int_equal(filter(&s, &c, &out, &err), 0);
	buf_free(&s);
	buf_free(&out);
	buf_free(&renamed);
}

static void test_btrfs_stream_hostile(void **state)
{
	struct btrfs_stream_check c = { 0 }, inc = { .incremental = true, .nparent_ids = 1 };
	struct buf s = BUF_INIT;

	(void)state;
	memcpy(inc.parent_ids[0], UUID_P, 16);
	make_stream(&s, "vm-100-disk-0@s1", NULL, escape_rename, true);
	expect_refused(&s, &c, -EBADMSG, "command 2 (rename): a path leaves the subvolume");
	make_stream(&s, "vm-100-disk-0@s1", NULL, absolute_path, true);
	expect_refused(&s, &c, -EBADMSG, "a path leaves the subvolume");
	make_stream(&s, "vm-100-disk-0@s1", NULL, hardlink_out, true);
	expect_refused(&s, &c, -EBADMSG, "(link): a path leaves the subvolume");
	make_stream(&s, "vm-100-disk-0@s1", NULL, foreign_clone, true);
	expect_refused(&s, &c, -EBADMSG,
		       "clones from a subvolume that is not this one or its parent");
	make_stream(&s, "vm-100-disk-0@s1", NULL, unknown_command, true);
	expect_refused(&s, &c, -EBADMSG, "unknown command");
	make_stream(&s, "vm-100-disk-0@s1", NULL, second_subvol, true);
	expect_refused(&s, &c, -EBADMSG, "a second subvolume in one stream");
	make_stream(&s, "../vm-100-disk-0@s1", NULL, NULL, true);
	expect_refused(&s, &c, -EBADMSG, "its subvolume name is not one plain name");
	make_stream(&s, "vm-100-disk-0", NULL, NULL, true);
	expect_refused(&s, &c, -EBADMSG, "its subvolume is no snapshot");
	c.snapshot = "s9";
	make_stream(&s, "vm-100-disk-0@s1", NULL, NULL, true);
	expect_refused(&s, &c, -EBADMSG, "it brings snapshot 's1', not 's9'");
	c.snapshot = NULL;

	/* the kind of stream and the base */
	make_stream(&s, "vm-100-disk-0@s2", UUID_P, NULL, true);
	expect_refused(&s, &c, -EBADMSG, "an incremental stream, but a full one was expected");
	make_stream(&s, "vm-100-disk-0@s2", NULL, NULL, true);
	expect_refused(&s, &inc, -EBADMSG, "a full stream, but an incremental one was expected");
	make_stream(&s, "vm-100-disk-0@s2", UUID_X, NULL, true);
	expect_refused(&s, &inc, -EXDEV,
		       "wrong base: the stream continues from the snapshot with UUID c3c3c3c3");

	/* its end */
	make_stream(&s, "vm-100-disk-0@s1", NULL, files, false);
	expect_refused(&s, &c, -EPIPE, "before its end command (the sender died?)");
	make_stream(&s, "vm-100-disk-0@s1", NULL, files, true);
	s.len -= 3;
	expect_refused(&s, &c, -EPIPE, "before its end command");
	make_stream(&s, "vm-100-disk-0@s1", NULL, NULL, true);
	assert_int_equal(buf_append(&s, "x", 1), 0);
	expect_refused(&s, &c, -EBADMSG, "1 bytes after its end command");
	make_stream(&s, "vm-100-disk-0@s1", NULL, NULL, true);
	{
		struct buf more = BUF_INIT;

		command(&s, 21, &more);
		expect_refused(&s, &c, -EBADMSG, "there is more after its end command");
	}

	/* not a send stream */
	s.len = 0;
	assert_int_equal(buf_append(&s, "\0\0\0\0\0\0\0\0garbage garbage", 23), 0);
	expect_refused(&s, &c, -EBADMSG, "not a btrfs send stream");
	make_stream(&s, "vm-100-disk-0@s1", NULL, NULL, true);
	s.data[13] = 9;
	expect_refused(&s, &c, -EBADMSG, "btrfs send stream version 9 is not known");
	make_stream(&s, "vm-100-disk-0@s1", NULL, NULL, true);
	s.data[17 + 3] = 0x7f; /* a first command of 2 GiB */
	expect_refused(&s, &c, -EBADMSG, "longer than a first command can be");
	buf_free(&s);
}

static void test_uuid_text(void **state)
{
	unsigned char u[16];
	char text[40];

	(void)state;
	assert_int_equal(btrfs_uuid_parse("8849c812-f7bc-304e-b9d2-d3b11f4a3d48", u), 0);
	btrfs_uuid_format(u, text, sizeof(text));
	assert_string_equal(text, "8849c812-f7bc-304e-b9d2-d3b11f4a3d48");
	assert_int_equal(btrfs_uuid_parse("8849c812", u), -EINVAL);
	assert_int_equal(btrfs_uuid_parse("8849c812-f7bc-304e-b9d2-d3b11f4a3d4g", u), -EINVAL);
	memset(u, 0, 16);
	assert_true(btrfs_uuid_null(u));
}

/*
 * OpenSSH's temporary name for a master's socket: the socket's name, ".",
 * 16 letters and digits (mux.c). Nothing else in SSHMUX_DIR passes for one.
 */
/* A master's age in clock ticks since boot, against the maximum. */
static void test_sshmux_too_old(void **state)
{
	(void)state;
	assert_false(sshmux_too_old(1000, 1000 + 899 * 100, 100, 900));
	assert_true(sshmux_too_old(1000, 1000 + 900 * 100, 100, 900));
	assert_true(sshmux_too_old(0, 5000 * 100, 100, 900));
	/* a start after now (a record from another boot's clock): not taken for old */
	assert_false(sshmux_too_old(5000, 1000, 100, 900));
	assert_false(sshmux_too_old(1000, 1000, 100, 0));
	assert_true(sshmux_too_old(1000, 1001, 100, 0));
}

static void test_sshmux_temp_name(void **state)
{
	const char *sock = "node2@10.0.0.2.m";

	(void)state;
	assert_true(sshmux_temp_name(sock, "node2@10.0.0.2.m.aZ09bcdefghijklm"));
	assert_true(sshmux_temp_name(sock, "node2@10.0.0.2.m.0000000000000000"));
	/* the node's own files */
	assert_false(sshmux_temp_name(sock, "node2@10.0.0.2.m"));
	assert_false(sshmux_temp_name(sock, "node2@10.0.0.2.pid"));
	assert_false(sshmux_temp_name(sock, "node2@10.0.0.2.lock"));
	/* a node whose address is this one's plus ".m": its socket, record, lock, temp */
	assert_false(sshmux_temp_name(sock, "node2@10.0.0.2.m.m"));
	assert_false(sshmux_temp_name(sock, "node2@10.0.0.2.m.pid"));
	assert_false(sshmux_temp_name(sock, "node2@10.0.0.2.m.lock"));
	assert_false(sshmux_temp_name(sock, "node2@10.0.0.2.m.m.aZ09bcdefghijklm"));
	/* not 16, not letters and digits only, something after */
	assert_false(sshmux_temp_name(sock, "node2@10.0.0.2.m.aZ09bcdefghijkl"));
	assert_false(sshmux_temp_name(sock, "node2@10.0.0.2.m.aZ09bcdefghijklmn"));
	assert_false(sshmux_temp_name(sock, "node2@10.0.0.2.m.aZ09bcdefghijk-m"));
	assert_false(sshmux_temp_name(sock, "node2@10.0.0.2.m.aZ09bcdefghijk.m"));
	assert_false(sshmux_temp_name(sock, "node2@10.0.0.2.m.aZ09bcdefghijklm.new"));
	assert_false(sshmux_temp_name(sock, "node2@10.0.0.2.mXaZ09bcdefghijklm"));
	assert_false(sshmux_temp_name(sock, "node3@10.0.0.2.m.aZ09bcdefghijklm"));
	assert_false(sshmux_temp_name(sock, ""));
}

#define TEST_COROSYNC                                                               \
	"totem {\n  version: 2\n  cluster_name: t\n  config_version: 3\n}\n"        \
	"nodelist {\n"                                                              \
	"  node {\n    name: node1\n    nodeid: 1\n    ring0_addr: 10.9.0.1\n  }\n" \
	"  node {\n    name: node2\n    nodeid: 2\n    ring0_addr: 10.9.0.2\n"      \
	"    ring1_addr: 10.9.1.2\n  }\n"                                           \
	"  node {\n    name: node3\n    nodeid: 3\n  }\n"                           \
	"}\n"

/*
 * The one way to another node over ssh (replication's and `drover task
 * log`'s): link0 of corosync.conf, the host key pinned in droverfs's
 * priv/known_hosts under the node's name.
 */
static void test_ssh_node_way(void **state)
{
	char dir[] = "/tmp/drover-ssh-node-XXXXXX", addr[64], joined[2048], want[2048];
	struct cfs_brief b = { 0 };
	struct drover_err err = { "" };
	struct ssh_node_opts o;
	struct cmdline c;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(b.mountpoint, sizeof(b.mountpoint), "%s", dir);
	/* no corosync.conf: no cluster, no address */
	assert_int_equal(ssh_node_address(&b, "node2", addr, sizeof(addr), &err), -ENOENT);
	assert_non_null(strstr(err.text, "finding node node2"));
	tmpdir_put(dir, "corosync.conf", TEST_COROSYNC);
	assert_int_equal(ssh_node_address(&b, "node2", addr, sizeof(addr), &err), 0);
	assert_string_equal(addr, "10.9.0.2");
	assert_int_equal(ssh_node_address(&b, "node9", addr, sizeof(addr), &err), -ENOENT);
	assert_string_equal(err.text,
			    "node 'node9' is not in this cluster (see 'drover cluster nodes')");
	assert_int_equal(ssh_node_address(&b, "node3", addr, sizeof(addr), &err), -EINVAL);
	assert_string_equal(err.text, "node 'node3' has no link0 address in corosync.conf");
	assert_int_equal(ssh_node_address(&b, "node2", addr, 8, &err), -EINVAL);

	assert_int_equal(ssh_node_options(&b, "node2", &o, &err), 0);
	snprintf(want, sizeof(want),
		 "-o BatchMode=yes -o StrictHostKeyChecking=yes -o HostKeyAlias=node2 "
		 "-o UserKnownHostsFile=%s/priv/known_hosts -o GlobalKnownHostsFile=/dev/null "
		 "-o ConnectTimeout=10 -o ServerAliveInterval=10 -o ServerAliveCountMax=3",
		 dir);
	joined[0] = '\0';
	for (char **p = o.argv; *p; p++)
		snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s",
			 joined[0] ? " " : "", *p);
	assert_string_equal(joined, want);
	/* the streams' ssh gets the very same */
	cmdline_init(&c);
	assert_int_equal(transport_ssh_options(&b, "node2", &c, &err), 0);
	cmdline_join(&c, joined, sizeof(joined));
	assert_string_equal(joined, want);
	tmpdir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rawsize_header),
		cmocka_unit_test(test_rawsize_data),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_pump_round_trip),
		cmocka_unit_test(test_pump_refuses_broken_streams),
		cmocka_unit_test(test_pump_idle_timeout),
		cmocka_unit_test(test_btrfs_stream_good),
		cmocka_unit_test(test_btrfs_stream_hostile),
		cmocka_unit_test(test_uuid_text),
		cmocka_unit_test(test_sshmux_temp_name),
		cmocka_unit_test(test_sshmux_too_old),
		cmocka_unit_test(test_ssh_node_way),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
