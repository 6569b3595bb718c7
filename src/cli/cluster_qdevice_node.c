/* SPDX-License-Identifier: MIT */
/*
 * The steps `drover cluster qdevice setup/remove` take on each node: on
 * this node directly, on the others as `drover cluster qdevice _node STEP`
 * over SSH (the way `cluster add` reaches a member), so every node does
 * its part with its own tools and its own service manager.
 *
 *   check ADDR     corosync-qdevice installed, corosync-qnetd reachable
 *   import         stdin: the bundle (QNetd CA, pk12); a new database
 *   start VERSION  once corosync has loaded that config_version: start
 *                  corosync-qdevice (and enable it at boot)
 *   stop           stop corosync-qdevice (and disable it)
 *   clean          remove the certificate database
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "libdrover/cluster/qdevice.h"
#include "libdrover/cluster/qnetd.h"
#include "libdrover/cluster/ssh.h"
#include "cluster_cli.h"
#include "libdrover/sys/service.h"
#include "basic/util.h"

#define BUNDLE_MAX (1u << 20)
#define REACH_TIMEOUT_MS 5000
#define CONFIG_TIMEOUT_MS 30000

static int read_stdin(struct buf *in)
{
	unsigned char chunk[4096];
	ssize_t n;

	while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (in->len + (size_t)n > BUNDLE_MAX || buf_append(in, chunk, (size_t)n) < 0)
			return -EFBIG;
	}
	return 0;
}

static int step_import(const struct buf *in, struct drover_err *err)
{
	struct buf ca = BUF_INIT, p12 = BUF_INIT;
	int r = qdevice_bundle_parse((const char *)in->data, in->len, &ca, &p12, err);

	if (r == 0)
		r = qdevice_db_init(&ca, err);
	if (r == 0)
		r = qdevice_db_import_p12(&p12, err);
	buf_free(&ca);
	buf_free(&p12);
	return r;
}

static int service(enum service_action a, struct drover_err *err)
{
	int r = service_control(SERVICE_QDEVICE, a, NULL, err->text, sizeof(err->text));

	if (r < 0 && !err->text[0])
		snprintf(err->text, sizeof(err->text), "%s", strerror(-r));
	/* the sandbox's manager is drover too: its prefix once is enough */
	if (str_has_prefix(err->text, "drover: "))
		memmove(err->text, err->text + 8, strlen(err->text + 8) + 1);
	return r;
}

static int step_start(const char *arg, struct drover_err *err)
{
	uint64_t version;
	int r;

	if (!arg || parse_u64(arg, UINT64_MAX, &version) < 0) {
		snprintf(err->text, sizeof(err->text), "start: '%s' is not a config version",
			 arg ? arg : "");
		return -EINVAL;
	}
	/* corosync-qdevice reads its configuration from corosync: it must have the device */
	r = qdevice_wait_config(version, CONFIG_TIMEOUT_MS, err);
	return r < 0 ? r : service(SERVICE_ENABLE, err);
}

/* One step on this node. arg: check's address, start's version; in: import's bundle. */
static int local_step(const char *step, const char *arg, const struct buf *in,
		      struct drover_err *err)
{
	if (streq(step, "check")) {
		int r = arg ? qdevice_tools_check(err) : -EINVAL;

		if (!arg)
			snprintf(err->text, sizeof(err->text), "check: no QNetd address");
		return r < 0 ? r : qnetd_reachable(arg, REACH_TIMEOUT_MS, err);
	}
	if (streq(step, "import"))
		return step_import(in, err);
	if (streq(step, "start"))
		return step_start(arg, err);
	if (streq(step, "stop"))
		return service(SERVICE_DISABLE, err);
	if (streq(step, "clean"))
		return qdevice_db_remove(err);
	snprintf(err->text, sizeof(err->text), "unknown step '%s'", step);
	return -EINVAL;
}

static int remote_step(const struct qdevice_target *t, const char *step, const char *arg,
		       const struct buf *in)
{
	char *args[] = { "cluster", "qdevice", "_node", (char *)step, (char *)arg, NULL };
	struct buf out = BUF_INIT;
	int r = ssh_run_drover(t->addr, NULL, args, in ? in->data : NULL, in ? in->len : 0, &out);

	buf_free(&out);
	if (r < 0 || r == 255)
		cli_error("%s: cannot reach root@%s over SSH%s%s", t->name, t->addr,
			  r < 0 ? ": " : " (see ssh's message above)", r < 0 ? strerror(-r) : "");
	else if (r != 0)
		cli_error("%s: step '%s' failed (its reason is above)", t->name, step);
	return r == 0 ? 0 : r < 0 ? r : -EIO;
}

int qdevice_node_step(const struct qdevice_target *t, const char *step, const char *arg,
		      const struct buf *in)
{
	struct drover_err err = { "" };
	int r;

	if (!t->local)
		return remote_step(t, step, arg, in);
	r = local_step(step, arg, in, &err);
	if (r < 0)
		cli_error("%s: %s", t->name, err.text);
	return r;
}

static int cmd_node(struct cli_context *ctx, int argc, char **argv)
{
	struct qdevice_target self = { .local = true };
	struct buf in = BUF_INIT;
	int r = 0;

	if (argc < 2 || argc > 3) {
		cli_error("cluster qdevice _node takes a step and its argument");
		return CLI_EXIT_USAGE;
	}
	if (cluster_require_root("qdevice") < 0)
		return CLI_EXIT_FAIL;
	gethostname(self.name, sizeof(self.name) - 1);
	if (streq(argv[1], "import"))
		r = read_stdin(&in);
	if (r < 0)
		cli_error("%s: reading the bundle: %s", self.name, strerror(-r));
	else
		r = qdevice_node_step(&self, argv[1], argc == 3 ? argv[2] : NULL, &in);
	buf_free(&in);
	return r < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* Internal: run by setup and remove over SSH; hidden from the group's help. */
const struct cli_command cluster_qdevice_node_cmd = {
	.name = "_node",
	.summary = "(internal) one QDevice step on this node",
	.usage =
		"Usage: drover cluster qdevice _node check ADDR | import | start VERSION | stop | clean\n"
		"\n"
		"One step of 'drover cluster qdevice setup' or 'remove' on this node; those\n"
		"commands run it on the other nodes over SSH.\n",
	.run = cmd_node,
};
