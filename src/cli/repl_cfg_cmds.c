/* SPDX-License-Identifier: MIT */
/*
 * drover replication create-local-job, update, delete, enable, disable,
 * list, read: replication.cfg, edited under the cluster lock (pvesr's
 * verbs, options and columns).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "libdrover/replication/jobs_edit.h"
#include "repl_cli.h"

int repl_cli_jobid(const char *arg, uint32_t *guest, uint32_t *jobnum)
{
	struct drover_err err = { "" };

	if (repl_jobid_parse(arg, guest, jobnum, &err) < 0) {
		cli_error("%s", err.text);
		return -EINVAL;
	}
	return 0;
}

int repl_cli_cfg(struct cli_context *ctx, struct cfs_brief *b, struct repl_cfg *cfg)
{
	struct drover_err err = { "" };
	int r = cfs_brief_get(ctx->socket_path, b);

	if (r < 0) {
		cli_error("cannot reach droverfs: %s", strerror(-r));
		return r;
	}
	r = repl_cfg_load(b, cfg, &err);
	if (r < 0)
		cli_error("%s", err.text);
	return r;
}

/* ---- the options of create-local-job and update --------------------------- */

struct job_args {
	struct repl_job_edit e;
	char deletes[256]; /* --delete KEYS */
};

static const struct option job_opts[] = {
	{ "schedule", required_argument, NULL, 's' },
	{ "rate", required_argument, NULL, 'r' },
	{ "comment", required_argument, NULL, 'c' },
	{ "disable", optional_argument, NULL, 'D' },
	{ "source", required_argument, NULL, 'S' },
	{ "remove_job", required_argument, NULL, 'R' },
	{ "delete", required_argument, NULL, 'x' },
	{ "digest", required_argument, NULL, 'g' },
	{ NULL, 0, NULL, 0 },
};

static int copy_opt(char *dst, size_t len, const char *opt, const char *v)
{
	if (strlen(v) >= len) {
		cli_error("--%s: longer than %zu characters", opt, len - 1);
		return -EINVAL;
	}
	snprintf(dst, len, "%s", v);
	return 0;
}

static int job_opt(int c, struct job_args *a)
{
	struct repl_job_edit *e = &a->e;
	char *end;

	switch (c) {
	case 's':
		e->has_schedule = true;
		return copy_opt(e->job.schedule, sizeof(e->job.schedule), "schedule", optarg);
	case 'r':
		e->has_rate = true;
		e->job.rate = strtod(optarg, &end);
		if (end == optarg || *end || !(e->job.rate >= 1) || e->job.rate > 1e9) {
			cli_error("--rate: '%s' is not a number of MB/s of at least 1", optarg);
			return -EINVAL;
		}
		return 0;
	case 'c':
		e->has_comment = true;
		return copy_opt(e->job.comment, sizeof(e->job.comment), "comment", optarg);
	case 'D':
		e->has_disable = true;
		if (optarg && !streq(optarg, "0") && !streq(optarg, "1")) {
			cli_error("--disable: '%s' is not 0 or 1", optarg);
			return -EINVAL;
		}
		e->job.disable = !optarg || streq(optarg, "1");
		return 0;
	case 'S':
		e->has_source = true;
		return copy_opt(e->job.source, sizeof(e->job.source), "source", optarg);
	case 'R':
		e->has_remove = true;
		if (streq(optarg, "local"))
			e->job.remove_job = REPL_REMOVE_LOCAL;
		else if (streq(optarg, "full"))
			e->job.remove_job = REPL_REMOVE_FULL;
		else {
			cli_error("--remove_job: '%s' is not local or full", optarg);
			return -EINVAL;
		}
		return 0;
	case 'x':
		e->deletes = a->deletes;
		return copy_opt(a->deletes, sizeof(a->deletes), "delete", optarg);
	case 'g':
		e->digest = optarg;
		return 0;
	default:
		return -EINVAL;
	}
}

/* Parse the options and the positional arguments (want of them) of a job edit. */
static int parse_job_args(int argc, char **argv, struct job_args *a, int want, const char *cmd)
{
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", job_opts, NULL)) != -1)
		if (c == '?' || job_opt(c, a) < 0)
			return -EINVAL;
	if (argc - optind != want) {
		cli_error("%s: wrong number of arguments (see 'drover replication %s --help')", cmd,
			  cmd);
		return -EINVAL;
	}
	return repl_cli_jobid(argv[optind], &a->e.job.guest, &a->e.job.jobnum);
}

