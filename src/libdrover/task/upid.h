/* SPDX-License-Identifier: MIT */
/*
 * Task identifiers in Proxmox's UPID form:
 *   UPID:NODE:PID:PSTART:STARTTIME:TYPE:ID:USER:
 * PID, PSTART (the process's start in clock ticks since boot, so that a
 * reused PID is told apart) and STARTTIME (epoch seconds) are upper-case
 * hex, at least 8 digits (PSTART may have 9). TYPE ("qmstart",
 * "vzdump"...) and USER ("root@pam") are not empty; ID (a VMID, a storage)
 * may be. None of the three holds ':' or a blank.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libdrover/format/names.h"

#define UPID_MAX 256
#define UPID_FIELD_MAX 64

struct upid {
	char node[NODE_NAME_MAX + 1];
	uint32_t pid;
	uint64_t pstart; /* < 16^9 */
	uint32_t starttime;
	char type[UPID_FIELD_MAX];
	char id[UPID_FIELD_MAX];
	char user[UPID_FIELD_MAX];
};

/*
 * Format u into out. Returns the length, -EINVAL when a field cannot be
 * written (a bad node name, an empty type or user, ':' or a blank in a
 * field, pstart of more than 9 hex digits) or -ENOSPC.
 */
int upid_format(const struct upid *u, char *out, size_t len);

/* Parse text (the whole string). Returns 0 or -EINVAL. */
int upid_parse(const char *text, struct upid *u);

/*
 * Where the task's log lives: DIR/X/UPID, X being the last hex digit of
 * the start time (Proxmox spreads task logs over 16 directories this
 * way). Returns 0, -EINVAL (not a UPID) or -ENOSPC.
 */
int upid_log_path(const char *dir, const char *upid, char *out, size_t len);

/*
 * The start time of a running process in clock ticks since boot
 * (/proc/PID/stat field 22), for a task's PSTART and to check that the
 * process behind a UPID is still the same one. Returns 0 or -errno
 * (-ESRCH: no such process).
 */
int upid_proc_start(pid_t pid, uint64_t *pstart);

/* Is the worker behind u (a task of this node) still the process that began it? */
bool task_worker_alive(const struct upid *u);
