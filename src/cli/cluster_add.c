/* SPDX-License-Identifier: MIT */
/*
 * drover cluster add: run on the node that joins. It checks that this node
 * can join, verifies the member's SSH host key, has the member add it
 * (cluster _addnode over SSH), then starts over with the cluster's tree:
 * its own database is moved to a backup, corosync and droverfs start, and
 * once quorate it finishes its keys and certificate.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "libdrover/cluster/corosync_info.h"
#include "libdrover/cluster/join.h"
#include "libdrover/cluster/node_setup.h"
#include "libdrover/cluster/ssh.h"
#include "cluster_cli.h"
#include "libdrover/sys/service.h"
#include "basic/util.h"

#define JOIN_TIMEOUT_MS 120000
#define OPT_FINGERPRINT 0x200
#define OPT_JOIN_INFO 0x201
#define OPT_FORCE 0x202

struct add_args {
	const char *host;
	char fingerprint[JOIN_FINGERPRINT_MAX];
	bool force;
	struct cluster_node_spec node;
	struct join_info info;
	bool have_info;
};

static int parse_args(int argc, char **argv, struct add_args *a)
{
	static const struct option longopts[] = {
		CLUSTER_NODE_OPTIONS,
		{ "fingerprint", required_argument, NULL, OPT_FINGERPRINT },
		{ "join-info", required_argument, NULL, OPT_JOIN_INFO },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ NULL, 0, NULL, 0 }
	};
	struct drover_err err;
	int c;

	a->node.votes = 1;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		int r = cluster_node_option(c, optarg, &a->node);

		if (r < 0)
			return r;
		if (r == 1)
			continue;
		if (c == OPT_FINGERPRINT) {
			if (!str_has_prefix(optarg, "SHA256:") ||
			    strlen(optarg) >= sizeof(a->fingerprint)) {
				cli_error(
					"--fingerprint: '%s' is not an SSH fingerprint 'SHA256:...' (see 'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub' on the member)",
					optarg);
				return -EINVAL;
			}
			snprintf(a->fingerprint, sizeof(a->fingerprint), "%s", optarg);
		} else if (c == OPT_JOIN_INFO) {
			if (join_info_decode(optarg, &a->info, &err) < 0) {
				cli_error("--join-info: %s", err.text);
				return -EINVAL;
			}
			a->have_info = true;
		} else if (c == OPT_FORCE) {
			a->force = true;
		} else {
			return -EINVAL;
		}
	}
	if (a->have_info && a->fingerprint[0]) {
		cli_error("give --fingerprint or --join-info, not both");
		return -EINVAL;
	}
	if (optind < argc)
		a->host = argv[optind++];
	if (optind != argc || (!a->host && !a->have_info)) {
		cli_error(
			"cluster add takes the address of a member (or --join-info) (see --help)");
		return -EINVAL;
	}
	if (a->have_info) {
		snprintf(a->fingerprint, sizeof(a->fingerprint), "%s", a->info.fingerprint);
		if (!a->host)
			for (unsigned l = 0; l < CLUSTER_LINKS_MAX && !a->host; l++)
				if (a->info.link_mask & (1u << l))
					a->host = a->info.addrs[l];
	}
	return 0;
}

/* What a join would throw away; refused unless --force, which says it. */
static int check_joinable(const struct add_args *a, const struct cfs_brief *b)
{
	char path[4096];
	int problems = 0;

	cfs_path(b, "corosync.conf", path, sizeof(path));
	if (b->cluster_mode || access(path, F_OK) == 0) {
		cli_error("%s this node's cluster configuration (%s)",
			  a->force ? "--force: discarding" : "refusing to discard", path);
		problems++;
	}
	if (access(COROSYNC_AUTHKEY, F_OK) == 0) {
		cli_error("%s %s", a->force ? "--force: replacing" : "refusing to replace",
			  COROSYNC_AUTHKEY);
		problems++;
	}
	if (b->guests) {
		cli_error(
			"%s the configurations of %u guest(s) on this node (their VMIDs may be taken in the cluster)",
			a->force ? "--force: discarding" : "refusing to discard", b->guests);
		problems++;
	}
	if (cs_running()) {
		cli_error("corosync is running on this node: stop it first");
		return -EBUSY;
	}
	if (problems && !a->force) {
		cli_error(
			"this node cannot join as it is; --force discards what is listed above (a backup of the database is kept)");
		return -EEXIST;
	}
	return 0;
}