/* ---- create-local-job ----------------------------------------------------- */

static int cmd_create(struct cli_context *ctx, int argc, char **argv)
{
	struct job_args a = { 0 };
	struct drover_err err = { "" };
	struct cfs_brief b;
	int r;

	if (parse_job_args(argc, argv, &a, 2, "create-local-job") < 0)
		return CLI_EXIT_USAGE;
	if (copy_opt(a.e.job.target, sizeof(a.e.job.target), "target", argv[optind + 1]) < 0)
		return CLI_EXIT_USAGE;
	if (!node_name_valid(a.e.job.target)) {
		cli_error("'%s' is not a node name", a.e.job.target);
		return CLI_EXIT_USAGE;
	}
	r = cfs_brief_get(ctx->socket_path, &b);
	if (r < 0)
		return cli_fail(NULL, r);
	r = repl_job_create(&b, &a.e, &err);
	return r < 0 ? cli_fail(&err, r) : CLI_EXIT_OK;
}

const struct cli_command repl_create_cmd = {
	.name = "create-local-job",
	.summary = "create a replication job",
	.usage = "Usage: drover replication create-local-job ID TARGET [--schedule SPEC]\n"
		 "          [--rate MBPS] [--comment TEXT] [--disable] [--source NODE]\n"
		 "\n"
		 "Creates job ID (VMID-N, e.g. 100-0) that replicates guest VMID's local\n"
		 "volumes to node TARGET. The guest must exist and have at least one\n"
		 "replicatable volume (not on a shared storage, not replicate=0); TARGET\n"
		 "must be a member other than the guest's node; a guest has at most one\n"
		 "job per target. A guest whose config is locked (a destroy, backup or\n"
		 "migration under way) is refused. The guest is checked and\n"
		 "replication.cfg changed under the guest's cluster lock, so an operation\n"
		 "on the guest that holds it (a destroy) is waited for (up to 10 s).\n"
		 "\n"
		 "Options:\n"
		 "      --schedule SPEC    when to run (a calendar event, default '*/15';\n"
		 "                         check it with 'drover replication calendar')\n"
		 "      --rate MBPS        limit in megabytes (10^6) per second, at least 1\n"
		 "      --comment TEXT     a description\n"
		 "      --disable          create it disabled\n"
		 "      --source NODE      the guest's node (checked; set automatically)\n",
	.needs = CLI_NEED_QUORATE,
	.run = cmd_create,
};

/* ---- update, enable, disable ---------------------------------------------- */

static int run_update(struct cli_context *ctx, const struct repl_job_edit *e)
{
	struct drover_err err = { "" };
	struct cfs_brief b;
	int r = cfs_brief_get(ctx->socket_path, &b);

	if (r < 0)
		return cli_fail(NULL, r);
	r = repl_job_update(&b, e, &err);
	return r < 0 ? cli_fail(&err, r) : CLI_EXIT_OK;
}

static int cmd_update(struct cli_context *ctx, int argc, char **argv)
{
	struct job_args a = { 0 };

	if (parse_job_args(argc, argv, &a, 1, "update") < 0)
		return CLI_EXIT_USAGE;
	return run_update(ctx, &a.e);
}

const struct cli_command repl_update_cmd = {
	.name = "update",
	.summary = "change a replication job",
	.usage = "Usage: drover replication update ID [--schedule SPEC] [--rate MBPS]\n"
		 "          [--comment TEXT] [--disable [0|1]] [--delete KEYS] [--digest SHA1]\n"
		 "\n"
		 "Changes job ID in replication.cfg under the cluster lock. The target\n"
		 "cannot be changed. --delete removes properties (comma-separated: schedule,\n"
		 "rate, comment, disable); --digest refuses the change when replication.cfg\n"
		 "is no longer the one 'drover replication read' showed.\n",
	.needs = CLI_NEED_QUORATE,
	.run = cmd_update,
};

static int set_disable(struct cli_context *ctx, int argc, char **argv, bool disable)
{
	struct job_args a = { 0 };

	if (parse_job_args(argc, argv, &a, 1, disable ? "disable" : "enable") < 0)
		return CLI_EXIT_USAGE;
	a.e.has_disable = true;
	a.e.job.disable = disable;
	return run_update(ctx, &a.e);
}

