/* SPDX-License-Identifier: MIT */
/*
 * drover replication status, run, schedule-now, log, metrics, and the
 * internal prepare-local-job, finalize-local-job and set-state that a
 * source node runs on the target over SSH (pvesr's contracts).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/timefmt.h"
#include "basic/util.h"
#include "libdrover/replication/jobstatus.h"
#include "libdrover/replication/node_jobs.h"
#include "libdrover/replication/runlog.h"
#include "libdrover/replication/runone.h"
#include "libdrover/replication/schedule.h"
#include "libdrover/replication/state_json.h"
#include "libdrover/replication/state_store.h"
#include "libdrover/replication/target.h"
#include "repl_cli.h"

/* The jobs of this node with their state (status, metrics); prints the error. */
static int load_status(struct cli_context *ctx, bool with_disabled, struct repl_job_status **v,
		       size_t *n)
{
	struct drover_err err = { "" };
	int r = repl_node_jobs(ctx->socket_path, NULL, with_disabled, v, n, &err);

	if (r < 0)
		cli_error("%s", err.text);
	return r;
}

/* ---- status --------------------------------------------------------------- */

/* pvesr's times: one word, for the columns */
#define STATUS_TIME "%Y-%m-%d_%H:%M:%S"

/* The State column: what the job does or waits for, else its last error, else OK. */
static const char *state_text(const struct repl_job_status *s, char *buf, size_t len)
{
	if (s->running)
		return "SYNCING";
	if (s->target_offline) {
		snprintf(buf, len, "waiting: target %s is offline", s->job.target);
		return buf;
	}
	if (s->adopt) {
		snprintf(buf, len, "taken over from %s: switched on the next run", s->job.source);
		return buf;
	}
	return s->st.error[0] ? s->st.error : "OK";
}

static struct json_object *status_json(const struct repl_job_status *s)
{
	struct json_object *o = json_object_new_object();
	char id[REPL_JOBID_MAX], buf[REPL_ERROR_MAX + 64];

	repl_jobid_format(s->job.guest, s->job.jobnum, id);
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "guest", json_object_new_int64(s->job.guest));
	json_object_object_add(o, "jobnum", json_object_new_int64(s->job.jobnum));
	json_object_object_add(o, "target", json_object_new_string(s->job.target));
	json_object_object_add(o, "schedule", json_object_new_string(repl_job_schedule(&s->job)));
	json_object_object_add(o, "enabled", json_object_new_boolean(!s->job.disable));
	json_object_object_add(o, "last_sync", json_object_new_int64(s->st.last_sync));
	json_object_object_add(o, "last_try", json_object_new_int64(s->st.last_try));
	json_object_object_add(o, "next_sync", json_object_new_int64(s->next_sync));
	json_object_object_add(o, "duration", json_object_new_double(s->st.duration));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)s->st.bytes));
	json_object_object_add(o, "fail_count", json_object_new_int64(s->st.fail_count));
	json_object_object_add(o, "running", json_object_new_boolean(s->running));
	if (s->job.remove_job != REPL_REMOVE_NONE)
		json_object_object_add(o, "remove_job",
				       json_object_new_string(s->job.remove_job == REPL_REMOVE_FULL
								      ? "full"
								      : "local"));
	if (s->st.error[0])
		json_object_object_add(o, "error", json_object_new_string(s->st.error));
	json_object_object_add(o, "target_offline", json_object_new_boolean(s->target_offline));
	json_object_object_add(o, "state", json_object_new_string(state_text(s, buf, sizeof(buf))));
	return o;
}

static void status_line(const struct repl_job_status *s, int64_t now)
{
	char id[REPL_JOBID_MAX], target[80], last[32] = "-", next[32] = "-", dur[32] = "-";
	char buf[REPL_ERROR_MAX + 64];

	repl_jobid_format(s->job.guest, s->job.jobnum, id);
	snprintf(target, sizeof(target), "local/%s", s->job.target);
	if (s->st.last_sync)
		timefmt(s->st.last_sync, false, STATUS_TIME, last, sizeof(last));
	if (s->next_sync != REPL_NEXT_NEVER) {
		if (s->next_sync <= now)
			snprintf(next, sizeof(next), "pending");
		else
			timefmt(s->next_sync, false, STATUS_TIME, next, sizeof(next));
	}
	if (s->has_state && s->st.last_try)
		snprintf(dur, sizeof(dur), "%g", s->st.duration);
	printf("%-10s %-10s %-20s %20s %20s %10s %10" PRIu32 " %s\n", id,
	       s->job.disable ? "No" : "Yes", target, last, next, dur, s->st.fail_count,
	       state_text(s, buf, sizeof(buf)));
}

