/* SPDX-License-Identifier: MIT */
#include "add.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "basic/util.h"
#include "corosync_info.h"
#include "libdrover/cfs/dbfiles.h"
#include "libdrover/sys/service.h"
#include "node_setup.h"
#include "ssh.h"

#define JOIN_TIMEOUT_MS 120000

/* What a join would throw away: each reported; refused unless --force. */
static int check_joinable(const struct cluster_add_req *req, const struct cfs_brief *b,
			  const struct drover_reporter *rep, struct drover_err *err)
{
	char path[4096];
	int problems = 0;

	cfs_path(b, "corosync.conf", path, sizeof(path));
	if (b->cluster_mode || access(path, F_OK) == 0) {
		drover_report_error(rep, "%s this node's cluster configuration (%s)",
				    req->force ? "--force: discarding" : "refusing to discard",
				    path);
		problems++;
	}
	if (access(COROSYNC_AUTHKEY, F_OK) == 0) {
		drover_report_error(rep, "%s %s",
				    req->force ? "--force: replacing" : "refusing to replace",
				    COROSYNC_AUTHKEY);
		problems++;
	}
	if (b->guests) {
		drover_report_error(
			rep,
			"%s the configurations of %u guest(s) on this node (their VMIDs may be taken in the cluster)",
			req->force ? "--force: discarding" : "refusing to discard", b->guests);
		problems++;
	}
	if (cs_running())
		return drover_fail(err, -EBUSY, "corosync is running on this node: stop it first");
	if (problems && !req->force)
		return drover_fail(
			err, -EEXIST,
			"this node cannot join as it is; --force discards what is listed above (a backup of the database is kept)");
	return 0;
}

