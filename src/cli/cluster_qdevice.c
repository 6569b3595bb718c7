/* SPDX-License-Identifier: MIT */
/*
 * drover cluster qdevice setup ADDR | remove: an external vote for the
 * cluster from corosync-qnetd on ADDR. setup checks everything it can
 * before it changes anything, then makes the TLS certificates (QNetd CA on
 * ADDR, a database on every node, the cluster's certificate signed by the
 * CA and shared), adds the device to corosync.conf under the cluster-wide
 * lock and starts corosync-qdevice on every node. remove undoes it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libdrover/cluster/corosync_info.h"
#include "libdrover/cluster/qdevice.h"
#include "libdrover/cluster/qnetd.h"
#include "cluster_cli.h"
#include "basic/util.h"

#define VOTE_TIMEOUT_MS 30000
#define CONFIG_TIMEOUT_MS 30000
/* held from the checks to the end, so two setups or removes never mix their certificates */
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
	"    only (N-1)/2 nodes or fewer are online.\n";

/* The cluster as corosync.conf and corosync describe it, gathered before anything changes. */
struct qd_cluster {
	struct cfs_brief b;
	bool locked; /* holds QDEVICE_LOCK */
	char name[CLUSTER_NAME_MAX + 1];
	unsigned n;
	struct qdevice_target nodes[CS_MEMBERS_MAX];
};

static void read_nodes(const struct cc_node *conf, struct qd_cluster *c)
{
	const struct cc_node *list = cc_child(conf, "nodelist");

	for (const struct cc_node *n = list ? list->children : NULL; n && c->n < CS_MEMBERS_MAX;
	     n = n->next) {
		struct qdevice_target *t = &c->nodes[c->n];
		const char *name = cc_get(n, NULL, "name"), *id = cc_get(n, NULL, "nodeid");

		if (n->value || !streq(n->name, "node") || !name)
			continue;
		memset(t, 0, sizeof(*t));
		snprintf(t->name, sizeof(t->name), "%s", name);
		t->nodeid = id ? (unsigned)strtoul(id, NULL, 10) : 0;
		t->local = streq(name, c->b.node);
		/* SSH goes to the lowest link, as it did when the node joined */
		for (unsigned l = 0; l < CLUSTER_LINKS_MAX && !t->addr[0]; l++)
			if (cluster_conf_node_addr(n, l))
				snprintf(t->addr, sizeof(t->addr), "%s",
					 cluster_conf_node_addr(n, l));
		c->n++;
	}
}