static int cmd_enable(struct cli_context *ctx, int argc, char **argv)
{
	return set_disable(ctx, argc, argv, false);
}

static int cmd_disable(struct cli_context *ctx, int argc, char **argv)
{
	return set_disable(ctx, argc, argv, true);
}

const struct cli_command repl_enable_cmd = {
	.name = "enable",
	.summary = "enable a replication job",
	.usage = "Usage: drover replication enable ID\n"
		 "\n"
		 "Lets the scheduler run job ID again (removes 'disable').\n",
	.needs = CLI_NEED_QUORATE,
	.run = cmd_enable,
};

const struct cli_command repl_disable_cmd = {
	.name = "disable",
	.summary = "disable a replication job",
	.usage = "Usage: drover replication disable ID\n"
		 "\n"
		 "The scheduler does not run job ID until it is enabled; 'status' still\n"
		 "shows it. Its snapshots stay, so the next run after enable is incremental.\n",
	.needs = CLI_NEED_QUORATE,
	.run = cmd_disable,
};

/* ---- delete --------------------------------------------------------------- */

static int bool_opt(const char *name, const char *v, bool *out)
{
	if (!v || streq(v, "1")) {
		*out = true;
		return 0;
	}
	if (streq(v, "0")) {
		*out = false;
		return 0;
	}
	cli_error("--%s: '%s' is not 0 or 1", name, v);
	return -EINVAL;
}

static int cmd_delete(struct cli_context *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "keep", optional_argument, NULL, 'k' },
		{ "force", optional_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct drover_err err = { "" };
	struct cfs_brief b;
	uint32_t guest, jobnum;
	bool keep = false, force = false;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (c == '?' ||
		    bool_opt(c == 'k' ? "keep" : "force", optarg, c == 'k' ? &keep : &force) < 0)
			return CLI_EXIT_USAGE;
	if (argc - optind != 1 || repl_cli_jobid(argv[optind], &guest, &jobnum) < 0)
		return CLI_EXIT_USAGE;
	if (keep && force) {
		cli_error("--keep and --force exclude each other");
		return CLI_EXIT_USAGE;
	}
	r = cfs_brief_get(ctx->socket_path, &b);
	if (r < 0)
		return cli_fail(NULL, r);
	r = repl_job_delete(&b, guest, jobnum,
			    force  ? REPL_DELETE_FORCE
			    : keep ? REPL_DELETE_KEEP
				   : REPL_DELETE_FULL,
			    &err);
	if (r < 0)
		return cli_fail(&err, r);
	if (!force)
		printf("Replication job removal is a background task and will take some time.\n");
	return CLI_EXIT_OK;
}

const struct cli_command repl_delete_cmd = {
	.name = "delete",
	.summary = "remove a replication job",
	.usage = "Usage: drover replication delete ID [--keep] [--force]\n"
		 "\n"
		 "Marks job ID for removal (remove_job=full): the scheduler on the guest's\n"
		 "node removes the job's snapshots there and the replicated volumes on the\n"
		 "target, then the job. With --keep (remove_job=local) the target keeps its\n"
		 "volumes. --force removes the entry from replication.cfg at once, without\n"
		 "any cleanup.\n",
	.needs = CLI_NEED_QUORATE,
	.run = cmd_delete,
};

/* ---- list, read ----------------------------------------------------------- */

static struct json_object *job_json(const struct repl_job *j, const char *digest)
{
	struct json_object *o = json_object_new_object();
	char id[REPL_JOBID_MAX];

	repl_jobid_format(j->guest, j->jobnum, id);
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "type", json_object_new_string("local"));
	json_object_object_add(o, "guest", json_object_new_int64(j->guest));
	json_object_object_add(o, "jobnum", json_object_new_int64(j->jobnum));
	json_object_object_add(o, "target", json_object_new_string(j->target));
	if (j->schedule[0])
		json_object_object_add(o, "schedule", json_object_new_string(j->schedule));
	if (j->rate > 0)
		json_object_object_add(o, "rate", json_object_new_double(j->rate));
	if (j->comment[0])
		json_object_object_add(o, "comment", json_object_new_string(j->comment));
	if (j->disable)
		json_object_object_add(o, "disable", json_object_new_int(1));
	if (j->source[0])
		json_object_object_add(o, "source", json_object_new_string(j->source));
	if (j->remove_job != REPL_REMOVE_NONE)
		json_object_object_add(o, "remove_job",
				       json_object_new_string(j->remove_job == REPL_REMOVE_FULL
								      ? "full"
								      : "local"));
	if (digest)
		json_object_object_add(o, "digest", json_object_new_string(digest));
	return o;
}

