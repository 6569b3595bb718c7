/* SPDX-License-Identifier: MIT */
/* Running other programs (ip, tc, corosync, ssh-keygen ...) and waiting for them. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

/*
 * Run argv[0] (searched in PATH) with argv, wait for it. Its stdout and
 * stderr go to `output` (NUL-terminated, cut to len) if given, else to
 * /dev/null. If `before_exec` is given it runs in the child first (to enter
 * namespaces, say); its negative return aborts the child. Returns the exit
 * status (0-255), 128+signal if killed, or -errno if it could not run.
 */
int process_run(char *const argv[], char *output, size_t len, int (*before_exec)(void *),
		void *arg);

/*
 * Run argv (searched in PATH) with `in` on its stdin, its stdout appended
 * to out and its stderr to err; a NULL out or err leaves that stream
 * connected to ours (so a prompt or a progress line reaches the user).
 * Returns the exit status, 128+signal, or -errno if it could not run.
 */
int process_run_io(char *const argv[], const void *in, size_t in_len, struct buf *out,
		   struct buf *err);

/*
 * Wait for the child pid to end (retrying on EINTR). Returns its exit
 * status (0-255), 128+signal if killed, or -errno.
 */
int process_wait(pid_t pid);

/* Start argv in the background (no wait); returns the pid or -errno. */
pid_t process_spawn(char *const argv[], int (*before_exec)(void *), void *arg);

/* Is pid alive (a zombie counts as dead)? */
int process_alive(pid_t pid);

/*
 * SIGTERM, wait up to timeout_ms for it to go, then SIGKILL. Returns 0 or
 * -errno (-ESRCH: it was not running).
 */
int process_stop(pid_t pid, int timeout_ms);

/* Read a pid from a file (first line); 0 when missing or invalid. */
pid_t pid_from_file(const char *path);