/* Which nodes corosync sees now. */
static int read_online(struct qd_cluster *c)
{
	struct cs_status *s = malloc(sizeof(*s));
	char err[256];
	int r = s ? cs_status_get(s, err, sizeof(err)) : -ENOMEM;

	if (r < 0)
		cli_error("%s", s ? err : strerror(-r));
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

/*
 * This node's droverfs (quorate, in a cluster), corosync.conf and its nodes.
 * conf is the caller's to free.
 */
static int load(struct cli_context *ctx, const char *command, struct qd_cluster *c,
		struct cc_node **conf)
{
	struct drover_err err = { "" };
	int r;

	memset(c, 0, sizeof(*c));
	*conf = NULL;
	if (cluster_require_root(command) < 0 || cluster_cfs(ctx, &c->b) < 0)
		return -EPERM;
	if (!c->b.cluster_mode) {
		cli_error("this node is in no cluster");
		return -EINVAL;
	}
	if (!c->b.writable) {
		cli_error(
			"no quorum: the QDevice can only be changed by a quorate cluster (see 'drover cluster status')");
		return -EACCES;
	}
	r = cfs_lock(&c->b, QDEVICE_LOCK, QDEVICE_LOCK_TIMEOUT_MS);
	if (r < 0) {
		cli_error("cannot take the cluster lock priv/lock/%s: %s", QDEVICE_LOCK,
			  r == -EBUSY ? "another 'drover cluster qdevice' command is running"
				      : strerror(-r));
		return r;
	}
	c->locked = true;
	/* corosync.conf as it is under the lock */
	*conf = cfs_read_corosync_conf(&c->b, &err);
	if (!*conf) {
		cli_error("%s", err.text);
		return -EINVAL;
	}
	snprintf(c->name, sizeof(c->name), "%s", cc_get(*conf, "totem", "cluster_name") ?: "");
	read_nodes(*conf, c);
	if (!local_node(c)) {
		cli_error("node %s is not in corosync.conf", c->b.node);
		return -EINVAL;
	}
	return read_online(c);
}

/* What load took: the lock and corosync.conf. */
static void unload(struct qd_cluster *c, struct cc_node *conf)
{
	if (c->locked)
		cfs_unlock(&c->b, QDEVICE_LOCK);
	c->locked = false;
	cc_free(conf);
}

static bool all_online(const struct qd_cluster *c, const char *command)
{
	bool ok = true;

	for (unsigned i = 0; i < c->n; i++) {
		if (c->nodes[i].online)
			continue;
		cli_error("node %s is offline: %s needs every node online", c->nodes[i].name,
			  command);
		ok = false;
	}
	return ok;
}

/* Run one step on every (online) node; returns how many failed (each printed). */
static unsigned each_node(const struct qd_cluster *c, const char *step, const char *arg,
			  const struct buf *in, const char *done)
{
	unsigned failed = 0;

	for (unsigned i = 0; i < c->n; i++) {
		if (!c->nodes[i].online)
			continue;
		if (qdevice_node_step(&c->nodes[i], step, arg, in) < 0)
			failed++;
		else if (done)
			cluster_step("%s: %s", c->nodes[i].name, done);
	}
	return failed;
}

/* ---- setup ------------------------------------------------------------------ */

struct setup_args {
	const char *addr;
	bool force;
};

static int parse_setup(int argc, char **argv, struct setup_args *a)
{
	static const struct option longopts[] = { { "force", no_argument, NULL, 'f' },
						  { NULL, 0, NULL, 0 } };
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c != 'f')
			return -EINVAL;
		a->force = true;
	}
	if (optind + 1 != argc) {
		cli_error("cluster qdevice setup takes the address of the QNetd host (see --help)");
		return -EINVAL;
	}
	a->addr = argv[optind];
	if (!cluster_qnetd_host_valid(a->addr)) {
		cli_error("'%s' is not an IP address or a host name", a->addr);
		return -EINVAL;
	}
	return 0;
}

/*
 * What setup will write, tried on the copy of corosync.conf that load read
 * (it is read again under the lock): every refusal comes before any change.
 */
static int plan(const struct setup_args *a, struct cc_node *conf, const char **algo)
{
	struct drover_err err = { "" };
	unsigned nodes = cluster_conf_node_count(conf);
	bool odd = nodes % 2 && !cluster_conf_qdevice_host(conf);
	int r = cluster_conf_add_qdevice(conf, a->addr, a->force, algo, &err);

	/* the reason for the refusal, or what --force accepts */
	if (odd)
		fprintf(stderr, "%s%s", a->force ? "warning: " : "", odd_drawbacks);
	if (r < 0) {
		cli_error("%s", err.text);
		return r;
	}
	cluster_step("%u nodes: algorithm %s%s", nodes, *algo,
		     nodes % 2 ? " (an odd node count, set up anyway as --force asks)" : "");
	return 0;
}

/* The QNetd host: log in, its CA. */
static int prepare_qnetd(const char *addr, struct buf *ca)
{
	struct drover_err err = { "" };
	bool created = false;
	int r;

	cluster_step("logging in to root@%s", addr);
	r = qnetd_login(addr, &err);
	if (r == 0)
		r = qnetd_ca(addr, &created, ca, &err);
	if (r < 0) {
		cli_error("%s", err.text);
		return r;
	}
	cluster_step("%s: QNetd CA %s", addr,
		     created ? "made now (corosync-qnetd-certutil -i)" : "present");
	return 0;
}

