/* SPDX-License-Identifier: MIT */
#include "qdevice_cluster.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "corosync_info.h"
#include "qdevice.h"
#include "qdevice_step.h"
#include "qnetd.h"

#define VOTE_TIMEOUT_MS 30000
#define CONFIG_TIMEOUT_MS 30000
#define QDEVICE_LOCK "qdevice"
#define QDEVICE_LOCK_TIMEOUT_MS 10000

/* The drawbacks of a QDevice in a cluster with an odd node count, as pvecm's documentation gives them. */
static const char odd_drawbacks[] =
	"With an odd number of nodes the QDevice gets (N-1) votes (algorithm lms), so\n"
	"that all nodes but one may fail. The drawbacks:\n"
	"  - If the QNetd host itself fails, no other node may fail or the cluster loses\n"
	"    quorum at once: in a cluster of 15 nodes, 7 could fail without a QDevice;\n"
	"    with one that has failed, not a single node may. The QDevice is almost a\n"
	"    single point of failure.\n"
	"  - When all nodes but one fail, everything they ran is recovered on the last\n"
	"    one, which it may not be able to carry; a Ceph cluster stops serving once\n"
	"    only (N-1)/2 nodes or fewer are online.";

/* The cluster as corosync.conf and corosync describe it, gathered before anything changes. */
struct qd_cluster {
	const struct cfs_brief *b;
	const struct drover_reporter *rep;
	bool locked; /* holds QDEVICE_LOCK */
	struct cc_node *conf; /* as read under the lock */
	char name[CLUSTER_NAME_MAX + 1];
	unsigned n;
	struct qdevice_target nodes[CS_MEMBERS_MAX];
};

static void read_nodes(struct qd_cluster *c)
{
	const struct cc_node *list = cc_child(c->conf, "nodelist");

	for (const struct cc_node *n = list ? list->children : NULL; n && c->n < CS_MEMBERS_MAX;
	     n = n->next) {
		struct qdevice_target *t = &c->nodes[c->n];
		const char *name = cc_get(n, NULL, "name"), *id = cc_get(n, NULL, "nodeid");

		if (n->value || !streq(n->name, "node") || !name)
			continue;
		memset(t, 0, sizeof(*t));
		snprintf(t->name, sizeof(t->name), "%s", name);
		t->nodeid = id ? (unsigned)strtoul(id, NULL, 10) : 0;
		t->local = streq(name, c->b->node);
		/* SSH goes to the lowest link, as it did when the node joined */
		for (unsigned l = 0; l < CLUSTER_LINKS_MAX && !t->addr[0]; l++)
			if (cluster_conf_node_addr(n, l))
				snprintf(t->addr, sizeof(t->addr), "%s",
					 cluster_conf_node_addr(n, l));
		c->n++;
	}
}

/* Which nodes corosync sees now. */
static int read_online(struct qd_cluster *c, struct drover_err *err)
{
	struct cs_status *s = malloc(sizeof(*s));
	char why[256];
	int r = s ? cs_status_get(s, why, sizeof(why)) : -ENOMEM;

	if (r < 0)
		drover_fail(err, r, "%s", s ? why : strerror(-r));
	for (unsigned i = 0; r == 0 && i < c->n; i++)
		for (unsigned k = 0; k < s->nnodes; k++)
			if (s->nodes[k].nodeid == c->nodes[i].nodeid)
				c->nodes[i].online = s->nodes[k].online;
	free(s);
	return r;
}

static const struct qdevice_target *local_node(const struct qd_cluster *c)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->nodes[i].local)
			return &c->nodes[i];
	return NULL;
}

/* The lock, corosync.conf as it is under it, its nodes and which are online. */
static int load(struct qd_cluster *c, struct drover_err *err)
{
	int r = cfs_lock(c->b, QDEVICE_LOCK, QDEVICE_LOCK_TIMEOUT_MS);

	if (r < 0)
		return drover_fail(
			err, r, "cannot take the cluster lock priv/lock/%s: %s", QDEVICE_LOCK,
			r == -EBUSY ? "another 'drover cluster qdevice' command is running"
				    : strerror(-r));
	c->locked = true;
	c->conf = cfs_read_corosync_conf(c->b, err);
	if (!c->conf)
		return -EINVAL;
	snprintf(c->name, sizeof(c->name), "%s", cc_get(c->conf, "totem", "cluster_name") ?: "");
	read_nodes(c);
	if (!local_node(c))
		return drover_fail(err, -EINVAL, "node %s is not in corosync.conf", c->b->node);
	return read_online(c, err);
}