static int cmd_status(struct cli_context *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "guest", required_argument, NULL, 'g' },
		{ "output-format", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct repl_job_status *v = NULL;
	struct json_object *a;
	uint64_t guest = 0;
	size_t n = 0;
	int c, mode = 0;
	int64_t now = now_wall_s();

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'g' && parse_u64(optarg, 999999999, &guest) == 0 && guest >= 100)
			continue;
		if (c == 'g')
			cli_error("--guest: '%s' is not a guest ID", optarg);
		if (c != 'o' || (mode = cli_output_format(optarg)) < 0)
			return CLI_EXIT_USAGE;
	}
	if (optind != argc) {
		cli_error("status takes no arguments");
		return CLI_EXIT_USAGE;
	}
	if (load_status(ctx, true, &v, &n) < 0)
		return CLI_EXIT_FAIL;
	a = json_object_new_array();
	if (!mode)
		printf("%-10s %-10s %-20s %20s %20s %10s %10s %s\n", "JobID", "Enabled", "Target",
		       "LastSync", "NextSync", "Duration", "FailCount", "State");
	for (size_t i = 0; i < n; i++) {
		if (guest && v[i].job.guest != guest)
			continue;
		if (mode)
			json_object_array_add(a, status_json(&v[i]));
		else
			status_line(&v[i], now);
	}
	if (mode)
		puts(json_object_to_json_string_ext(a, mode == 2 ? JSON_C_TO_STRING_PRETTY
								 : JSON_C_TO_STRING_PLAIN));
	json_object_put(a);
	free(v);
	return CLI_EXIT_OK;
}

const struct cli_command repl_status_cmd = {
	.name = "status",
	.summary = "the replication jobs of this node and their state",
	.usage = "Usage: drover replication status [--guest VMID]\n"
		 "          [--output-format text|json|json-pretty]\n"
		 "\n"
		 "The jobs whose guest is on this node (disabled ones too), in pvesr's\n"
		 "columns: JobID, Enabled, Target, LastSync, NextSync ('pending' when due,\n"
		 "'-' when never), Duration (seconds of the last run), FailCount, State\n"
		 "(SYNCING while a run is in progress; 'waiting: target NODE is offline'\n"
		 "while the target is not an online member, when the job neither runs nor\n"
		 "counts a failure; 'taken over from NODE' for a guest whose config was\n"
		 "moved here, until its next run adopts the job; else the last error,\n"
		 "else OK).\n",
	.needs = CLI_NEED_CFS,
	.run = cmd_status,
};

/* ---- run ------------------------------------------------------------------ */

static void run_failed(void *ctx, uint32_t guest, uint32_t jobnum, const struct drover_err *err)
{
	(void)ctx;
	cli_error("%" PRIu32 "-%" PRIu32 ": %s", guest, jobnum, err->text);
}

static int cmd_run(struct cli_context *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "id", required_argument, NULL, 'i' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct repl_run_opts o = { 0 };
	struct drover_err err = { "" };
	uint32_t guest = 0, jobnum = 0;
	bool verbose = false, have_id = false;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		if (c == 'v')
			verbose = true;
		else if (c == 'i' && repl_cli_jobid(optarg, &guest, &jobnum) == 0)
			have_id = true;
		else
			return CLI_EXIT_USAGE;
	}
	if (optind != argc) {
		cli_error("run takes no arguments (see --help)");
		return CLI_EXIT_USAGE;
	}
	o.rep = verbose ? &cli_reporter : NULL;
	if (have_id) {
		struct repl_run_result res;

		r = repl_run_id(ctx->socket_path, guest, jobnum, &o, &res, &err);
		if (r < 0)
			run_failed(NULL, guest, jobnum, &err);
		return r < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	}
	r = repl_run_due(ctx->socket_path, &o, run_failed, NULL, &err);
	if (r < 0)
		cli_error("%s", err.text);
	return r != 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

const struct cli_command repl_run_cmd = {
	.name = "run",
	.summary = "run replication jobs now",
	.usage = "Usage: drover replication run [--id ID] [--verbose]\n"
		 "\n"
		 "Without --id, runs every job of this node that is due (droverd's\n"
		 "scheduler does this on its own); with --id, runs job ID now, whatever\n"
		 "its schedule (not when it is disabled). --verbose prints the job's log\n"
		 "lines as they come. The exit status is 1 if a job failed.\n",
	.needs = CLI_NEED_QUORATE,
	.run = cmd_run,
};

