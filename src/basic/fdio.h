/* SPDX-License-Identifier: MIT */
/* Reading and writing whole buffers on pipes and sockets. */
#pragma once

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Read until len bytes or end of file. Returns the bytes read (less than
 * len only at end of file) or -errno.
 */
ssize_t read_full(int fd, void *buf, size_t len);

/*
 * Writes to a pipe whose reader is gone raise SIGPIPE, which would end
 * the whole process (a daemon too). Between these two calls, such a write
 * fails with EPIPE instead, in the calling thread only, and a SIGPIPE left
 * pending is consumed before the old mask comes back.
 */
void sigpipe_block(sigset_t *old);
void sigpipe_restore(const sigset_t *old);