/* What load took: the lock and corosync.conf. */
static void unload(struct qd_cluster *c)
{
	if (c->locked)
		cfs_unlock(c->b, QDEVICE_LOCK);
	c->locked = false;
	cc_free(c->conf);
	c->conf = NULL;
}

/* Run one step on every online node; each failure is reported. Returns how many failed. */
static unsigned each_node(const struct qd_cluster *c, const char *step, const char *arg,
			  const struct buf *in, const char *done)
{
	unsigned failed = 0;

	for (unsigned i = 0; i < c->n; i++) {
		struct drover_err err = { "" };

		if (!c->nodes[i].online)
			continue;
		if (qdevice_node_step(&c->nodes[i], step, arg, in, &err) < 0) {
			drover_report_error(c->rep, "%s", err.text);
			failed++;
		} else if (done) {
			drover_report_log(c->rep, "%s: %s", c->nodes[i].name, done);
		}
	}
	return failed;
}

/* each_node() as one result: -EIO with err naming the step when any node failed. */
static int on_every_node(const struct qd_cluster *c, const char *step, const char *arg,
			 const char *done, struct drover_err *err)
{
	unsigned failed = each_node(c, step, arg, NULL, done);

	if (failed)
		return drover_fail(err, -EIO, "step '%s' failed on %u of the %u nodes", step,
				   failed, c->n);
	return 0;
}

/* ---- setup ------------------------------------------------------------------ */

static int all_online(const struct qd_cluster *c, struct drover_err *err)
{
	unsigned offline = 0;

	for (unsigned i = 0; i < c->n; i++) {
		if (c->nodes[i].online)
			continue;
		drover_report_error(c->rep,
				    "node %s is offline: qdevice setup needs every node online",
				    c->nodes[i].name);
		offline++;
	}
	if (offline)
		return drover_fail(err, -EHOSTDOWN, "%u of the %u nodes are offline", offline,
				   c->n);
	return 0;
}

/*
 * What setup will write, tried on the copy of corosync.conf that load read
 * (the edit reads it again under its lock): every refusal comes before
 * any change.
 */
static int plan(const struct qd_cluster *c, const char *addr, bool force, const char **algo,
		struct drover_err *err)
{
	unsigned nodes = cluster_conf_node_count(c->conf);
	bool odd = nodes % 2 && !cluster_conf_qdevice_host(c->conf);
	int r = cluster_conf_add_qdevice(c->conf, addr, force, algo, err);

	/* the reason for the refusal, or what --force accepts */
	if (odd && force)
		drover_report_warn(c->rep, "%s", odd_drawbacks);
	else if (odd)
		drover_report_note(c->rep, "%s", odd_drawbacks);
	if (r < 0)
		return r;
	drover_report_log(c->rep, "%u nodes: algorithm %s%s", nodes, *algo,
			  nodes % 2 ? " (an odd node count, set up anyway as --force asks)" : "");
	return 0;
}

/* The QNetd host: log in, its CA. */
static int prepare_qnetd(const struct qd_cluster *c, const char *addr, struct buf *ca,
			 struct drover_err *err)
{
	bool created = false;
	int r;

	drover_report_log(c->rep, "logging in to root@%s", addr);
	r = qnetd_login(addr, c->rep, err);
	if (r == 0)
		r = qnetd_ca(addr, &created, ca, err);
	if (r == 0)
		drover_report_log(c->rep, "%s: QNetd CA %s", addr,
				  created ? "made now (corosync-qnetd-certutil -i)" : "present");
	return r;
}

/* This node's database trusts the CA; the cluster's certificate signed and imported: pk12. */
static int certify_here(const struct qd_cluster *c, const char *addr, const struct buf *ca,
			struct buf *p12, struct drover_err *err)
{
	struct buf crq = BUF_INIT, crt = BUF_INIT;
	const struct qdevice_target *self = local_node(c);
	int r = qdevice_db_init(ca, err);

	if (r == 0) {
		drover_report_log(c->rep, "%s: certificate database made, trusting the QNetd CA",
				  self->name);
		r = qdevice_db_request(c->name, &crq, err);
	}
	if (r == 0)
		r = qnetd_sign(addr, c->name, &crq, &crt, err);
	if (r == 0) {
		drover_report_log(c->rep, "%s: certificate of cluster %s signed by the QNetd CA",
				  addr, c->name);
		r = qdevice_db_import_signed(&crt, p12, err);
	}
	if (r == 0)
		drover_report_log(c->rep, "%s: cluster certificate imported", self->name);
	buf_free(&crq);
	buf_free(&crt);
	return r;
}