/* Pin the member's host key from the fingerprint, in a known_hosts file of its own. */
static int pin_host(const struct cluster_add_req *req, char *known_hosts, size_t len,
		    const struct drover_reporter *rep, struct drover_err *err)
{
	char tmpl[] = "/tmp/drover-join-XXXXXX";
	int r;

	if (!req->fingerprint[0])
		return 0; /* the usual known_hosts decide; ssh refuses an unknown key */
	if (!mkdtemp(tmpl))
		return drover_fail(err, -errno, "mkdtemp: %s", strerror(errno));
	snprintf(known_hosts, len, "%s/known_hosts", tmpl);
	r = ssh_pin_host_key(req->host, req->fingerprint, known_hosts, err);
	if (r == 0)
		drover_report_log(rep, "host key of %s verified: %s", req->host, req->fingerprint);
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

static int ask_member(const struct cluster_add_req *a, const char *known_hosts,
		      struct join_response *resp, const struct drover_reporter *rep,
		      struct drover_err *err)
{
	struct join_request req = { .node = a->node, .force = a->force };
	struct buf in = BUF_INIT, out = BUF_INIT;
	char *args[] = { "cluster", "_addnode", NULL };
	int r;

	r = ssh_root_key(req.ssh_key, sizeof(req.ssh_key), err);
	if (r == 0)
		r = ssh_host_key(req.host_key, sizeof(req.host_key), err);
	if (r < 0)
		return r;
	if (join_request_write(&req, &in) < 0)
		return drover_fail(err, -ENOMEM, "%s", strerror(ENOMEM));
	drover_report_log(rep, "asking %s to add node %s", a->host, a->node.name);
	r = ssh_run_drover(a->host, known_hosts[0] ? known_hosts : NULL, args, in.data, in.len,
			   &out);
	buf_free(&in);
	if (r < 0 || (r == 255 && out.len == 0)) {
		buf_free(&out);
		return drover_fail(
			err, r < 0 ? r : -EHOSTUNREACH, "cannot reach root@%s over SSH%s", a->host,
			r < 0 ? ""
			      : " (see ssh's message above; without a key, ssh asks for root's password on a terminal)");
	}
	r = join_response_parse((const char *)out.data, out.len, resp, err);
	buf_free(&out);
	if (r < 0)
		return drover_fail_prefix(err, r, "%s", a->host);
	if (resp->warnings[0]) {
		size_t n = strlen(resp->warnings);

		drover_report_warn(rep, "%.*s", (int)(resp->warnings[n - 1] == '\n' ? n - 1 : n),
				   resp->warnings);
	}
	if (resp->error[0])
		return drover_fail(err, -EPERM, "%s refused: %s", a->host, resp->error);
	return 0;
}

/*
 * Move the database (with its WAL and op journal) aside: the node starts over
 * with the cluster's tree. A journal left behind belongs to the old database:
 * the new droverfs would refuse it and keep it as damaged.
 */
static int backup_database(const struct cfs_brief *b, const struct drover_reporter *rep,
			   struct drover_err *err)
{
	char dir[4096], to[4200];
	time_t now = time(NULL);
	char *slash;
	int r;

	snprintf(dir, sizeof(dir), "%s", b->database);
	slash = strrchr(dir, '/');
	if (!b->database[0] || !slash)
		return drover_fail(err, -EINVAL, "droverfs did not say where its database is");
	snprintf(slash, sizeof(dir) - (size_t)(slash - dir), "/backup");
	r = mkdir_p(dir, 0700);
	if (r < 0)
		return drover_fail(err, r, "%s: %s", dir, strerror(-r));
	snprintf(to, sizeof(to), "%s/config-%lld-before-join.db", dir, (long long)now);
	r = db_files_move(b->database, to, err);
	if (r == 0)
		drover_report_log(rep, "this node's old database is kept as %s", to);
	return r;
}

static int switch_over(const char *socket, const struct cfs_brief *old,
		       const struct join_response *resp, struct cfs_brief *b,
		       const struct drover_reporter *rep, struct drover_err *err)
{
	int r;

	drover_report_log(rep, "stopping droverfs");
	r = service_do(SERVICE_DROVERFS, SERVICE_STOP, NULL, err);
	if (r == 0)
		r = backup_database(old, rep, err);
	if (r == 0) {
		drover_report_log(rep, "writing %s and %s", COROSYNC_AUTHKEY, COROSYNC_CONF);
		r = node_install_corosync(resp->corosync_conf.data, resp->corosync_conf.len,
					  resp->authkey.data, resp->authkey.len, err);
	}
	if (r == 0) {
		drover_report_log(rep, "starting corosync and droverfs");
		r = service_do(SERVICE_COROSYNC, SERVICE_RESTART, NULL, err);
	}
	if (r == 0)
		r = service_do(SERVICE_DROVERFS, SERVICE_START, NULL, err);
	if (r < 0)
		return r;
	drover_report_log(rep, "waiting for quorum and the cluster's tree");
	r = cfs_wait_writable(socket, true, JOIN_TIMEOUT_MS, b);
	if (r < 0)
		drover_fail(
			err, r,
			"not quorate and in sync after %d s (droverfs: %s, %s): see 'drover cluster status'",
			JOIN_TIMEOUT_MS / 1000, b->cluster_mode ? "cluster mode" : "local mode",
			b->sync[0] ? b->sync : "?");
	if (r == 0) {
		drover_report_log(rep, "starting droverd");
		r = service_do(SERVICE_DROVERD, SERVICE_ENABLE, NULL, err);
	}
	return r;
}

static int finish(const struct cluster_add_req *req, const struct cfs_brief *b,
		  const struct drover_reporter *rep, struct drover_err *err)
{
	const char *addrs[CLUSTER_LINKS_MAX];
	size_t n = cluster_node_spec_addrs(&req->node, addrs);
	int r;

	drover_report_log(rep, "setting up SSH keys, known hosts and this node's certificate");
	r = node_setup_tree(b, "", addrs, n, false, true, err);
	if (r < 0)
		drover_fail_append(
			err, r,
			" (the node is in the cluster; run 'drover cluster updatecerts' later)");
	return r;
}

int cluster_add(const char *socket, const struct cfs_brief *old, struct cluster_add_req *req,
		struct cluster_add_result *res, const struct drover_reporter *rep,
		struct drover_err *err)
{
	struct join_response resp;
	struct cfs_brief b;
	char known_hosts[4096] = "";
	int r;

	memset(res, 0, sizeof(*res));
	r = check_joinable(req, old, rep, err);
	if (r < 0)
		return r;
	snprintf(req->node.name, sizeof(req->node.name), "%s", old->node);
	r = node_local_links(&req->node, err);
	if (r == 0)
		r = pin_host(req, known_hosts, sizeof(known_hosts), rep, err);
	if (r < 0) {
		unpin_host(known_hosts);
		return r;
	}
	join_response_init(&resp);
	r = ask_member(req, known_hosts, &resp, rep, err);
	unpin_host(known_hosts);
	if (r == 0) {
		res->nodeid = resp.nodeid;
		drover_report_log(rep, "node %s added with node id %u", req->node.name,
				  resp.nodeid);
		r = switch_over(socket, old, &resp, &b, rep, err);
	}
	join_response_free(&resp);
	if (r < 0)
		return r;
	res->joined = true;
	return finish(req, &b, rep, err);
}