/* The certificates: every node trusts the CA, and holds the cluster's certificate and key. */
static int make_certificates(const struct qd_cluster *c, const char *addr, const struct buf *ca)
{
	struct buf crq = BUF_INIT, crt = BUF_INIT, p12 = BUF_INIT, bundle = BUF_INIT;
	struct drover_err err = { "" };
	const struct qdevice_target *self = local_node(c);
	int r = qdevice_db_init(ca, &err);

	if (r == 0) {
		cluster_step("%s: certificate database made, trusting the QNetd CA", self->name);
		r = qdevice_db_request(c->name, &crq, &err);
	}
	if (r == 0)
		r = qnetd_sign(addr, c->name, &crq, &crt, &err);
	if (r == 0) {
		cluster_step("%s: certificate of cluster %s signed by the QNetd CA", addr, c->name);
		r = qdevice_db_import_signed(&crt, &p12, &err);
	}
	if (r < 0)
		cli_error("%s", err.text);
	if (r == 0) {
		cluster_step("%s: cluster certificate imported", self->name);
		r = qdevice_bundle_write(ca, &p12, &bundle);
	}
	/* the others: the CA and the certificate with its key, on their stdin over SSH */
	for (unsigned i = 0; r == 0 && i < c->n; i++) {
		if (c->nodes[i].local)
			continue;
		r = qdevice_node_step(&c->nodes[i], "import", NULL, &bundle);
		if (r == 0)
			cluster_step("%s: certificate database made, cluster certificate imported",
				     c->nodes[i].name);
	}
	buf_free(&crq);
	buf_free(&crt);
	buf_free(&p12);
	buf_free(&bundle);
	return r;
}

struct add_device {
	const struct setup_args *a;
	const char *algo;
};

static int add_device(struct cc_node *conf, void *ctx, struct drover_err *err)
{
	struct add_device *ad = ctx;

	return cluster_conf_add_qdevice(conf, ad->a->addr, ad->a->force, &ad->algo, err);
}

/* Under the cluster-wide lock: corosync.conf with the device and config_version + 1. */
static int write_conf(const struct qd_cluster *c, const struct setup_args *a, uint64_t *version)
{
	struct drover_err err = { "" };
	struct add_device ad = { a, NULL };
	int r = cfs_edit_corosync_conf(&c->b, add_device, &ad, version, &err);

	if (r < 0)
		cli_error("%s", err.text);
	else
		cluster_step(
			"corosync.conf config_version %llu written: quorum device net, host %s, algorithm %s",
			(unsigned long long)*version, a->addr, ad.algo);
	return r;
}

static int start_everywhere(const struct qd_cluster *c, uint64_t version)
{
	struct drover_err err = { "" };
	char arg[32];
	int r;

	cluster_step("waiting for corosync to load config_version %llu",
		     (unsigned long long)version);
	r = qdevice_wait_config(version, CONFIG_TIMEOUT_MS, &err);
	if (r < 0) {
		cli_error("%s", err.text);
		return r;
	}
	snprintf(arg, sizeof(arg), "%llu", (unsigned long long)version);
	if (each_node(c, "start", arg, NULL, "corosync-qdevice started") > 0)
		return -EIO;
	cluster_step("waiting for the QDevice's vote");
	r = qdevice_wait_vote(true, VOTE_TIMEOUT_MS, &err);
	if (r < 0)
		cli_error("%s: see 'drover cluster status' and corosync-qdevice's log on each node",
			  err.text);
	return r;
}