/* ---- schedule-now --------------------------------------------------------- */

static int cmd_schedule_now(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	uint32_t guest, jobnum;
	int r;

	if (argc != 2) {
		cli_error("schedule-now: needs ID");
		return CLI_EXIT_USAGE;
	}
	if (repl_cli_jobid(argv[1], &guest, &jobnum) < 0)
		return CLI_EXIT_USAGE;
	r = repl_schedule_now(ctx->socket_path, NULL, guest, jobnum, &err);
	return r < 0 ? cli_fail(&err, r) : CLI_EXIT_OK;
}

const struct cli_command repl_schedule_now_cmd = {
	.name = "schedule-now",
	.summary = "make a job due at once",
	.usage = "Usage: drover replication schedule-now ID\n"
		 "\n"
		 "Job ID runs as soon as droverd's scheduler looks (it is woken at once),\n"
		 "whatever its schedule; a job in error state retries at once.\n",
	.needs = CLI_NEED_CFS,
	.run = cmd_schedule_now,
};

/* ---- log ------------------------------------------------------------------ */

static int cmd_log(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	char *text = NULL;
	uint32_t guest, jobnum;
	size_t len = 0;
	int r;

	(void)ctx;
	if (argc != 2) {
		cli_error("log: needs ID");
		return CLI_EXIT_USAGE;
	}
	if (repl_cli_jobid(argv[1], &guest, &jobnum) < 0)
		return CLI_EXIT_USAGE;
	r = repl_runlog_read(NULL, argv[1], &text, &len, &err);
	if (r < 0)
		return cli_fail(&err, r);
	fwrite(text, 1, len, stdout);
	free(text);
	return CLI_EXIT_OK;
}

const struct cli_command repl_log_cmd = {
	.name = "log",
	.summary = "the log of a job's last run",
	.usage = "Usage: drover replication log ID\n"
		 "\n"
		 "Prints " REPL_LOG_DIR_DEFAULT "/ID, the log of job ID's last run on this\n"
		 "node: one 'YYYY-MM-DD HH:MM:SS ID: message' line per step.\n",
	.run = cmd_log,
};

/* ---- metrics -------------------------------------------------------------- */

static int cmd_metrics(struct cli_context *ctx, int argc, char **argv)
{
	struct repl_job_status *v = NULL;
	struct buf out = BUF_INIT;
	size_t n = 0;
	int r;

	if (argc != 1) {
		cli_error("metrics takes no arguments");
		return CLI_EXIT_USAGE;
	}
	if (load_status(ctx, true, &v, &n) < 0)
		return CLI_EXIT_FAIL;
	r = repl_metrics_text(v, n, now_wall_s(), &out);
	free(v);
	if (r < 0) {
		buf_free(&out);
		return cli_fail(NULL, r);
	}
	fwrite(out.data, 1, out.len, stdout);
	buf_free(&out);
	return CLI_EXIT_OK;
}

const struct cli_command repl_metrics_cmd = {
	.name = "metrics",
	.summary = "this node's jobs in Prometheus text format",
	.usage = "Usage: drover replication metrics\n"
		 "\n"
		 "The jobs of this node as Prometheus gauges labelled job, guest and\n"
		 "target: drover_replication_last_sync_timestamp_seconds, _lag_seconds,\n"
		 "_duration_seconds, _bytes, _fail_count, _next_sync_timestamp_seconds,\n"
		 "_running.\n",
	.needs = CLI_NEED_CFS,
	.run = cmd_metrics,
};

/* ---- the target's side ---------------------------------------------------- */

/* Log lines of the target's side go to stderr: stdout carries the JSON. */
static void to_stderr(void *ctx, const struct drover_event *ev)
{
	(void)ctx;
	if (ev->kind != DROVER_EVENT_BYTES && ev->text)
		fprintf(stderr, "%s%s\n", ev->kind == DROVER_EVENT_WARN ? "warning: " : "",
			ev->text);
}

static const struct drover_reporter stderr_reporter = { to_stderr, NULL };

static int split_scan(char *list, const char **scan, size_t max, size_t *n)
{
	char *save = NULL;

	*n = 0;
	for (char *s = strtok_r(list, ",; ", &save); s; s = strtok_r(NULL, ",; ", &save)) {
		if (*n == max)
			return -E2BIG;
		scan[(*n)++] = s;
	}
	return 0;
}

