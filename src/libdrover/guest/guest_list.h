/* SPDX-License-Identifier: MIT */
/*
 * What `drover vm list` and `drover ct list` show for the whole cluster,
 * read with few droverfs round trips however many guests there are: the
 * guest list (.vmlist) once, every config of the type in one batch read
 * (IPC_READ_FILES), and each other node's published status once per node.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "libdrover/cfs/ipc_client.h"
#include "libdrover/error.h"
#include "libdrover/format/guest_conf.h"
#include "libdrover/format/names.h"
#include "libdrover/node/status.h"

/* One guest of the list: its config (NULL when missing or unreadable) and where it runs. */
struct guest_listed {
	uint32_t vmid;
	char node[NODE_NAME_MAX + 1];
	struct guest_conf *conf;
};

/*
 * The guests of type in droverfs's guest list, in VMID order, with their
 * configs. *out is freed with guest_listed_free().
 */
int guest_list_read(struct ipc_client *cl, enum guest_type type, struct guest_listed **out,
		    size_t *n, struct drover_err *err);
void guest_listed_free(struct guest_listed *v, size_t n);

/* What other nodes published about their guests, each node's read once, when first asked. */
struct guest_published {
	struct published_node *nodes;
	size_t n, cap;
};

/*
 * The status node published for guest vmid of type: 1 and *g when it
 * lists it, 0 when it published a status without it (*time: when it
 * published), -ENOENT when it published none (or it cannot be read).
 */
int guest_published_find(struct guest_published *p, struct ipc_client *cl, const char *node,
			 uint32_t vmid, enum guest_type type, struct guest_status *g,
			 int64_t *time);
void guest_published_free(struct guest_published *p);
