/* SPDX-License-Identifier: MIT */
/*
 * drover cluster qdevice setup ADDR | remove: an external vote for the
 * cluster from corosync-qnetd on ADDR (libdrover/cluster/qdevice_cluster.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "cluster_cli.h"
#include "libdrover/cluster/qdevice_cluster.h"

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

static int cmd_setup(struct cli_context *ctx, int argc, char **argv)
{
	struct setup_args a = { NULL, false };
	struct qdevice_setup_result res;
	struct drover_err err = { "" };
	int r;

	if (parse_setup(argc, argv, &a) < 0)
		return CLI_EXIT_USAGE;
	r = cluster_qdevice_setup(&ctx->cfs, a.addr, a.force, &res, &cli_reporter, &err);
	if (r == 0) {
		printf("Done: the cluster has the QDevice on %s (algorithm %s); 'drover cluster status' shows its votes.\n",
		       a.addr, res.algorithm);
		return CLI_EXIT_OK;
	}
	cli_fail(&err, r);
	if (res.version)
		fprintf(stderr,
			"The device is in corosync.conf: fix the cause and start corosync-qdevice on the\n"
			"nodes where it failed, or run 'drover cluster qdevice remove'.\n");
	return CLI_EXIT_FAIL;
}

static int cmd_remove(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	int r;

	if (argc != 1) {
		cli_error("cluster qdevice remove takes no arguments");
		return CLI_EXIT_USAGE;
	}
	r = cluster_qdevice_remove(&ctx->cfs, &cli_reporter, &err);
	if (r < 0)
		return cli_fail(&err, r);
	printf("Done: the QDevice is removed; quorum is plain votequorum again.\n");
	return CLI_EXIT_OK;
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
	.needs = CLI_NEED_ROOT | CLI_NEED_CLUSTER | CLI_NEED_QUORATE,
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
	.needs = CLI_NEED_ROOT | CLI_NEED_CLUSTER | CLI_NEED_QUORATE,
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
