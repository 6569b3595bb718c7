/* SPDX-License-Identifier: MIT */
/*
 * What a joining node and a member say to each other. The joining node
 * runs `drover cluster _addnode` on the member over SSH, writes a request
 * on its stdin and reads the answer from its stdout. Both are "key=value"
 * lines after a first line naming the protocol and its version, so an old
 * member refuses a newer joiner clearly instead of guessing.
 *
 * The join information (`drover cluster join-info`) is one copyable string:
 * "drover-join-1:" and the base64 of the same kind of lines.
 */
#pragma once

#include <stdbool.h>

#include "conf.h"
#include "basic/buf.h"

#define JOIN_PROTOCOL "drover-join"
#define JOIN_PROTOCOL_VERSION 1
#define JOIN_SSH_KEY_MAX 1024
#define JOIN_FINGERPRINT_MAX 128

struct join_request {
	struct cluster_node_spec node;
	bool force;
	char ssh_key[JOIN_SSH_KEY_MAX]; /* the joiner's root public key */
	char host_key[JOIN_SSH_KEY_MAX]; /* the joiner's sshd host key, for known_hosts */
};

struct join_response {
	char error[256]; /* empty: accepted */
	unsigned nodeid;
	struct buf corosync_conf;
	struct buf authkey;
	char warnings[1024]; /* lines */
};

struct join_info {
	char cluster[CLUSTER_NAME_MAX + 1];
	char node[64]; /* the member that printed it */
	unsigned link_mask;
	char addrs[CLUSTER_LINKS_MAX][CLUSTER_ADDR_MAX];
	char fingerprint[JOIN_FINGERPRINT_MAX]; /* "SHA256:..." of its ssh host key */
};

int join_request_write(const struct join_request *req, struct buf *out);
int join_request_parse(const char *text, size_t len, struct join_request *req,
		       struct drover_err *err);

void join_response_init(struct join_response *resp);
void join_response_free(struct join_response *resp);
int join_response_write(const struct join_response *resp, struct buf *out);
int join_response_parse(const char *text, size_t len, struct join_response *resp,
			struct drover_err *err);

int join_info_encode(const struct join_info *info, struct buf *out);
int join_info_decode(const char *text, struct join_info *info, struct drover_err *err);