static int by_guest(const void *a, const void *b)
{
	const struct repl_job *x = a, *y = b;

	if (x->guest != y->guest)
		return x->guest < y->guest ? -1 : 1;
	return x->jobnum < y->jobnum ? -1 : x->jobnum > y->jobnum;
}

static void print_json(struct json_object *o, int mode)
{
	puts(json_object_to_json_string_ext(
		o, (mode == 2 ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN) |
			   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static int cmd_list(struct cli_context *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "output-format", required_argument, NULL, 'o' },
					      { NULL, 0, NULL, 0 } };
	struct repl_cfg cfg;
	struct cfs_brief b;
	int c, mode = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (c != 'o' || (mode = cli_output_format(optarg)) < 0)
			return CLI_EXIT_USAGE;
	if (optind != argc) {
		cli_error("list takes no arguments");
		return CLI_EXIT_USAGE;
	}
	if (repl_cli_cfg(ctx, &b, &cfg) < 0)
		return CLI_EXIT_FAIL;
	qsort(cfg.jobs, cfg.n, sizeof(cfg.jobs[0]), by_guest);
	if (mode) {
		struct json_object *a = json_object_new_array();

		for (size_t i = 0; i < cfg.n; i++)
			json_object_array_add(a, job_json(&cfg.jobs[i], NULL));
		print_json(a, mode);
	} else {
		printf("%-20s %-20s %10s %5s %8s\n", "JobID", "Target", "Schedule", "Rate",
		       "Enabled");
		for (size_t i = 0; i < cfg.n; i++) {
			const struct repl_job *j = &cfg.jobs[i];
			char id[REPL_JOBID_MAX], target[80], rate[32] = "-";

			repl_jobid_format(j->guest, j->jobnum, id);
			snprintf(target, sizeof(target), "local/%s", j->target);
			if (j->rate > 0)
				snprintf(rate, sizeof(rate), "%g", j->rate);
			printf("%-20s %-20s %10s %5s %8s\n", id, target, repl_job_schedule(j), rate,
			       j->disable ? "no" : "yes");
		}
	}
	repl_cfg_free(&cfg);
	return CLI_EXIT_OK;
}

const struct cli_command repl_list_cmd = {
	.name = "list",
	.summary = "list the replication jobs",
	.usage = "Usage: drover replication list [--output-format text|json|json-pretty]\n"
		 "\n"
		 "Every job of replication.cfg, sorted by guest, in pvesr's columns:\n"
		 "JobID, Target (local/NODE), Schedule, Rate (MB/s, '-' for none), Enabled.\n",
	.needs = CLI_NEED_CFS,
	.run = cmd_list,
};

static int cmd_read(struct cli_context *ctx, int argc, char **argv)
{
	struct repl_job *j;
	struct repl_cfg cfg;
	struct cfs_brief b;
	uint32_t guest, jobnum;

	if (argc != 2 || repl_cli_jobid(argv[1], &guest, &jobnum) < 0) {
		if (argc != 2)
			cli_error("read: needs ID (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (repl_cli_cfg(ctx, &b, &cfg) < 0)
		return CLI_EXIT_FAIL;
	j = repl_cfg_find(&cfg, guest, jobnum);
	if (!j) {
		cli_error("replication job '%s' does not exist", argv[1]);
		repl_cfg_free(&cfg);
		return CLI_EXIT_FAIL;
	}
	print_json(job_json(j, cfg.digest), 2);
	repl_cfg_free(&cfg);
	return CLI_EXIT_OK;
}

const struct cli_command repl_read_cmd = {
	.name = "read",
	.summary = "show a replication job's configuration",
	.usage = "Usage: drover replication read ID\n"
		 "\n"
		 "Job ID's configuration as JSON (pvesr's keys: id, type, guest, jobnum,\n"
		 "target, schedule, rate, comment, disable, source, remove_job) with the\n"
		 "digest of replication.cfg for 'update --digest'.\n",
	.needs = CLI_NEED_CFS,
	.run = cmd_read,
};
