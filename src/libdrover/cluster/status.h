/* SPDX-License-Identifier: MIT */
/*
 * The cluster's status as drover reports it: what corosync says
 * (corosync_info.h), as JSON (`drover cluster status -o json`, later the
 * API) and votequorum's flags by name.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "corosync_info.h"

struct json_object;

/* votequorum's flags as corosync-quorumtool names them: "Quorate Qdevice". */
void cluster_status_flag_names(unsigned flags, char *out, size_t len);

/* Is a QDevice registered with votequorum? */
bool cluster_status_qdevice_registered(const struct cs_status *s);

/*
 * The status as a JSON object (the caller's to json_object_put): cluster,
 * quorum and votes, the QDevice (null without one), every node with its
 * links. NULL on -ENOMEM.
 */
struct json_object *cluster_status_json(const struct cs_status *s);