/* The certificates: every node trusts the CA, and holds the cluster's certificate and key. */
static int make_certificates(const struct qd_cluster *c, const char *addr, const struct buf *ca,
			     struct drover_err *err)
{
	struct buf p12 = BUF_INIT, bundle = BUF_INIT;
	int r = certify_here(c, addr, ca, &p12, err);

	if (r == 0 && qdevice_bundle_write(ca, &p12, &bundle) < 0)
		r = drover_fail(err, -ENOMEM, "%s", strerror(ENOMEM));
	/* the others: the CA and the certificate with its key, on their stdin over SSH */
	for (unsigned i = 0; r == 0 && i < c->n; i++) {
		if (c->nodes[i].local)
			continue;
		r = qdevice_node_step(&c->nodes[i], "import", NULL, &bundle, err);
		if (r == 0)
			drover_report_log(
				c->rep,
				"%s: certificate database made, cluster certificate imported",
				c->nodes[i].name);
	}
	buf_free(&p12);
	buf_free(&bundle);
	return r;
}

struct add_device {
	const char *addr;
	bool force;
	const char *algo;
};

static int add_device(struct cc_node *conf, void *ctx, struct drover_err *err)
{
	struct add_device *ad = ctx;

	return cluster_conf_add_qdevice(conf, ad->addr, ad->force, &ad->algo, err);
}

/* Under the cluster-wide lock: corosync.conf with the device and config_version + 1. */
static int write_conf(const struct qd_cluster *c, const char *addr, bool force, uint64_t *version,
		      struct drover_err *err)
{
	struct add_device ad = { addr, force, NULL };
	int r = cfs_edit_corosync_conf(c->b, add_device, &ad, version, NULL, err);

	if (r == 0)
		drover_report_log(
			c->rep,
			"corosync.conf config_version %llu written: quorum device net, host %s, algorithm %s",
			(unsigned long long)*version, addr, ad.algo);
	return r;
}

static int start_everywhere(const struct qd_cluster *c, uint64_t version, struct drover_err *err)
{
	char arg[32];
	int r;

	drover_report_log(c->rep, "waiting for corosync to load config_version %llu",
			  (unsigned long long)version);
	r = qdevice_wait_config(version, CONFIG_TIMEOUT_MS, err);
	if (r < 0)
		return r;
	snprintf(arg, sizeof(arg), "%llu", (unsigned long long)version);
	r = on_every_node(c, "start", arg, "corosync-qdevice started", err);
	if (r < 0)
		return r;
	drover_report_log(c->rep, "waiting for the QDevice's vote");
	r = qdevice_wait_vote(true, VOTE_TIMEOUT_MS, err);
	if (r < 0)
		drover_fail_append(
			err, r,
			": see 'drover cluster status' and corosync-qdevice's log on each node");
	return r;
}

/* After the checks: the certificates, corosync.conf, corosync-qdevice everywhere. */
static int set_up(const struct qd_cluster *c, const char *addr, bool force, const struct buf *ca,
		  struct qdevice_setup_result *res, struct drover_err *err)
{
	int r;

	drover_report_log(c->rep, "every node reaches corosync-qnetd on %s, TCP port %d", addr,
			  QNETD_PORT);
	r = make_certificates(c, addr, ca, err);
	if (r == 0)
		r = write_conf(c, addr, force, &res->version, err);
	/* without the device in corosync.conf, half-made databases are only clutter */
	if (r < 0 && !res->version) {
		drover_report_log(c->rep, "removing the certificate databases made so far");
		each_node(c, "clean", NULL, NULL, NULL);
	}
	return r < 0 ? r : start_everywhere(c, res->version, err);
}

int cluster_qdevice_setup(const struct cfs_brief *b, const char *addr, bool force,
			  struct qdevice_setup_result *res, const struct drover_reporter *rep,
			  struct drover_err *err)
{
	struct qd_cluster *c = calloc(1, sizeof(*c));
	struct buf ca = BUF_INIT;
	int r;

