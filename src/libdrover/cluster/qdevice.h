/* SPDX-License-Identifier: MIT */
/*
 * A node's side of the QDevice: the certificate database corosync-qdevice
 * authenticates with to corosync-qnetd (made by the package's own
 * corosync-qdevice-net-certutil), the bundle in which the first node hands
 * the QNetd CA and the cluster's certificate to the others, and waiting
 * for corosync to load a configuration and for the device to vote.
 *
 * The steps, as the certutil's documentation gives them: every node
 * trusts the QNetd CA (db_init); one node makes the cluster's certificate
 * request (db_request), the QNetd host signs it, that node imports it and
 * exports certificate and key as pk12 (db_import_signed), which every
 * other node imports (db_import_p12).
 */
#pragma once

#include <stdint.h>

#include "conf.h"
#include "basic/buf.h"

#define QDEVICE_DB_DIR "/etc/corosync/qdevice/net/nssdb"

/* Are corosync-qdevice and its certutil installed here? -ENOPKG (err says what to do) if not. */
int qdevice_tools_check(struct drover_err *err);

/* A new database that trusts the QNetd CA; one left from an earlier device is removed first. */
int qdevice_db_init(const struct buf *ca, struct drover_err *err);

/* The cluster's certificate request (the key stays in the database). */
int qdevice_db_request(const char *cluster, struct buf *crq, struct drover_err *err);

/* Import the signed certificate; certificate and key as pk12 for the other nodes into p12. */
int qdevice_db_import_signed(const struct buf *crt, struct buf *p12, struct drover_err *err);

/* Import the pk12 the first node exported. */
int qdevice_db_import_p12(const struct buf *p12, struct drover_err *err);

/* Remove the database (nothing there is fine). */
int qdevice_db_remove(struct drover_err *err);

/* "drover-qdevice 1", then ca=BASE64 and p12=BASE64 lines: what another node imports. */
int qdevice_bundle_write(const struct buf *ca, const struct buf *p12, struct buf *out);
int qdevice_bundle_parse(const char *text, size_t len, struct buf *ca, struct buf *p12,
			 struct drover_err *err);

/* Wait until this node's corosync has loaded config_version >= version. */
int qdevice_wait_config(uint64_t version, unsigned timeout_ms, struct drover_err *err);

/*
 * Wait until votequorum on this node has the device registered and alive
 * and its vote cast (want true), or no device registered (want false).
 */
int qdevice_wait_vote(bool want, unsigned timeout_ms, struct drover_err *err);
