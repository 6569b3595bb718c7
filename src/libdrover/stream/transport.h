/* SPDX-License-Identifier: MIT */
/*
 * How a volume stream reaches another node: drover on that node over the
 * cluster's SSH (root's key, host keys pinned in droverfs's
 * priv/known_hosts, as `drover cluster` set them up), or, when the user
 * asks for insecure, a plain TCP connection on the migration network (a
 * port of 60000-60050 bound to the receiver's address in that network
 * only), with SSH still starting the receiver.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "basic/buf.h"
#include "libdrover/cluster/cfs.h"
#include "libdrover/error.h"
#include "libdrover/storage/cmdline.h"

#define TRANSPORT_PORT_FIRST 60000
#define TRANSPORT_PORT_LAST 60050
#define TRANSPORT_ACCEPT_MS 30000
#define TRANSPORT_ADDR_MAX 64
/*
 * A receiver whose stream brings nothing for this long gives up and
 * removes what it made: the sender, or the link, is gone (a cut link ends
 * nothing on the receiving side). The sender's ssh gives up sooner
 * (ServerAlive*), so a live sender never meets it.
 */
#define TRANSPORT_IDLE_TIMEOUT_S 60

/* drover running on another node over SSH. */
struct transport_ssh {
	pid_t pid;
	int in; /* its stdin (write end), -1 when not asked for */
	int out; /* its stdout (read end) */
	int errfd; /* its stderr, a memfd */
};

/*
 * The options every ssh to node uses (cluster/ssh.h, ssh_node_options:
 * batch mode, node's pinned host key, timeouts, keepalives), appended to
 * c. Its address: ssh_node_address.
 */
int transport_ssh_options(const struct cfs_brief *b, const char *node, struct cmdline *c,
			  struct drover_err *err);

/*
 * Start `drover ARGS...` on node (at addr) as root. control: the control
 * socket of a master connection to node (sshmux.h) to run it through, or
 * NULL (its own connection; also what ssh falls back to when the master
 * is gone). with_stdin: t->in is a pipe to its stdin (else /dev/null).
 */
int transport_ssh_start(const struct cfs_brief *b, const char *node, const char *addr,
			const char *control, char *const args[], bool with_stdin,
			struct transport_ssh *t, struct drover_err *err);

/* Read one line of its stdout (without the newline), waiting up to timeout_ms. */
int transport_ssh_line(struct transport_ssh *t, char *line, size_t len, unsigned timeout_ms,
		       struct drover_err *err);

/*
 * Close its stdin (if still open), read the rest of its stdout into out,
 * wait for it. Its exit status (255: ssh itself failed) into *status and
 * the end of its stderr into errtext.
 */
void transport_ssh_finish(struct transport_ssh *t, struct buf *out, int *status, char *errtext,
			  size_t len);

/* Kill it (a transfer that failed on this side) and reap it. */
void transport_ssh_kill(struct transport_ssh *t);

/*
 * The receiving side of insecure: listen on this host's one address inside
 * cidr, on the first free port of 60000-60050. The listening socket into
 * *fd; the address and port the sender must use into addr and *port.
 */
int transport_listen(const char *cidr, char *addr, size_t len, int *port, int *fd,
		     struct drover_err *err);
/* One connection on lfd within timeout_ms (then lfd is closed). */
int transport_accept(int lfd, unsigned timeout_ms, struct drover_err *err);
int transport_connect(const char *addr, int port, unsigned timeout_ms, struct drover_err *err);