static int target_side(struct cli_context *ctx, int argc, char **argv, bool finalize)
{
	static const struct option opts[] = {
		{ "last_sync", required_argument, NULL, 'l' },
		{ "parent_snapname", required_argument, NULL, 'p' },
		{ "scan", required_argument, NULL, 's' },
		{ "source-location", required_argument, NULL, 'L' },
		{ "force", optional_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *scan[64], *locs[REPL_STOREIDS_MAX];
	struct repl_prepare_req q = { .scan = scan, .source_locations = locs };
	struct drover_err err = { "" };
	struct json_object *out = NULL;
	uint64_t last_sync = 0;
	uint32_t guest, jobnum;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'l' && parse_u64(optarg, INT64_MAX, &last_sync) == 0)
			continue;
		if (c == 'p')
			q.parent = optarg;
		else if (c == 's' && split_scan(optarg, scan, ARRAY_SIZE(scan), &q.n_scan) == 0)
			continue;
		else if (c == 'L' && q.n_source_locations < ARRAY_SIZE(locs))
			locs[q.n_source_locations++] = optarg;
		else if (c != 'f')
			return CLI_EXIT_USAGE;
	}
	if (optind >= argc || repl_cli_jobid(argv[optind], &guest, &jobnum) < 0)
		return CLI_EXIT_USAGE;
	q.jobid = argv[optind];
	q.volids = (const char *const *)argv + optind + 1;
	q.n = (size_t)(argc - optind - 1);
	q.last_sync = (int64_t)last_sync;
	r = repl_prepare_local_at(ctx->socket_path, &q, &out, &stderr_reporter, &err);
	if (r == 0 && !finalize)
		puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	if (out)
		json_object_put(out);
	return r < 0 ? cli_fail(&err, r) : CLI_EXIT_OK;
}

static int cmd_prepare(struct cli_context *ctx, int argc, char **argv)
{
	return target_side(ctx, argc, argv, false);
}

static int cmd_finalize(struct cli_context *ctx, int argc, char **argv)
{
	return target_side(ctx, argc, argv, true);
}

const struct cli_command repl_prepare_cmd = {
	.name = "prepare-local-job",
	.summary = "internal: the target's side before a run",
	.usage = "Usage: drover replication prepare-local-job ID [VOLID...] [--last_sync EPOCH]\n"
		 "          [--parent_snapname NAME] [--scan STOREIDS]\n"
		 "          [--source-location STOREID=LOCATION]... [--force]\n"
		 "\n"
		 "Run by the source node on the target over SSH (pvesr's contract). Removes\n"
		 "job ID's replication snapshots other than the one of --last_sync (all of\n"
		 "them with --last_sync 1, none with 0 or when that one is missing), frees\n"
		 "the guest's volumes on the storages of VOLIDs and --scan that carry the\n"
		 "job's snapshots but are not wanted, and prints one JSON line: each VOLID\n"
		 "present here -> its snapshots -> {id, timestamp, origin}. First, before\n"
		 "anything is removed, refuses when a --source-location (the source's\n"
		 "storage that every node has its own of, e.g. rbd with shared 0: its\n"
		 "cluster fsid and pool id) is where this node's storage of that ID is.\n",
	.run = cmd_prepare,
};

const struct cli_command repl_finalize_cmd = {
	.name = "finalize-local-job",
	.summary = "internal: the target's side after a run",
	.usage = "Usage: drover replication finalize-local-job ID [VOLID...] --last_sync EPOCH\n"
		 "\n"
		 "Run by the source node on the target over SSH after a successful run:\n"
		 "removes job ID's replication snapshots older than the one of --last_sync.\n",
	.run = cmd_finalize,
};

static int cmd_set_state(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	uint64_t vmid;
	int r;

	(void)ctx;
	if (argc != 3 || parse_u64(argv[1], 999999999, &vmid) < 0 || vmid < 100) {
		cli_error("set-state: needs VMID and the JSON state (see --help)");
		return CLI_EXIT_USAGE;
	}
	r = repl_state_set_guest(NULL, (uint32_t)vmid, argv[2], &err);
	return r < 0 ? cli_fail(&err, r) : CLI_EXIT_OK;
}

const struct cli_command repl_set_state_cmd = {
	.name = "set-state",
	.summary = "internal: take over a guest's job states",
	.usage = "Usage: drover replication set-state VMID JSON\n"
		 "\n"
		 "Replaces guest VMID's replication states on this node with JSON\n"
		 "({\"local/NODE\": {...}}), as a migration hands them to the new node.\n",
	.run = cmd_set_state,
};
