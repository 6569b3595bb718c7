/* SPDX-License-Identifier: MIT */
/*
 * What the running corosync says, read through its own libraries (cmap,
 * quorum, votequorum, cfg) as corosync-quorumtool does: configuration,
 * quorum, votes, members and their knet links. Also the few requests drover
 * makes of it: set expected votes, stop a node's corosync, reload.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CS_MEMBERS_MAX 64
#define CS_LINKS_MAX 8

struct cs_member {
	unsigned nodeid;
	unsigned votes;
	bool local;
	bool online;
	char name[64]; /* from the nodelist; empty when it has none */
	char addr[64]; /* ring0_addr */
	unsigned link_mask; /* configured links */
	unsigned link_up; /* links connected as this node sees them */
	unsigned flags; /* VOTEQUORUM_INFO_QDEVICE_* as votequorum sees this node's qdevice */
};

struct cs_status {
	char cluster_name[64];
	uint64_t config_version;
	char transport[16];
	bool secauth;
	bool quorate;
	unsigned local_nodeid;
	unsigned ring_nodeid;
	uint64_t ring_seq;
	unsigned expected_votes;
	unsigned highest_expected;
	unsigned total_votes;
	unsigned quorum;
	unsigned flags; /* VOTEQUORUM_INFO_* */
	unsigned qdevice_votes;
	char qdevice_name[256];
	char qdevice_model[16]; /* quorum.device as configured; "" when there is none */
	char qdevice_host[256];
	char qdevice_algorithm[16];
	unsigned nmembers; /* online, in ring order */
	unsigned nnodes; /* nodelist: online and offline */
	struct cs_member nodes[CS_MEMBERS_MAX]; /* online first */
};

/* Fill s. Returns 0, -ENOTCONN (corosync is not running) or -errno; err says why. */
int cs_status_get(struct cs_status *s, char *err, size_t err_len);

/* votequorum_setexpected. -EINVAL: corosync refused (err says why). */
int cs_set_expected(unsigned votes, char *err, size_t err_len);

/* Ask the corosync of nodeid to shut down. */
int cs_kill_node(unsigned nodeid, const char *reason, char *err, size_t err_len);

/* Is corosync running here (its IPC answers)? */
bool cs_running(void);

/* totem.config_version of the configuration corosync has loaded. */
int cs_config_version(uint64_t *version, char *err, size_t err_len);

/*
 * votequorum's qdevice flags in pvecm's notation: "A,V,NMW" (alive, casts
 * its vote, master wins not set) or "NR" (not registered).
 */
void cs_qdevice_flags(unsigned flags, char *out, size_t len);
