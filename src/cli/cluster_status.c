/* SPDX-License-Identifier: MIT */
/*
 * drover cluster status | nodes | expected: what corosync says about the
 * cluster, in the layout of `pvecm status` / `pvecm nodes`, or as JSON
 * (libdrover/cluster/status.h).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "basic/timefmt.h"
#include "basic/util.h"
#include "cluster_cli.h"
#include "libdrover/cluster/status.h"

struct view_args {
	bool json;
};

static int parse_view_args(int argc, char **argv, struct view_args *a)
{
	static const struct option longopts[] = { { "output-format", required_argument, NULL, 'o' },
						  { NULL, 0, NULL, 0 } };
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
		if (c != 'o')
			return -EINVAL;
		if (streq(optarg, "json") || streq(optarg, "json-pretty"))
			a->json = true;
		else if (!streq(optarg, "text")) {
			cli_error("--output-format: '%s' is not one of text, json", optarg);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		cli_error("unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static int load(struct cs_status *s)
{
	char err[256];
	int r = cs_status_get(s, err, sizeof(err));

	if (r < 0)
		cli_error("%s", err);
	return r;
}

static void heading(const char *title)
{
	size_t n = strlen(title);

	printf("%s\n", title);
	while (n--)
		putchar('-');
	putchar('\n');
}

static const char *member_label(const struct cs_member *m)
{
	return m->name[0] ? m->name : m->addr;
}

/*
 * As corosync-quorumtool lays it out: with a registered qdevice, a column
 * of each node's qdevice state (A,V,NMW ...) and a last row for the
 * device's own votes.
 */
static void print_membership(const struct cs_status *s, bool with_addr)
{
	bool qdevice = cluster_status_qdevice_registered(s);

	heading("Membership information");
	printf("    Nodeid      Votes %sName\n", qdevice ? "   Qdevice " : "");
	for (unsigned i = 0; i < s->nnodes; i++) {
		const struct cs_member *m = &s->nodes[i];
		char qflags[16];

		if (!m->online)
			continue;
		printf("%10u %10u ", m->nodeid, m->votes);
		if (qdevice) {
			cs_qdevice_flags(m->flags, qflags, sizeof(qflags));
			printf("%10s ", qflags);
		}
		printf("%s", member_label(m));
		if (with_addr && m->name[0] && m->addr[0])
			printf(" (%s)", m->addr);
		printf("%s\n", m->local ? " (local)" : "");
	}
	if (qdevice)
		printf("%10u %10u %10s %s\n", 0u, s->qdevice_votes, "",
		       s->qdevice_name[0] ? s->qdevice_name : "Qdevice");
}

static void print_links(const struct cs_status *s)
{
	unsigned all = 0;

	for (unsigned i = 0; i < s->nnodes; i++)
		all |= s->nodes[i].link_mask;
	heading("Links");
	printf("    Nodeid Name            ");
	for (unsigned l = 0; l < CS_LINKS_MAX; l++)
		if (all & (1u << l))
			printf(" link%-10u", l);
	printf("\n");
	for (unsigned i = 0; i < s->nnodes; i++) {
		const struct cs_member *m = &s->nodes[i];

		printf("%10u %-16s", m->nodeid, member_label(m));
		for (unsigned l = 0; l < CS_LINKS_MAX; l++) {
			if (!(all & (1u << l)))
				continue;
			printf(" %-14s", !(m->link_mask & (1u << l))		   ? "-"
					 : m->local				   ? "local"
					 : !m->online && !(m->link_up & (1u << l)) ? "offline"
					 : (m->link_up & (1u << l))		   ? "connected"
										   : "down");
		}
		printf("\n");
	}
}

