/* SPDX-License-Identifier: MIT */
/*
 * One SSH connection to a node for everything replication does there
 * (OpenSSH's connection multiplexing), kept between runs: a key exchange
 * and an authentication cost more than the commands a run with nothing to
 * send makes (prepare-local-job, the import, finalize-local-job).
 *
 * The first run to a node starts a master connection in the background
 * (sshmux_open, while the run does its local work) and waits for it only
 * before its first remote command (sshmux_wait); every ssh of the run goes
 * through it as a session. The master stays when the run ends: the next
 * run to the node, from the CLI or from droverd, uses it. OpenSSH's
 * ControlPersist ends it SSHMUX_IDLE_S seconds after its last session, so
 * a node no run talks to holds no connection for long. A master whose
 * link dies ends on its own too (ServerAlive*, transport.c).
 *
 * Safety: the sockets open root shells on other nodes, so they live in
 * SSHMUX_DIR, a directory of root's alone (0700) under /run/drover, which
 * must be root's and writable by nobody else, or nothing is used. A socket
 * is used only when it is a socket of this user's at the node's own name
 * (NODE@ADDRESS.m: a new address gets a new master) and the ssh process
 * that made it is alive: its PID and start time are recorded beside it
 * (NODE@ADDRESS.pid) when it starts, so a PID reused by another process
 * never counts as the master. Anything else at that name is removed and a
 * new master started. Starting, checking and removing a node's master
 * take the node's lock (NODE@ADDRESS.lock, flock): two runs never start
 * two. The run that starts one holds it until its first remote command; a
 * run waiting for it meanwhile uses the master once its socket answers.
 *
 * A master lives at most SSHMUX_MAX_AGE_S: the run that finds it older
 * tells it to take no new sessions (`ssh -O stop`: the sessions of runs
 * still using it go on, then it ends) and starts a new one, so a key or
 * host key changed on the node takes effect within that time even for a
 * node that runs keep busy. DROVER_SSH_MASTER_MAX_AGE (seconds) overrides
 * it, for tests.
 *
 * sshmux_sweep (droverd, every minute, and every sshmux_open) removes the
 * sockets and records of masters that are gone (killed, crashed): it looks
 * at processes, never connects to a live master, which would restart its
 * idle time.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "libdrover/cluster/cfs.h"
#include "libdrover/error.h"

#define SSHMUX_DIR "/run/drover/ssh"
#define SSHMUX_IDLE_S 180
#define SSHMUX_MAX_AGE_S 900

/*
 * Is a master that started at start_ticks (clock ticks since boot) older
 * than max_age_s seconds at now_ticks, with hz ticks a second?
 */
bool sshmux_too_old(uint64_t start_ticks, uint64_t now_ticks, uint64_t hz, uint64_t max_age_s);

struct sshmux {
	/* "": none; ssh adds 17 characters while it makes the socket */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) - 18];
	char addr[64];
	char node[64];
	bool ready; /* path is a live master */
	bool reused; /* it was there before this run */
	pid_t starting; /* the ssh that logs in and backgrounds the master, until sshmux_wait */
	int errfd; /* its stderr */
	int lock; /* the node's lock while starting, else -1 */
	pid_t asking; /* ssh -O check for the new master's PID, until sshmux_close */
	int ask_errfd;
	uint64_t asked; /* when it asked (clock ticks since boot): the master began before */
	char note[256]; /* what was found and removed, for the log ("" none) */
};

/* No master: what sshmux_close() may be given without sshmux_open(). */
void sshmux_init(struct sshmux *m);

/*
 * The node's kept master if it is alive, else start one in the background
 * (after sweeping the records of masters that are gone). On failure m has
 * no socket and every ssh makes its own connection: the run goes on; err
 * says why (for the log). m->note may say what was refused.
 */
int sshmux_open(const struct cfs_brief *b, const char *node, struct sshmux *m,
		struct drover_err *err);

/*
 * Wait until a master sshmux_open started is logged in. Returns 0 (also
 * when there was nothing to wait for) or -errno: then m has no socket.
 */
int sshmux_wait(struct sshmux *m, struct drover_err *err);

/* The control socket for transport_ssh_start(), or NULL when there is none (yet). */
const char *sshmux_control(const struct sshmux *m);

/* The run is done with it: the master stays for the next run (a start under way is waited for). */
void sshmux_close(struct sshmux *m);

/*
 * Is name (a file name in SSHMUX_DIR) a temporary socket ssh made for the
 * socket sock (its file name, NODE@ADDRESS.m)? OpenSSH's master binds
 * sock + "." + SSHMUX_TEMP_RANDOM random letters and digits first
 * (mux.c, muxserver_listen) and renames it to sock once it listens; a
 * start killed in between leaves it. Exactly that shape: another node's
 * files (NODE@ADDRESS.m.m, .pid, .lock of an address ending in ".m")
 * never pass for one.
 */
#define SSHMUX_TEMP_RANDOM 16
bool sshmux_temp_name(const char *sock, const char *name);

/*
 * Remove the sockets and records of masters that are gone. note (may be
 * NULL): what was refused (a socket that was not ours), "" if nothing.
 */
void sshmux_sweep(char *note, size_t len);
