/* SPDX-License-Identifier: MIT */
/*
 * Starting a program with the file descriptors the caller chose as its
 * stdin, stdout and stderr, for pipelines (a tool writing a stream into a
 * pipe, another reading one) in a process that may have threads: it uses
 * posix_spawn, and the child starts with no signal blocked and SIGPIPE at
 * its default, whatever the caller set for itself.
 *
 * A child's stderr is best caught in a memfd (spawn_errfd): it never
 * fills up and blocks the child, and is read once the child is gone.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/*
 * Start argv (searched in PATH) with in/out/err as fds 0/1/2 (-1:
 * /dev/null). Every other descriptor of the caller must be O_CLOEXEC to
 * stay out of the child. Returns the pid or -errno.
 */
pid_t spawn_fds(char *const argv[], int in, int out, int err); /* reaped by process_wait() */

/* "exited with 3", "was killed by signal 9 (Killed)" for a process_wait() status. */
void spawn_status_text(int status, char *buf, size_t len);

/* A memfd for a child's stderr (O_CLOEXEC), or -errno. */
int spawn_errfd(void);

/*
 * The last non-empty lines of what was written to errfd, at most len-1
 * bytes, joined with "; " (for an error message). "" if nothing was written.
 */
void spawn_errfd_text(int errfd, char *buf, size_t len);