static void print_status(const struct cs_status *s)
{
	char when[64], flags[160];

	timefmt(time(NULL), false, "%a %b %e %H:%M:%S %Y", when, sizeof(when));
	cluster_status_flag_names(s->flags, flags, sizeof(flags));
	heading("Cluster information");
	printf("Name:             %s\n", s->cluster_name[0] ? s->cluster_name : "(none)");
	printf("Config Version:   %" PRIu64 "\n", s->config_version);
	printf("Transport:        %s\n", s->transport);
	printf("Secure auth:      %s\n\n", s->secauth ? "on" : "off");
	heading("Quorum information");
	printf("Date:             %s\n", when);
	printf("Quorum provider:  corosync_votequorum\n");
	printf("Nodes:            %u\n", s->nmembers);
	printf("Node ID:          0x%08x\n", s->local_nodeid);
	printf("Ring ID:          %x.%" PRIx64 "\n", s->ring_nodeid, s->ring_seq);
	printf("Quorate:          %s\n\n", s->quorate ? "Yes" : "No");
	heading("Votequorum information");
	printf("Expected votes:   %u\n", s->expected_votes);
	printf("Highest expected: %u\n", s->highest_expected);
	printf("Total votes:      %u\n", s->total_votes);
	printf("Quorum:           %u%s\n", s->quorum, s->quorate ? "" : " Activity blocked");
	printf("Flags:            %s\n\n", flags);
	print_membership(s, true);
	printf("\n");
	print_links(s);
}

static int print_json(const struct cs_status *s)
{
	struct json_object *o = cluster_status_json(s);

	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	json_object_put(o);
	return CLI_EXIT_OK;
}

/* status and nodes: the same facts, two layouts. */
static int show(int argc, char **argv, void (*print)(const struct cs_status *s))
{
	struct view_args a = { false };
	struct cs_status s;

	if (parse_view_args(argc, argv, &a) < 0)
		return CLI_EXIT_USAGE;
	if (load(&s) < 0)
		return CLI_EXIT_FAIL;
	if (a.json)
		return print_json(&s);
	print(&s);
	return CLI_EXIT_OK;
}

static void print_nodes(const struct cs_status *s)
{
	printf("\n");
	print_membership(s, false);
}

static int cmd_status(struct cli_context *ctx, int argc, char **argv)
{
	return show(argc, argv, print_status);
}

static int cmd_nodes(struct cli_context *ctx, int argc, char **argv)
{
	return show(argc, argv, print_nodes);
}

static int cmd_expected(struct cli_context *ctx, int argc, char **argv)
{
	uint64_t votes;
	char err[256];

	if (argc != 2 || parse_u64(argv[1], 1000000, &votes) < 0 || votes == 0) {
		cli_error("cluster expected takes one number of votes, at least 1 (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (cs_set_expected((unsigned)votes, err, sizeof(err)) < 0) {
		cli_error("%s", err);
		return CLI_EXIT_FAIL;
	}
	printf("expected votes set to %" PRIu64 "\n", votes);
	return CLI_EXIT_OK;
}

const struct cli_command cluster_status_cmd = {
	.name = "status",
	.summary = "cluster, quorum, votes, members and links (like pvecm status)",
	.usage = "Usage: drover cluster status [--output-format text|json]\n"
		 "\n"
		 "Shows what corosync on this node says: the cluster's name and config\n"
		 "version, quorum, votequorum's votes and flags, the members (with a\n"
		 "QDevice: each node's device state A/NA,V/NV,MW/NMW and the device's own\n"
		 "row) and the state of every knet link to every node. Read through\n"
		 "corosync's libraries.\n"
		 "\n"
		 "Options:\n"
		 "  -o, --output-format FMT  text (default) or json\n",
	.run = cmd_status,
};

const struct cli_command cluster_nodes_cmd = {
	.name = "nodes",
	.summary = "the members with their node ids and votes (like pvecm nodes)",
	.usage = "Usage: drover cluster nodes [--output-format text|json]\n"
		 "\n"
		 "Lists the nodes corosync sees now, with node id and votes; this node is\n"
		 "marked (local).\n"
		 "\n"
		 "Options:\n"
		 "  -o, --output-format FMT  text (default) or json\n",
	.run = cmd_nodes,
};

const struct cli_command cluster_expected_cmd = {
	.name = "expected",
	.summary = "set the expected votes (to regain quorum on purpose)",
	.usage = "Usage: drover cluster expected VOTES\n"
		 "\n"
		 "Tells votequorum to expect VOTES votes until the next membership change.\n"
		 "corosync refuses a value below the votes present, and one that would take\n"
		 "quorum away from a quorate cluster.\n"
		 "\n"
		 "WARNING: lowering expected votes on a node cut off from the others makes it\n"
		 "writable on its own. If the other part of the cluster is also writable\n"
		 "(it is not dead, only unreachable), both will change the configuration\n"
		 "independently. Use it only when you know the other nodes are down.\n",
	.needs = CLI_NEED_ROOT,
	.run = cmd_expected,
};