/* Pin the member's host key: from the fingerprint, or asked for on a terminal. */
static int pin_host(const struct add_args *a, char *known_hosts, size_t len)
{
	struct drover_err err;
	char tmpl[] = "/tmp/drover-join-XXXXXX";
	int r;

	if (!a->fingerprint[0])
		return 0; /* the usual known_hosts decide; ssh refuses an unknown key */
	if (!mkdtemp(tmpl)) {
		cli_error("mkdtemp: %s", strerror(errno));
		return -errno;
	}
	snprintf(known_hosts, len, "%s/known_hosts", tmpl);
	r = ssh_pin_host_key(a->host, a->fingerprint, known_hosts, &err);
	if (r < 0)
		cli_error("%s", err.text);
	else
		cluster_step("host key of %s verified: %s", a->host, a->fingerprint);
	return r;
}

static void unpin_host(const char *known_hosts)
{
	char dir[4096];

	if (!known_hosts[0])
		return;
	unlink(known_hosts);
	snprintf(dir, sizeof(dir), "%s", known_hosts);
	*strrchr(dir, '/') = '\0';
	rmdir(dir);
}

static int ask_member(const struct add_args *a, const char *known_hosts, struct join_response *resp)
{
	struct join_request req = { .node = a->node, .force = a->force };
	struct buf in = BUF_INIT, out = BUF_INIT;
	struct drover_err err = { "" };
	char *args[] = { "cluster", "_addnode", NULL };
	int r;

	r = ssh_root_key(req.ssh_key, sizeof(req.ssh_key), &err);
	if (r == 0)
		r = ssh_host_key(req.host_key, sizeof(req.host_key), &err);
	if (r < 0) {
		cli_error("%s", err.text);
		return r;
	}
	if (join_request_write(&req, &in) < 0)
		return -ENOMEM;
	cluster_step("asking %s to add node %s", a->host, a->node.name);
	r = ssh_run_drover(a->host, known_hosts[0] ? known_hosts : NULL, args, in.data, in.len,
			   &out);
	buf_free(&in);
	if (r < 0 || (r == 255 && out.len == 0)) {
		cli_error(
			"cannot reach root@%s over SSH%s", a->host,
			r < 0 ? ""
			      : " (see ssh's message above; without a key, ssh asks for root's password on a terminal)");
		buf_free(&out);
		return r < 0 ? r : -EHOSTUNREACH;
	}
	r = join_response_parse((const char *)out.data, out.len, resp, &err);
	buf_free(&out);
	if (r < 0) {
		cli_error("%s: %s", a->host, err.text);
		return r;
	}
	if (resp->warnings[0])
		fprintf(stderr, "warning: %s", resp->warnings);
	if (resp->error[0]) {
		cli_error("%s refused: %s", a->host, resp->error);
		return -EPERM;
	}
	return 0;
}

/*
 * Move the database (with its WAL and op journal) aside: the node starts over
 * with the cluster's tree. A journal left behind belongs to the old database:
 * the new droverfs would refuse it and keep it as damaged.
 */
static int backup_database(const struct cfs_brief *b)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", ".journal" };
	char dir[4096], from[4096], to[4200];
	time_t now = time(NULL);
	char *slash;

	snprintf(dir, sizeof(dir), "%s", b->database);
	slash = strrchr(dir, '/');
	if (!b->database[0] || !slash) {
		cli_error("droverfs did not say where its database is");
		return -EINVAL;
	}
	snprintf(slash, sizeof(dir) - (size_t)(slash - dir), "/backup");
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		cli_error("%s: %s", dir, strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		snprintf(from, sizeof(from), "%s%s", b->database, suffixes[i]);
		snprintf(to, sizeof(to), "%s/config-%lld-before-join.db%s", dir, (long long)now,
			 suffixes[i]);
		if (rename(from, to) < 0 && errno != ENOENT) {
			cli_error("moving %s to %s: %s", from, to, strerror(errno));
			return -errno;
		}
	}
	cluster_step("this node's old database is kept as %s/config-%lld-before-join.db", dir,
		     (long long)now);
	return 0;
}

