/* SPDX-License-Identifier: MIT */
/*
 * SSH between the nodes: root's key pair, the cluster-wide authorized_keys
 * and known_hosts kept in droverfs (priv/), host key fingerprints, and
 * running drover on another node. Everything goes through OpenSSH's own
 * tools (ssh, ssh-keygen, ssh-keyscan), so its rules and its prompts (a
 * root password when no key is installed yet) apply unchanged.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cfs.h"
#include "conf.h"
#include "basic/buf.h"

#define SSH_ROOT_DIR "/root/.ssh"
#define SSH_KNOWN_HOSTS_LINK "/etc/ssh/ssh_known_hosts"

/* Root's public key ("type base64 comment"), made (ed25519) when root has none. */
int ssh_root_key(char *pub, size_t len, struct drover_err *err);

/* This host's sshd ed25519 (else ecdsa, rsa) public key as "type base64". */
int ssh_host_key(char *key, size_t len, struct drover_err *err);

/* "SHA256:..." of a public key line. */
int ssh_fingerprint(const char *key, char *fp, size_t len, struct drover_err *err);

/*
 * Fetch host's keys (ssh-keyscan) and keep those whose fingerprint is fp.
 * Writes them as a known_hosts file at path. Returns 0, -EKEYREJECTED (no
 * key matches: with what was offered in err) or -errno.
 */
int ssh_pin_host_key(const char *host, const char *fp, const char *path, struct drover_err *err);

/*
 * The drover to run on another node: this one's path when it is not
 * installed under /usr (a build tree, the sandbox), else "drover" from PATH.
 */
void ssh_remote_drover(char *out, size_t len);

/*
 * Run "drover ARGS..." on root@host with `in` on its stdin; its stdout goes
 * to out, its stderr to ours. known_hosts: a pinned file, or NULL for the
 * usual ones (then an unknown host key is refused). Returns drover's exit
 * status, 255 when ssh itself failed, or -errno.
 */
int ssh_run_drover(const char *host, const char *known_hosts, char *const args[], const void *in,
		   size_t in_len, struct buf *out);

/*
 * How every ssh to another node of the cluster reaches it (replication's
 * streams and master connections, `drover task log/stop` of its tasks):
 * its address, link0 in the tree's corosync.conf, and the options below.
 */
int ssh_node_address(const struct cfs_brief *b, const char *node, char *addr, size_t len,
		     struct drover_err *err);

#define SSH_NODE_OPTS_MAX 24

/*
 * The options, as "-o" "NAME=VALUE" pairs in argv (NULL-terminated, its
 * strings in o): never asking (BatchMode), node's host key as droverfs
 * pinned it in priv/known_hosts whatever address it is reached at
 * (HostKeyAlias=node, no other known_hosts file), timeouts, keepalives.
 */
struct ssh_node_opts {
	char *argv[SSH_NODE_OPTS_MAX + 1];
	char alias[96];
	char known[PATH_MAX + 32];
};

int ssh_node_options(const struct cfs_brief *b, const char *node, struct ssh_node_opts *o,
		     struct drover_err *err);

/*
 * ssh_run_drover() to node of the cluster: at ssh_node_address(), with
 * ssh_node_options(). The address it used into addr (for a message).
 * Returns drover's exit status there, 255 when ssh itself failed, or
 * -errno with err.
 */
int ssh_node_run_drover(const struct cfs_brief *b, const char *node, char *const args[],
			const void *in, size_t in_len, struct buf *out, char *addr, size_t addr_len,
			struct drover_err *err);

/*
 * Run a shell command line as root@host, never asking anything (BatchMode:
 * ssh_copy_id is the step that may ask). Its stdout goes to out, its
 * stderr to err (NULL: ours). Returns the remote exit status, 255 when ssh
 * itself failed, or -errno.
 */
int ssh_run_command(const char *host, const char *command, const void *in, size_t in_len,
		    struct buf *out, struct buf *err);

/*
 * Install root's public key on root@host with ssh-copy-id: ssh asks on the
 * terminal for root's password there (and about an unknown host key).
 */
int ssh_copy_id(const char *host, struct drover_err *err);

/*
 * Merge root's current authorized_keys and `extra` (a key line or NULL)
 * into priv/authorized_keys in the tree, and make SSH_ROOT_DIR/authorized_keys
 * a link to it (what was there is kept as authorized_keys.drover-old).
 */
int ssh_share_authorized_keys(const struct cfs_brief *b, const char *extra, struct drover_err *err);

/*
 * Put "name,addr... key" into priv/known_hosts in the tree (replacing the
 * node's old lines) and link SSH_KNOWN_HOSTS_LINK to it.
 */
int ssh_share_known_host(const struct cfs_brief *b, const char *name, const char *const addrs[],
			 size_t naddrs, const char *host_key, struct drover_err *err);