static int cmd_setup(struct cli_context *ctx, int argc, char **argv)
{
	struct setup_args a = { NULL, false };
	struct buf ca = BUF_INIT;
	struct qd_cluster *c = malloc(sizeof(*c));
	struct cc_node *conf = NULL;
	struct drover_err err = { "" };
	const char *algo = NULL;
	uint64_t version = 0;
	int r;

	if (!c)
		return CLI_EXIT_FAIL;
	if (parse_setup(argc, argv, &a) < 0) {
		free(c);
		return CLI_EXIT_USAGE;
	}
	r = load(ctx, "qdevice setup", c, &conf);
	if (r == 0)
		r = plan(&a, conf, &algo);
	if (r == 0 && !all_online(c, "qdevice setup"))
		r = -EHOSTDOWN;
	if (r == 0 && (r = qdevice_tools_check(&err)) < 0)
		cli_error("%s", err.text);
	if (r == 0)
		r = prepare_qnetd(a.addr, &ca);
	if (r == 0 && each_node(c, "check", a.addr, NULL, NULL) > 0)
		r = -EHOSTUNREACH;
	if (r == 0) {
		cluster_step("every node reaches corosync-qnetd on %s, TCP port %d", a.addr,
			     QNETD_PORT);
		r = make_certificates(c, a.addr, &ca);
		if (r == 0)
			r = write_conf(c, &a, &version);
		/* without the device in corosync.conf, half-made databases are only clutter */
		if (r < 0 && !version) {
			cluster_step("removing the certificate databases made so far");
			each_node(c, "clean", NULL, NULL, NULL);
		}
	}
	if (r == 0)
		r = start_everywhere(c, version);
	if (r == 0)
		printf("Done: the cluster has the QDevice on %s (algorithm %s); 'drover cluster status' shows its votes.\n",
		       a.addr, algo);
	else if (version)
		fprintf(stderr,
			"The device is in corosync.conf: fix the cause and start corosync-qdevice on the\n"
			"nodes where it failed, or run 'drover cluster qdevice remove'.\n");
	unload(c, conf);
	buf_free(&ca);
	free(c);
	return r < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
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

static int remove_from_conf(const struct qd_cluster *c, uint64_t *version)
{
	struct drover_err err = { "" };
	int r = cfs_edit_corosync_conf(&c->b, remove_device, NULL, version, &err);

	if (r < 0)
		cli_error("%s", err.text);
	else
		cluster_step("corosync.conf config_version %llu written without the quorum device",
			     (unsigned long long)*version);
	return r;
}

static void warn_offline(const struct qd_cluster *c)
{
	for (unsigned i = 0; i < c->n; i++)
		if (!c->nodes[i].online)
			fprintf(stderr,
				"warning: node %s is offline: when it is back, stop corosync-qdevice there and remove /etc/corosync/qdevice/net/nssdb\n",
				c->nodes[i].name);
}

/* Without the device's vote the nodes that are up may be too few (one of two). */
static void note_quorum(void)
{
	struct cs_status *s = malloc(sizeof(*s));
	char why[256];

	if (s && cs_status_get(s, why, sizeof(why)) == 0 && !s->quorate)
		fprintf(stderr,
			"note: without the QDevice's vote this node has no quorum (%u of %u expected votes) while nodes are offline; if they are gone for good, 'drover cluster expected %u' gives it back, then 'drover cluster delnode NODE'\n",
			s->total_votes, s->expected_votes, s->total_votes);
	free(s);
}

static int cmd_remove(struct cli_context *ctx, int argc, char **argv)
{
	struct qd_cluster *c = malloc(sizeof(*c));
	struct cc_node *conf = NULL;
	struct drover_err err = { "" };
	const char *host;
	uint64_t version = 0;
	unsigned failed = 0;
	int r;

	if (!c)
		return CLI_EXIT_FAIL;
	if (argc != 1) {
		cli_error("cluster qdevice remove takes no arguments");
		free(c);
		return CLI_EXIT_USAGE;
	}
	r = load(ctx, "qdevice remove", c, &conf);
	host = r == 0 ? cluster_conf_qdevice_host(conf) : NULL;
	if (r == 0 && !host) {
		cli_error("no QDevice is configured (corosync.conf has no quorum.device)");
		r = -ENOENT;
	}
	/*
	 * corosync.conf first, while the device still votes: when a node is
	 * down, the others may have quorum only with its vote (two nodes, one
	 * gone), and stopping corosync-qdevice first would leave nobody able to
	 * write the file (pvecm has this order too).
	 */
	if (r == 0) {
		cluster_step("removing the QDevice (QNetd host %s)", host[0] ? host : "unknown");
		warn_offline(c);
		r = remove_from_conf(c, &version);
	}
	if (r == 0) {
		cluster_step("waiting for corosync to load config_version %llu",
			     (unsigned long long)version);
		if (qdevice_wait_config(version, CONFIG_TIMEOUT_MS, &err) < 0) {
			cli_error("%s", err.text);
			failed++;
		}
		failed += each_node(c, "stop", NULL, NULL, "corosync-qdevice stopped");
		if (qdevice_wait_vote(false, VOTE_TIMEOUT_MS, &err) < 0) {
			cli_error("%s", err.text);
			failed++;
		}
		failed += each_node(c, "clean", NULL, NULL, "certificate database removed");
		note_quorum();
	}
	if (r == 0 && !failed)
		printf("Done: the QDevice is removed; quorum is plain votequorum again.\n");
	unload(c, conf);
	free(c);
	return r < 0 || failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* ---- the group ---------------------------------------------------------------- */

static const struct cli_command cluster_qdevice_setup_cmd = {
	.name = "setup",
	.summary = "add an external vote from corosync-qnetd on ADDR",
	.usage = "Usage: drover cluster qdevice setup ADDR [--force]\n"
		 "\n"
		 "Sets up a QDevice: corosync-qdevice on every node asks corosync-qnetd on the\n"
		 "host ADDR (an address or a name; reached as root over SSH, TCP port 5403\n"
		 "for the votes) for one more vote, so that a cluster of two nodes survives\n"
		 "the loss of either. ADDR needs the package corosync-qnetd, every node\n"
		 "corosync-qdevice. Needs quorum and every node online; refuses when a\n"
		 "QDevice is configured already.\n"
		 "\n"
		 "Steps, each printed: log in to ADDR (without a key there, ssh-copy-id asks\n"
		 "for its root password on a terminal); make the QNetd CA there if it has none;\n"
		 "check that every node reaches corosync-qnetd; make a certificate database on\n"
		 "every node that trusts the CA, have the cluster's certificate signed on\n"
		 "ADDR and imported on every node; add 'quorum { device { model: net ...} }'\n"
		 "to corosync.conf (config_version + 1) under the cluster-wide lock; start\n"
		 "corosync-qdevice on every node; wait for its vote.\n"
		 "\n"
		 "An even node count gets the algorithm ffsplit (one vote to the larger half).\n"
		 "An odd count is refused: the QDevice would get N-1 votes (algorithm lms)\n"
		 "and become almost a single point of failure; --force sets it up anyway,\n"
		 "after printing the drawbacks.\n"
		 "\n"
		 "Options:\n"
		 "  --force   set it up for an odd node count too (algorithm lms)\n",
	.run = cmd_setup,
};

static const struct cli_command cluster_qdevice_remove_cmd = {
	.name = "remove",
	.summary = "remove the QDevice: plain votequorum again",
	.usage = "Usage: drover cluster qdevice remove\n"
		 "\n"
		 "Stops corosync-qdevice on every node, removes the quorum device from\n"
		 "corosync.conf (config_version + 1) under the cluster-wide lock, and removes\n"
		 "the certificate databases (/etc/corosync/qdevice/net/nssdb). Needs quorum.\n"
		 "Remove the QDevice before adding or deleting nodes (both are refused while\n"
		 "it is configured); set it up again after. With nodes offline, the others\n"
		 "may have no quorum without the device's vote: the command says so, and\n"
		 "'drover cluster expected N' gives it back if those nodes are gone for good.\n",
	.run = cmd_remove,
};

static const struct cli_command *const qdevice_commands[] = {
	&cluster_qdevice_setup_cmd,
	&cluster_qdevice_remove_cmd,
	&cluster_qdevice_node_cmd,
	NULL,
};

const struct cli_command cluster_qdevice_group = {
	.name = "qdevice",
	.summary = "an external vote (corosync-qnetd) for even node counts",
	.usage = "Usage: drover cluster qdevice setup ADDR [--force]\n"
		 "       drover cluster qdevice remove\n"
		 "\n"
		 "A QDevice: one more vote, cast by corosync-qnetd on a host outside the\n"
		 "cluster, so that a cluster of two nodes survives the loss of either.\n",
	.subcommands = qdevice_commands,
};
