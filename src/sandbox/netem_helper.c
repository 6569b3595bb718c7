/* SPDX-License-Identifier: MIT */
/*
 * The delay half of sandbox netem: bound to one NFQUEUE in a node's
 * network namespace, it holds every packet for the delay (plus or minus a
 * uniformly drawn jitter) and then accepts it. Verdicts may be given in
 * any order, so packets are kept in a min-heap by release time and a
 * jittered packet can overtake another, as with netem. Only the packet id
 * is copied from the kernel, never the payload.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libnetfilter_queue/libnetfilter_queue.h>

#include "basic/array.h"
#include "basic/util.h"
#include "sandbox.h"

#define QUEUE_MAXLEN 65536

struct held {
	uint64_t due_ns;
	uint32_t id;
};

struct netem {
	struct nfq_q_handle *qh;
	uint64_t delay_ns, jitter_ns;
	uint64_t rng;
	struct held *heap;
	size_t len, cap;
};

/* xorshift64*: jitter needs to be spread, not secret */
static uint64_t next_random(struct netem *ne)
{
	ne->rng ^= ne->rng >> 12;
	ne->rng ^= ne->rng << 25;
	ne->rng ^= ne->rng >> 27;
	return ne->rng * 2685821657736338717ull;
}

static void heap_swap(struct held *a, struct held *b)
{
	struct held t = *a;

	*a = *b;
	*b = t;
}

static int heap_push(struct netem *ne, struct held h)
{
	size_t i;

	if (ARRAY_GROW(ne->heap, ne->cap, ne->len + 1) < 0)
		return -ENOMEM;
	i = ne->len++;
	ne->heap[i] = h;
	while (i > 0 && ne->heap[(i - 1) / 2].due_ns > ne->heap[i].due_ns) {
		heap_swap(&ne->heap[(i - 1) / 2], &ne->heap[i]);
		i = (i - 1) / 2;
	}
	return 0;
}

static struct held heap_pop(struct netem *ne)
{
	struct held top = ne->heap[0];
	size_t i = 0;

	ne->heap[0] = ne->heap[--ne->len];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < ne->len && ne->heap[l].due_ns < ne->heap[m].due_ns)
			m = l;
		if (r < ne->len && ne->heap[r].due_ns < ne->heap[m].due_ns)
			m = r;
		if (m == i)
			break;
		heap_swap(&ne->heap[i], &ne->heap[m]);
		i = m;
	}
	return top;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa,
		     void *data)
{
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	struct netem *ne = data;
	struct held h;
	int64_t due = (int64_t)ne->delay_ns;

	if (!ph)
		return 0;
	h.id = ntohl(ph->packet_id);
	if (ne->jitter_ns)
		due += (int64_t)(next_random(ne) % (2 * ne->jitter_ns + 1)) -
		       (int64_t)ne->jitter_ns;
	h.due_ns = now_monotonic_ns() + (uint64_t)MAX(due, 0);
	/* Out of memory: let the packet go now rather than lose it. */
	if (heap_push(ne, h) < 0)
		nfq_set_verdict(qh, h.id, NF_ACCEPT, 0, NULL);
	return 0;
}

static void release(struct netem *ne, bool all)
{
	uint64_t now = now_monotonic_ns();

	while (ne->len > 0 && (all || ne->heap[0].due_ns <= now)) {
		struct held h = heap_pop(ne);

		nfq_set_verdict(ne->qh, h.id, NF_ACCEPT, 0, NULL);
	}
}

int sb_netem_helper_main(unsigned queue, unsigned delay_ms, unsigned jitter_ms)
{
	struct netem ne = { .delay_ns = delay_ms * 1000000ull,
			    .jitter_ns = jitter_ms * 1000000ull };
	struct nfq_handle *h = nfq_open();
	struct pollfd pfd[2];
	char buf[65536] __attribute__((aligned));
	sigset_t mask;
	int fd, r = 0;

	if (getrandom(&ne.rng, sizeof(ne.rng), 0) != sizeof(ne.rng) || ne.rng == 0)
		ne.rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	if (!h) {
		fprintf(stderr, "drover netem: nfq_open: %s\n", strerror(errno));
		return -errno;
	}
	if (nfq_bind_pf(h, AF_INET) < 0)
		fprintf(stderr, "drover netem: nfq_bind_pf: %s (continuing)\n", strerror(errno));
	ne.qh = nfq_create_queue(h, (uint16_t)queue, on_packet, &ne);
	if (!ne.qh) {
		r = -errno;
		fprintf(stderr, "drover netem: queue %u: %s\n", queue, strerror(errno));
		nfq_close(h);
		return r ? r : -EIO;
	}
	nfq_set_mode(ne.qh, NFQNL_COPY_META, 0);
	nfq_set_queue_maxlen(ne.qh, QUEUE_MAXLEN);
	/* A full queue lets packets through rather than dropping them. */
	nfq_set_queue_flags(ne.qh, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN);
	nfnl_rcvbufsiz(nfq_nfnlh(h), 8 << 20);
	fd = nfq_fd(h);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	pfd[0] = (struct pollfd){ .fd = signalfd(-1, &mask, SFD_CLOEXEC), .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = fd, .events = POLLIN };
	fprintf(stderr, "drover netem: queue %u, delay %u ms, jitter %u ms\n", queue, delay_ms,
		jitter_ms);
	for (;;) {
		struct timespec ts, *tsp = NULL;

		if (ne.len > 0) {
			uint64_t now = now_monotonic_ns(), due = ne.heap[0].due_ns;
			uint64_t wait = due > now ? due - now : 0;

			ts.tv_sec = (time_t)(wait / 1000000000ull);
			ts.tv_nsec = (long)(wait % 1000000000ull);
			tsp = &ts;
		}
		if (ppoll(pfd, 2, tsp, NULL) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			break;
		if (pfd[1].revents & POLLIN) {
			ssize_t n;

			while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
				nfq_handle_packet(h, buf, (int)n);
			/* ENOBUFS: the kernel dropped messages for us; carry on. */
		}
		release(&ne, false);
	}
	/* Leaving: nothing held may be lost, so everything goes now. */
	release(&ne, true);
	nfq_destroy_queue(ne.qh);
	nfq_close(h);
	free(ne.heap);
	return r;
}
