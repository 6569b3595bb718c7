/* SPDX-License-Identifier: MIT */
/*
 * The QNetd host as `drover cluster qdevice setup` uses it: a plain host
 * with Debian's corosync-qnetd and no drover, reached as root over SSH.
 * Everything there is done by the package's own corosync-qnetd-certutil
 * in short shell commands, so a QNetd host needs nothing else.
 */
#pragma once

#include <stdbool.h>

#include "conf.h"
#include "basic/buf.h"
#include "libdrover/report.h"

#define QNETD_PORT 5403

/*
 * Log in as root@host. With no key installed there (or an unknown host key)
 * and a terminal, ssh-copy-id installs root's key, asking for the
 * password once (reported to rep first). Returns 0, -EHOSTUNREACH (ssh cannot connect) or -EACCES
 * (refused); err gives ssh's own words.
 */
int qnetd_login(const char *host, const struct drover_reporter *rep, struct drover_err *err);

/*
 * Check that corosync-qnetd is installed (-ENOPKG if not), make the QNetd
 * CA if it has none (*created: it was made now), and fetch its CA
 * certificate into ca.
 */
int qnetd_ca(const char *host, bool *created, struct buf *ca, struct drover_err *err);

/* Have the QNetd CA sign the cluster's certificate request; the certificate goes to crt. */
int qnetd_sign(const char *host, const char *cluster, const struct buf *crq, struct buf *crt,
	       struct drover_err *err);

/*
 * Can this host open a TCP connection to host:QNETD_PORT within timeout_ms
 * (corosync-qdevice's own path to corosync-qnetd)? Returns 0 or -errno
 * (err says why).
 */
int qnetd_reachable(const char *host, unsigned timeout_ms, struct drover_err *err);
