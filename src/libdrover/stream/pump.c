/* SPDX-License-Identifier: MIT */
#include "pump.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "basic/fdio.h"
#include "basic/ratelimit.h"
#include "basic/util.h"
#include "basic/wire.h"

#define IO_CHUNK (1u << 20)
#define NS_PER_S 1000000000ull

/* What both directions share: counters, the rate limit and progress. */
struct pump {
	const struct pump_opts *o;
	struct pump_stats *st;
	enum pump_side *side;
	struct drover_err *err;
	struct ratelimit rl;
	uint64_t start_ns, last_ns, last_bytes, rate;
	unsigned char *buf; /* IO_CHUNK */
	unsigned char *zbuf; /* zstd's side */
	size_t zbuf_len;
	int mid[2]; /* a pipe for splicing a chunk whose length goes first */
};

static int fail(struct pump *p, enum pump_side side, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct pump *p, enum pump_side side, int r, const char *fmt, ...)
{
	va_list ap;

	*p->side = side;
	if (p->err) {
		va_start(ap, fmt);
		vsnprintf(p->err->text, sizeof(p->err->text), fmt, ap);
		va_end(ap);
	}
	return r;
}

static void report(struct pump *p, bool final)
{
	uint64_t now = now_monotonic_ns();
	uint64_t every = p->o->report_ns ? p->o->report_ns : NS_PER_S;

	if (!final && now - p->last_ns < every)
		return;
	if (now > p->last_ns) {
		uint64_t inst =
			(p->st->stream_bytes - p->last_bytes) * NS_PER_S / (now - p->last_ns);

		/* a little smoothing: the rate of the last few seconds */
		p->rate = p->rate ? (p->rate + inst) / 2 : inst;
	}
	p->last_ns = now;
	p->last_bytes = p->st->stream_bytes;
	p->st->elapsed_ns = now - p->start_ns;
	if (final && p->st->elapsed_ns)
		p->rate = p->st->stream_bytes * NS_PER_S / p->st->elapsed_ns;
	drover_report_bytes(p->o->rep, p->st->stream_bytes, p->o->total, p->rate,
			    p->st->elapsed_ns);
}

/* Was the transfer called off? Then fail, so the caller stops at once. */
static int check_cancel(struct pump *p)
{
	if (!p->o->cancel || !*p->o->cancel)
		return 0;
	return fail(p, PUMP_CANCELLED, -ECANCELED, "%s", "cancelled");
}

/* The input was silent for idle_ms. */
static int idle_fail(struct pump *p)
{
	return fail(p, PUMP_INPUT, -ETIMEDOUT,
		    "no data from the sender for %u s (the sender or the link is gone)",
		    (p->o->idle_ms + 999) / 1000);
}