static int switch_over(struct cli_context *ctx, const struct cfs_brief *old,
		       const struct join_response *resp, struct cfs_brief *b)
{
	struct drover_err err;
	int r;

	cluster_step("stopping droverfs");
	r = cluster_service(SERVICE_DROVERFS, SERVICE_STOP, NULL);
	if (r == 0)
		r = backup_database(old);
	if (r == 0) {
		cluster_step("writing %s and %s", COROSYNC_AUTHKEY, COROSYNC_CONF);
		r = node_install_corosync(resp->corosync_conf.data, resp->corosync_conf.len,
					  resp->authkey.data, resp->authkey.len, &err);
		if (r < 0)
			cli_error("%s", err.text);
	}
	if (r == 0) {
		cluster_step("starting corosync and droverfs");
		r = cluster_service(SERVICE_COROSYNC, SERVICE_RESTART, NULL);
	}
	if (r == 0)
		r = cluster_service(SERVICE_DROVERFS, SERVICE_START, NULL);
	if (r < 0)
		return r;
	cluster_step("waiting for quorum and the cluster's tree");
	r = cfs_wait_writable(ctx->socket_path, true, JOIN_TIMEOUT_MS, b);
	if (r < 0)
		cli_error(
			"not quorate and in sync after %d s (droverfs: %s, %s): see 'drover cluster status'",
			JOIN_TIMEOUT_MS / 1000, b->cluster_mode ? "cluster mode" : "local mode",
			b->sync[0] ? b->sync : "?");
	if (r == 0) {
		cluster_step("starting droverd");
		r = cluster_service(SERVICE_DROVERD, SERVICE_ENABLE, NULL);
	}
	return r;
}

static int finish(const struct add_args *a, const struct cfs_brief *b)
{
	const char *addrs[CLUSTER_LINKS_MAX];
	struct drover_err err;
	size_t n = cluster_node_spec_addrs(&a->node, addrs);
	int r;

	cluster_step("setting up SSH keys, known hosts and this node's certificate");
	r = node_setup_tree(b, "", addrs, n, false, true, &err);
	if (r < 0)
		cli_error("%s (the node is in the cluster; run 'drover cluster updatecerts' later)",
			  err.text);
	return r;
}

static int cmd_add(struct cli_context *ctx, int argc, char **argv)
{
	struct add_args a = { 0 };
	struct join_response resp;
	struct cfs_brief old, b;
	char known_hosts[4096] = "";
	int r;

	if (parse_args(argc, argv, &a) < 0)
		return CLI_EXIT_USAGE;
	if (cluster_require_root("add") < 0 || cluster_cfs(ctx, &old) < 0 ||
	    check_joinable(&a, &old) < 0)
		return CLI_EXIT_FAIL;
	snprintf(a.node.name, sizeof(a.node.name), "%s", old.node);
	if (cluster_local_links(&a.node) < 0 || pin_host(&a, known_hosts, sizeof(known_hosts)) < 0)
		return CLI_EXIT_FAIL;
	join_response_init(&resp);
	r = ask_member(&a, known_hosts, &resp);
	unpin_host(known_hosts);
	if (r == 0) {
		cluster_step("node %s added with node id %u", a.node.name, resp.nodeid);
		r = switch_over(ctx, &old, &resp, &b);
	}
	join_response_free(&resp);
	if (r == 0 && finish(&a, &b) == 0)
		cluster_step("node %s joined the cluster", a.node.name);
	return r < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

const struct cli_command cluster_add_cmd = {
	.name = "add",
	.summary = "join this node to a cluster (run on the new node)",
	.usage =
		"Usage: drover cluster add HOST [--fingerprint FP | --join-info STRING]\n"
		"                         [--link0 ADDR[,priority=N]] ... [--nodeid N] [--votes N]\n"
		"                         [--force]\n"
		"       drover cluster add --join-info STRING [...]\n"
		"\n"
		"Joins this node to the cluster that HOST (a member's address) is in. The\n"
		"member is reached as root over SSH (ssh asks for its password when no key is\n"
		"installed) and adds this node to corosync.conf under the cluster-wide lock.\n"
		"This node then moves its droverfs database to a backup, starts corosync and\n"
		"droverfs with the cluster's tree, waits for quorum and sets up its SSH keys\n"
		"and certificate. Every step is printed.\n"
		"\n"
		"A node is refused when it has a cluster configuration, a corosync authkey or\n"
		"guests; --force joins anyway and says what it discards.\n"
		"\n"
		"The member refuses while the cluster has a QDevice, --force or not: run\n"
		"'drover cluster qdevice remove' on a member first, and 'drover cluster\n"
		"qdevice setup ADDR' again once the node count is even.\n"
		"\n"
		"Options:\n"
		"  --fingerprint FP      the member's SSH host key fingerprint (SHA256:...);\n"
		"                        the join stops if the host offers another key\n"
		"  --join-info STRING    the output of 'drover cluster join-info' on a member:\n"
		"                        address and fingerprint in one string\n"
		"  --linkN ADDR[,priority=P]  this node's address on link N; the links must be\n"
		"                        the cluster's. Default: link0 = the host name's address\n"
		"  --nodeid N            node id (default: the lowest free one)\n"
		"  --votes N             votes (default 1)\n"
		"  --force               join although this node has a configuration or guests\n",
	.run = cmd_add,
};
