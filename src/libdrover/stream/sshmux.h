/* SPDX-License-Identifier: MIT */
/*
 * One SSH connection for everything a replication run does on its target
 * (OpenSSH's connection multiplexing): the run starts a master connection
 * to the node, every ssh of the run (prepare-local-job, the volume
 * streams, finalize-local-job, set-state) goes through it as a session of
 * that connection, and the run closes it at its end. A key exchange and an
 * authentication per command cost more than the commands themselves.
 *
 * The control sockets live in SSHMUX_DIR (root's only, 0700), named
 * NODE.PID.SEQ after the process that opened them. A run killed with -9
 * cannot close its master: ControlPersist makes the master end on its own
 * SSHMUX_PERSIST_S seconds after its last session, and the next run sweeps
 * the sockets whose process is gone.
 */
#pragma once

#include <sys/un.h>

#include "libdrover/cluster/cfs.h"
#include "libdrover/error.h"

#define SSHMUX_DIR "/run/drover/ssh"
#define SSHMUX_PERSIST_S 60

struct sshmux {
	/* "": none; ssh adds 17 characters while it makes the socket */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) - 18];
	char addr[64];
};

/*
 * Start a master connection to node (after sweeping the sockets of dead
 * processes). On failure m has no socket and every ssh makes its own
 * connection: the run goes on; err says why (for the log).
 */
int sshmux_open(const struct cfs_brief *b, const char *node, struct sshmux *m,
		struct drover_err *err);

/* The control socket for transport_ssh_start(), or NULL when there is none. */
const char *sshmux_control(const struct sshmux *m);

/* Stop the master (its sessions are over) and remove its socket. */
void sshmux_close(struct sshmux *m);

/* Stop the masters of processes that are gone and remove their sockets. */
void sshmux_sweep(void);