/* Account n bytes written to the output, and wait as the rate limit says. */
static void wrote(struct pump *p, uint64_t n)
{
	uint64_t wait = ratelimit_take(&p->rl, n);

	p->st->wire_bytes += n;
	if (wait) {
		struct timespec ts = { (time_t)(wait / NS_PER_S), (long)(wait % NS_PER_S) };

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}

/* The chunk to move at once: smaller under a low limit, so the rate stays even. */
static size_t chunk_size(const struct pump *p)
{
	size_t n = IO_CHUNK;

	if (p->o->rate && p->o->rate / 20 < n)
		n = p->o->rate / 20 > 4096 ? (size_t)(p->o->rate / 20) : 4096;
	return n;
}

static int out_write(struct pump *p, int out, const void *data, size_t n)
{
	int r = write_all(out, data, n);

	if (r < 0)
		return fail(p, PUMP_OUTPUT, r, "writing the stream: %s", strerror(-r));
	wrote(p, n);
	return 0;
}

static int put_le32(struct pump *p, int out, uint32_t v)
{
	unsigned char b[4];

	le_put32(b, v);
	return out_write(p, out, b, 4);
}

/*
 * Wait until in has something (data or its end) for up to idle_ms (0:
 * do not wait here, the read blocks): 0, or -ETIMEDOUT.
 */
static int wait_input(int in, unsigned idle_ms)
{
	struct pollfd pf = { .fd = in, .events = POLLIN };
	uint64_t deadline = now_monotonic_ns() + (uint64_t)idle_ms * 1000000ull;
	int r;

	if (!idle_ms)
		return 0;
	for (;;) {
		uint64_t now = now_monotonic_ns();

		if (now >= deadline)
			return -ETIMEDOUT;
		r = poll(&pf, 1, (int)((deadline - now + 999999ull) / 1000000ull));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* read_full with an idle limit between the pieces: bytes read, or -errno. */
static ssize_t read_idle(int in, void *buf, size_t n, unsigned idle_ms)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k;
		int r = wait_input(in, idle_ms);

		if (r < 0)
			return r;
		k = read(in, (char *)buf + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	return (ssize_t)got;
}

/*
 * Move exactly n bytes from in to out with splice (one of them a pipe),
 * waiting at most idle_ms for each piece of in (0: no limit).
 */
static int splice_exact(int in, int out, size_t n, bool *in_ended, unsigned idle_ms)
{
	while (n > 0) {
		int r = wait_input(in, idle_ms);
		ssize_t k;

		if (r < 0)
			return r;
		k = splice(in, NULL, out, NULL, n, SPLICE_F_MOVE | SPLICE_F_MORE);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0) {
			*in_ended = true;
			return -EPIPE;
		}
		n -= (size_t)k;
	}
	return 0;
}

static int pump_init(struct pump *p, const struct pump_opts *o, struct pump_stats *st,
		     enum pump_side *side, struct drover_err *err)
{
	memset(p, 0, sizeof(*p));
	memset(st, 0, sizeof(*st));
	p->o = o;
	p->st = st;
	p->side = side;
	p->err = err;
	p->mid[0] = p->mid[1] = -1;
	*side = PUMP_OK;
	ratelimit_init(&p->rl, o->rate, 0, NULL, NULL);
	p->start_ns = p->last_ns = now_monotonic_ns();
	p->buf = malloc(IO_CHUNK);
	if (o->compress) {
		p->zbuf_len = ZSTD_CStreamOutSize() > ZSTD_DStreamOutSize() ? ZSTD_CStreamOutSize()
									    : ZSTD_DStreamOutSize();
		if (p->zbuf_len < IO_CHUNK)
			p->zbuf_len = IO_CHUNK;
		p->zbuf = malloc(p->zbuf_len);
	}
	if (!p->buf || (o->compress && !p->zbuf))
		return fail(p, PUMP_INPUT, -ENOMEM, "%s", "out of memory");
	return 0;
}

static void pump_done(struct pump *p)
{
	free(p->buf);
	free(p->zbuf);
	if (p->mid[0] >= 0) {
		close(p->mid[0]);
		close(p->mid[1]);
	}
}

/* ---- sending ---------------------------------------------------------- */

/* One chunk of bytes for the output: framed or not. */
static int send_bytes(struct pump *p, int out, const void *data, size_t n)
{
	int r = 0;

	if (n == 0)
		return 0;
	if (p->o->framed)
		r = put_le32(p, out, (uint32_t)n);
	return r < 0 ? r : out_write(p, out, data, n);
}

/* Plain: splice from in (a pipe) to out, through mid when the length goes first. */
static int send_plain(struct pump *p, int in, int out, bool *ended)
{
	size_t want = chunk_size(p);
	bool in_ended = false;
	ssize_t n;
	int r;

	if (!p->o->framed) {
		n = splice(in, NULL, out, NULL, want, SPLICE_F_MOVE | SPLICE_F_MORE);
		if (n < 0 && errno == EINVAL) {
			/* neither side splices (a file to a tty, say): copy */
			n = read(in, p->buf, want);
			if (n > 0 && (r = out_write(p, out, p->buf, (size_t)n)) < 0)
				return r;
			if (n > 0)
				p->st->stream_bytes += (size_t)n;
			*ended = n == 0;
			return n < 0 ? fail(p, PUMP_INPUT, -errno, "reading the stream: %s",
					    strerror(errno))
				     : 0;
		}
		if (n < 0)
			return errno == EPIPE ? fail(p, PUMP_OUTPUT, -EPIPE,
						     "writing the stream: %s", strerror(EPIPE))
					      : fail(p, PUMP_INPUT, -errno, "moving the stream: %s",
						     strerror(errno));
		*ended = n == 0;
		p->st->stream_bytes += (size_t)n;
		wrote(p, (uint64_t)n);
		return 0;
	}
	if (p->mid[0] < 0) {
		if (pipe2(p->mid, O_CLOEXEC) < 0)
			return fail(p, PUMP_INPUT, -errno, "pipe: %s", strerror(errno));
		fcntl(p->mid[1], F_SETPIPE_SZ, IO_CHUNK);
	}
	n = splice(in, NULL, p->mid[1], NULL, want, SPLICE_F_MOVE);
	if (n < 0)
		return fail(p, PUMP_INPUT, -errno, "reading the stream: %s", strerror(errno));
	*ended = n == 0;
	if (n == 0)
		return 0;
	r = put_le32(p, out, (uint32_t)n);
	if (r < 0)
		return r;
	r = splice_exact(p->mid[0], out, (size_t)n, &in_ended, 0);
	if (r < 0)
		return fail(p, PUMP_OUTPUT, r, "writing the stream: %s", strerror(-r));
	p->st->stream_bytes += (size_t)n;
	wrote(p, (uint64_t)n);
	return 0;
}

/* zstd: feed what in gives (or, at its end, finish the frame) and send what comes out. */
static int send_zstd(struct pump *p, ZSTD_CCtx *z, int in, int out, bool *ended)
{
	ssize_t n = read(in, p->buf, chunk_size(p));
	ZSTD_EndDirective mode = ZSTD_e_continue;
	ZSTD_inBuffer zin;
	size_t left;

	if (n < 0)
		return errno == EINTR ? 0
				      : fail(p, PUMP_INPUT, -errno, "reading the stream: %s",
					     strerror(errno));
	*ended = n == 0;
	p->st->stream_bytes += (size_t)n;
	zin = (ZSTD_inBuffer){ p->buf, (size_t)n, 0 };
	/* at the end the frame is not closed here: the sender's status decides */
	do {
		ZSTD_outBuffer zout = { p->zbuf, p->zbuf_len, 0 };
		int r;

		left = ZSTD_compressStream2(z, &zout, &zin, mode);
		if (ZSTD_isError(left))
			return fail(p, PUMP_INPUT, -EIO, "zstd: %s", ZSTD_getErrorName(left));
		r = send_bytes(p, out, p->zbuf, zout.pos);
		if (r < 0)
			return r;
	} while (zin.pos < zin.size);
	return 0;
}

static int zstd_finish(struct pump *p, ZSTD_CCtx *z, int out)
{
	ZSTD_inBuffer zin = { NULL, 0, 0 };
	size_t left;

	do {
		ZSTD_outBuffer zout = { p->zbuf, p->zbuf_len, 0 };
		int r;

		left = ZSTD_compressStream2(z, &zout, &zin, ZSTD_e_end);
		if (ZSTD_isError(left))
			return fail(p, PUMP_INPUT, -EIO, "zstd: %s", ZSTD_getErrorName(left));
		r = send_bytes(p, out, p->zbuf, zout.pos);
		if (r < 0)
			return r;
	} while (left > 0);
	return 0;
}

static ZSTD_CCtx *zstd_cctx(const struct pump_opts *o)
{
	ZSTD_CCtx *z = ZSTD_createCCtx();

	if (z) {
		ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, o->level ? o->level : 1);
		/* the frame carries a checksum: a corrupted stream is caught at its end */
		ZSTD_CCtx_setParameter(z, ZSTD_c_checksumFlag, 1);
	}
	return z;
}

int pump_send(int in, int out, const struct pump_opts *o, int (*finish)(void *ctx), void *ctx,
	      struct pump_stats *st, enum pump_side *side, struct drover_err *err)
{
	struct pump p;
	ZSTD_CCtx *z = NULL;
	sigset_t mask;
	bool ended = false;
	int r, status;

	sigpipe_block(&mask);
	r = pump_init(&p, o, st, side, err);
	if (r == 0 && o->compress && !(z = zstd_cctx(o)))
		r = fail(&p, PUMP_INPUT, -ENOMEM, "%s", "zstd: out of memory");
	if (r == 0 && o->framed)
		r = out_write(&p, out, PUMP_MAGIC, strlen(PUMP_MAGIC));
	while (r == 0 && !ended && (r = check_cancel(&p)) == 0) {
		r = z ? send_zstd(&p, z, in, out, &ended) : send_plain(&p, in, out, &ended);
		report(&p, false);
	}
	status = finish ? finish(ctx) : 0;
	if (r == 0 && status == 0 && z)
		r = zstd_finish(&p, z, out);
	if (r == 0 && o->framed) {
		r = put_le32(&p, out, 0);
		if (r == 0)
			r = put_le32(&p, out, (uint32_t)-status);
	}
	if (r == 0 && status < 0) {
		*side = PUMP_SENDER;
		r = status; /* the producer's error is in err already, from finish() */
	}
	report(&p, true);
	ZSTD_freeCCtx(z);
	pump_done(&p);
	sigpipe_restore(&mask);
	return r;
}

/* ---- receiving -------------------------------------------------------- */

/* The output with its last byte held back until the stream proved whole. */
struct hold {
	int fd;
	bool has;
	unsigned char byte;
};

static int hold_write(struct pump *p, struct hold *h, const unsigned char *data, size_t n)
{
	struct iovec iov[2];
	size_t total, done = 0;
	int cnt = 0;

	if (n == 0)
		return 0;
	if (h->has)
		iov[cnt++] = (struct iovec){ &h->byte, 1 };
	iov[cnt++] = (struct iovec){ (void *)data, n - 1 };
	total = (h->has ? 1 : 0) + n - 1;
	while (done < total) {
		ssize_t k = writev(h->fd, iov, cnt);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return fail(p, PUMP_OUTPUT, -errno, "writing the stream: %s",
				    strerror(errno));
		done += (size_t)k;
		/* advance over what was written */
		while (k > 0 && cnt > 0) {
			if ((size_t)k >= iov[0].iov_len) {
				k -= (ssize_t)iov[0].iov_len;
				memmove(iov, iov + 1, sizeof(iov[0]) * (size_t)--cnt);
			} else {
				iov[0].iov_base = (char *)iov[0].iov_base + k;
				iov[0].iov_len -= (size_t)k;
				k = 0;
			}
		}
	}
	h->byte = data[n - 1];
	h->has = true;
	p->st->stream_bytes += n;
	return 0;
}

/* n bytes straight from in to the output (spliced), the last one held. */
static int hold_splice(struct pump *p, struct hold *h, int in, size_t n)
{
	bool in_ended = false;
	ssize_t k;
	int r;

	if (h->has) {
		r = write_all(h->fd, &h->byte, 1);
		if (r < 0)
			return fail(p, PUMP_OUTPUT, r, "writing the stream: %s", strerror(-r));
		h->has = false;
	}
	r = splice_exact(in, h->fd, n - 1, &in_ended, p->o->idle_ms);
	if (r == -ETIMEDOUT)
		return idle_fail(p);
	if (r < 0 && !in_ended && r != -EINVAL)
		return fail(p, PUMP_OUTPUT, r, "writing the stream: %s", strerror(-r));
	if (r == -EINVAL) {
		/* neither is a pipe: read and write */
		for (size_t left = n - 1; left > 0;) {
			ssize_t got = read_idle(in, p->buf, MIN(left, IO_CHUNK), p->o->idle_ms);

			if (got <= 0)
				return fail(p, PUMP_INPUT, got < 0 ? (int)got : -EPIPE,
					    "reading the stream: %s",
					    got < 0 ? strerror((int)-got)
						    : "it ended inside a chunk");
			r = write_all(h->fd, p->buf, (size_t)got);
			if (r < 0)
				return fail(p, PUMP_OUTPUT, r, "writing the stream: %s",
					    strerror(-r));
			left -= (size_t)got;
		}
	} else if (in_ended) {
		return fail(p, PUMP_INPUT, -EPIPE, "reading the stream: %s",
			    "it ended inside a chunk (the sender or the connection died)");
	}
	k = read_idle(in, &h->byte, 1, p->o->idle_ms);
	if (k == -ETIMEDOUT)
		return idle_fail(p);
	if (k != 1)
		return fail(p, PUMP_INPUT, k < 0 ? (int)k : -EPIPE, "reading the stream: %s",
			    k < 0 ? strerror((int)-k) : "it ended inside a chunk");
	h->has = true;
	p->st->stream_bytes += n;
	return 0;
}

static int recv_exact(struct pump *p, int in, void *buf, size_t n, const char *what)
{
	ssize_t k = read_idle(in, buf, n, p->o->idle_ms);

	if (k == -ETIMEDOUT)
		return idle_fail(p);
	if (k < 0)
		return fail(p, PUMP_INPUT, (int)k, "reading the stream: %s", strerror((int)-k));
	if ((size_t)k < n)
		return fail(p, PUMP_INPUT, -EPIPE, "reading the stream: %s", what);
	p->st->wire_bytes += n;
	return 0;
}

/* Decompress n bytes of input (in p->buf) into the held output. */
static int unzstd(struct pump *p, ZSTD_DCtx *z, struct hold *h, size_t n, bool *frame_done)
{
	ZSTD_inBuffer zin = { p->buf, n, 0 };

	while (zin.pos < zin.size) {
		ZSTD_outBuffer zout = { p->zbuf, p->zbuf_len, 0 };
		size_t left = ZSTD_decompressStream(z, &zout, &zin);
		int r;

		if (ZSTD_isError(left))
			return fail(p, PUMP_INPUT, -EBADMSG, "the compressed stream is damaged: %s",
				    ZSTD_getErrorName(left));
		r = hold_write(p, h, p->zbuf, zout.pos);
		if (r < 0)
			return r;
		*frame_done = left == 0;
	}
	return 0;
}

/* Framed input: chunks until the end record; returns the sender's status in *status. */
static int recv_framed(struct pump *p, ZSTD_DCtx *z, int in, struct hold *h, int32_t *status,
		       bool *frame_done)
{
	unsigned char b[8];
	int r = recv_exact(p, in, b, 8, "it is empty (the sender sent nothing)");

	if (r < 0)
		return r;
	if (memcmp(b, PUMP_MAGIC, 8) != 0)
		return fail(p, PUMP_INPUT, -EBADMSG, "%s",
			    "not a drover stream (no DROVSTR1 at its start)");
	for (;;) {
		uint32_t n;

		if ((r = check_cancel(p)) < 0)
			return r;

		r = recv_exact(
			p, in, b, 4,
			"it ended without its end record (the sender or the connection died)");
		if (r < 0)
			return r;
		n = le_get32(b);
		if (n == 0)
			break;
		if (n > PUMP_CHUNK_MAX)
			return fail(p, PUMP_INPUT, -EBADMSG, "%s",
				    "the stream is damaged (a chunk longer than 16 MiB)");
		if (z) {
			for (uint32_t left = n; left > 0;) {
				uint32_t take = MIN(left, IO_CHUNK);

				r = recv_exact(
					p, in, p->buf, take,
					"it ended inside a chunk (the sender or the connection died)");
				if (r == 0)
					r = unzstd(p, z, h, take, frame_done);
				if (r < 0)
					return r;
				left -= take;
			}
		} else {
			r = hold_splice(p, h, in, n);
			if (r < 0)
				return r;
			p->st->wire_bytes += n;
		}
		report(p, false);
	}
	r = recv_exact(p, in, b, 4, "it ended inside its end record");
	if (r < 0)
		return r;
	*status = (int32_t)le_get32(b);
	return 0;
}

/* Unframed input: until end of file. */
static int recv_plain(struct pump *p, ZSTD_DCtx *z, int in, struct hold *h, bool *frame_done)
{
	for (;;) {
		ssize_t n;
		int r = check_cancel(p);

		if (r < 0)
			return r;
		r = wait_input(in, p->o->idle_ms);
		if (r == -ETIMEDOUT)
			return idle_fail(p);
		n = read(in, p->buf, IO_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(p, PUMP_INPUT, -errno, "reading the stream: %s",
				    strerror(errno));
		if (n == 0)
			return 0;
		p->st->wire_bytes += (size_t)n;
		r = z ? unzstd(p, z, h, (size_t)n, frame_done)
		      : hold_write(p, h, p->buf, (size_t)n);
		if (r < 0)
			return r;
		report(p, false);
	}
}

int pump_recv(int in, int out, const struct pump_opts *o, struct pump_stats *st,
	      enum pump_side *side, struct drover_err *err)
{
	struct hold h = { .fd = out };
	ZSTD_DCtx *z = NULL;
	struct pump p;
	sigset_t mask;
	int32_t status = 0;
	bool frame_done = false;
	int r;

	sigpipe_block(&mask);
	r = pump_init(&p, o, st, side, err);
	if (r == 0 && o->compress && !(z = ZSTD_createDCtx()))
		r = fail(&p, PUMP_INPUT, -ENOMEM, "%s", "zstd: out of memory");
	if (r == 0)
		r = o->framed ? recv_framed(&p, z, in, &h, &status, &frame_done)
			      : recv_plain(&p, z, in, &h, &frame_done);
	if (r == 0 && status != 0) {
		*side = PUMP_SENDER;
		r = drover_fail(err, status < 0 ? status : -EIO,
				"the sender failed (%s) and ended the stream", strerror(-status));
	}
	if (r == 0 && z && !frame_done && h.has)
		r = fail(
			&p, PUMP_INPUT, -EPIPE, "%s",
			"the compressed stream ended inside a frame (the sender or the connection died)");
	/* the stream proved whole: let the last byte go */
	if (r == 0 && h.has && (r = write_all(out, &h.byte, 1)) < 0)
		r = fail(&p, PUMP_OUTPUT, r, "writing the stream: %s", strerror(-r));
	report(&p, true);
	ZSTD_freeDCtx(z);
	pump_done(&p);
	sigpipe_restore(&mask);
	return r;
}