	memset(res, 0, sizeof(*res));
	if (!c)
		return drover_fail(err, -ENOMEM, "%s", strerror(ENOMEM));
	c->b = b;
	c->rep = rep;
	r = load(c, err);
	if (r == 0)
		r = plan(c, addr, force, &res->algorithm, err);
	if (r == 0)
		r = all_online(c, err);
	if (r == 0)
		r = qdevice_tools_check(err);
	if (r == 0)
		r = prepare_qnetd(c, addr, &ca, err);
	if (r == 0)
		r = on_every_node(c, "check", addr, NULL, err);
	if (r == 0)
		r = set_up(c, addr, force, &ca, res, err);
	unload(c);
	buf_free(&ca);
	free(c);
	return r;
}

/* ---- remove ----------------------------------------------------------------- */

static int remove_device(struct cc_node *conf, void *ctx, struct drover_err *err)
{
	int r = cluster_conf_remove_qdevice(conf, NULL, 0);

	if (r == -ENOENT)
		return drover_fail(err, r, "the QDevice is gone from corosync.conf already");
	if (r < 0)
		return drover_fail(err, r, "removing the QDevice from corosync.conf: %s",
				   strerror(-r));
	return 0;
}

static void warn_offline(const struct qd_cluster *c)
{
	for (unsigned i = 0; i < c->n; i++)
		if (!c->nodes[i].online)
			drover_report_warn(
				c->rep,
				"node %s is offline: when it is back, stop corosync-qdevice there and remove /etc/corosync/qdevice/net/nssdb",
				c->nodes[i].name);
}

/* Without the device's vote the nodes that are up may be too few (one of two). */
static void note_quorum(const struct qd_cluster *c)
{
	struct cs_status *s = malloc(sizeof(*s));
	char why[256];

	if (s && cs_status_get(s, why, sizeof(why)) == 0 && !s->quorate)
		drover_report_note(
			c->rep,
			"note: without the QDevice's vote this node has no quorum (%u of %u expected votes) while nodes are offline; if they are gone for good, 'drover cluster expected %u' gives it back, then 'drover cluster delnode NODE'",
			s->total_votes, s->expected_votes, s->total_votes);
	free(s);
}

/* With the device out of corosync.conf: corosync-qdevice and its database go. */
static unsigned take_down(const struct qd_cluster *c, uint64_t version)
{
	struct drover_err err = { "" };
	unsigned failed = 0;

	drover_report_log(c->rep, "waiting for corosync to load config_version %llu",
			  (unsigned long long)version);
	if (qdevice_wait_config(version, CONFIG_TIMEOUT_MS, &err) < 0) {
		drover_report_error(c->rep, "%s", err.text);
		failed++;
	}
	failed += each_node(c, "stop", NULL, NULL, "corosync-qdevice stopped");
	if (qdevice_wait_vote(false, VOTE_TIMEOUT_MS, &err) < 0) {
		drover_report_error(c->rep, "%s", err.text);
		failed++;
	}
	failed += each_node(c, "clean", NULL, NULL, "certificate database removed");
	note_quorum(c);
	return failed;
}

int cluster_qdevice_remove(const struct cfs_brief *b, const struct drover_reporter *rep,
			   struct drover_err *err)
{
	struct qd_cluster *c = calloc(1, sizeof(*c));
	const char *host;
	uint64_t version = 0;
	unsigned failed;
	int r;

	if (!c)
		return drover_fail(err, -ENOMEM, "%s", strerror(ENOMEM));
	c->b = b;
	c->rep = rep;
	r = load(c, err);
	host = r == 0 ? cluster_conf_qdevice_host(c->conf) : NULL;
	if (r == 0 && !host)
		r = drover_fail(err, -ENOENT,
				"no QDevice is configured (corosync.conf has no quorum.device)");
	/*
	 * corosync.conf first, while the device still votes: when a node is
	 * down, the others may have quorum only with its vote (two nodes, one
	 * gone), and stopping corosync-qdevice first would leave nobody able to
	 * write the file (pvecm has this order too).
	 */
	if (r == 0) {
		drover_report_log(rep, "removing the QDevice (QNetd host %s)",
				  host[0] ? host : "unknown");
		warn_offline(c);
		r = cfs_edit_corosync_conf(b, remove_device, NULL, &version, NULL, err);
	}
	if (r == 0) {
		drover_report_log(
			rep, "corosync.conf config_version %llu written without the quorum device",
			(unsigned long long)version);
		failed = take_down(c, version);
		if (failed)
			r = drover_fail(
				err, -EIO,
				"the QDevice is out of corosync.conf, but %u step(s) on the nodes failed",
				failed);
	}
	unload(c);
	free(c);
	return r;
}
