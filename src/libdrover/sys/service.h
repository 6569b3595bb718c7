/* SPDX-License-Identifier: MIT */
/*
 * Service control: starting, stopping and restarting the daemons drover
 * depends on. Real hosts run systemd; the sandbox nodes and the CI machines
 * do not (PID 1 is no init there), and the sandbox's keeper runs their
 * daemons instead. Every command that needs a daemon (re)started goes
 * through here, so the rest of drover never asks which of the two it has.
 */
#pragma once

#include <stddef.h>

enum service_unit {
	SERVICE_COROSYNC,
	SERVICE_DROVERFS,
	SERVICE_SSHD,
	SERVICE_QDEVICE,
	SERVICE_QNETD, /* on a QNetd host (the sandbox's "qnetd") */
	SERVICE_DROVERD, /* the node agent */
};

enum service_action {
	SERVICE_START,
	SERVICE_STOP,
	SERVICE_RESTART,
	SERVICE_ENABLE, /* start now and at every boot (the sandbox has no boot: start) */
	SERVICE_DISABLE, /* stop now and no longer at boot (the sandbox: stop) */
};

/* Written by `drover sandbox up` into each node's private /run: "NAME K HOST\n". */
#define SERVICE_SANDBOX_MARKER "/run/drover-sandbox"

enum service_manager {
	SERVICE_MANAGER_NONE,
	SERVICE_MANAGER_SYSTEMD,
	SERVICE_MANAGER_SANDBOX,
};

/* Which manager this node has; for the sandbox, its name and node number. */
enum service_manager service_manager_detect(char *sandbox, size_t len, unsigned *node);

const char *service_unit_name(enum service_unit u);

/*
 * Carry out the action and wait for it (a started droverfs is mounted when
 * this returns). extra_args: for SERVICE_DROVERFS only, arguments of this
 * one start (e.g. "-l"), NULL-terminated, or NULL. Error text (the
 * manager's own words) goes to err if given. Returns 0, -ENOTSUP when
 * there is no manager, or another -errno.
 */
int service_control(enum service_unit u, enum service_action a, char *const extra_args[], char *err,
		    size_t err_len);

struct drover_err;

/*
 * service_control() for an operation: on failure err says
 * "starting corosync: <the manager's words>" (or "stopping ...").
 */
int service_do(enum service_unit u, enum service_action a, char *const extra_args[],
	       struct drover_err *err);
