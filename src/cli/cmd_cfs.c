/* SPDX-License-Identifier: MIT */
/* drover cfs: the cluster configuration file system (status, watch, log, flush). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "libdrover/cfs/requests.h"
#include "basic/timefmt.h"
#include "basic/util.h"

enum output_format {
	OUTPUT_TEXT,
	OUTPUT_JSON,
};

static int parse_format(const char *s, enum output_format *f)
{
	if (strcmp(s, "text") == 0)
		*f = OUTPUT_TEXT;
	else if (strcmp(s, "json") == 0 || strcmp(s, "json-pretty") == 0)
		*f = OUTPUT_JSON;
	else {
		cli_error("--output-format: '%s' is not one of text, json", s);
		return -EINVAL;
	}
	return 0;
}

/* One request, one reply (NUL-terminated); prints errors. Returns 0 or -errno. */
static int call(struct cli_context *ctx, uint16_t type, const struct buf *req, struct buf *reply)
{
	struct drover_err err = { "" };
	int r = cfs_request(ctx->socket_path, type, req, reply, &err);

	if (r < 0)
		cli_fail(&err, r);
	return r;
}

/* getopt over a command's own argv; returns the index of the first operand or -1. */
static int parse_common(int argc, char **argv, const char *extra_short,
			const struct option *extra_long, int (*handle)(int c, void *arg), void *arg)
{
	int c;

	optind = 0;
	opterr = 1;
	while ((c = getopt_long(argc, argv, extra_short, extra_long, NULL)) != -1) {
		if (c == '?' || handle(c, arg) < 0)
			return -1;
	}
	return optind;
}

struct status_args {
	enum output_format format;
};

static int status_opt(int c, void *arg)
{
	struct status_args *a = arg;

	return c == 'o' ? parse_format(optarg, &a->format) : -1;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return json_object_get_string(v);
}

static uint64_t ju64(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_uint64(v) : 0;
}

static struct json_object *jobj(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static void heading(const char *title)
{
	size_t n = strlen(title);

	printf("%s\n", title);
	while (n--)
		putchar('=');
	putchar('\n');
}

static void print_members(struct json_object *s)
{
	struct json_object *m = jobj(s, "members");
	size_t n = m ? json_object_array_length(m) : 0;

	printf("Members:          %zu (", n);
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? ", " : "",
		       json_object_get_string(json_object_array_get_idx(m, i)));
	printf(")\n");
}

/* Cluster mode: where this node stands in the group. */
static void print_replication(struct json_object *s)
{
	heading("Replication");
	printf("Cluster:          %s (node id %" PRIu64 ")\n", jstr(s, "cluster_name"),
	       ju64(s, "nodeid"));
	printf("State:            %s%s\n", jstr(s, "sync"),
	       json_object_get_boolean(jobj(s, "writable")) ? ", writable" : ", read-only");
	if (jstr(s, "error"))
		printf("Error:            %s\n", jstr(s, "error"));
	print_members(s);
	printf("Quorum:           %s%s\n",
	       json_object_get_boolean(jobj(s, "quorate")) ? "quorate" : "not quorate",
	       json_object_get_boolean(jobj(s, "quorum_forced")) ? " (forced: expected votes "
								   "lowered)"
								 : "");
	printf("Sync leader:      node id %" PRIu64 "\n", ju64(s, "leader"));
	printf("Sync rounds:      %" PRIu64 " (last took %" PRIu64 " us)\n", ju64(s, "rounds"),
	       ju64(s, "last_sync_us"));
	printf("Updates:          %" PRIu64 " received (%" PRIu64 " full), %" PRIu64 " sent\n",
	       ju64(s, "updates_received"), ju64(s, "full_updates_received"),
	       ju64(s, "updates_sent"));
	printf("Queue:            %" PRIu64 " waiting, %" PRIu64 " in flight, %" PRIu64
	       " to send\n",
	       ju64(s, "queue"), ju64(s, "in_flight"), ju64(s, "send_queue"));
	printf("Acknowledgements: %" PRIu64 " writes confirmed (waited %" PRIu64
	       " us on average), %" PRIu64 " waiting, %" PRIu64 " failed as unknown; %" PRIu64
	       " acks sent alone, %" PRIu64 " with ops\n",
	       ju64(s, "confirmed"), ju64(s, "confirm_wait_us"), ju64(s, "unconfirmed"),
	       ju64(s, "unconfirmed_failed"), ju64(s, "acks_sent"), ju64(s, "acks_piggybacked"));
	printf("Verifications:    %" PRIu64 " (%" PRIu64 " mismatches)\n", ju64(s, "verifications"),
	       ju64(s, "verify_failures"));
	printf("\n");
}

static void print_status(struct json_object *s)
{
	struct json_object *limits = jobj(s, "limits");
	struct json_object *p = jobj(s, "persistence");
	char a[32], b[32], when[64];

	timefmt_local((int64_t)ju64(s, "starttime"), when, sizeof(when));
	heading("Cluster file system");
	printf("Mode:             %s\n", jstr(s, "mode"));
	printf("Node:             %s\n", jstr(s, "node"));
	printf("Mount point:      %s\n", jstr(s, "mountpoint"));
	printf("Quorate:          %s\n",
	       json_object_get_boolean(jobj(s, "quorate")) ? "Yes" : "No");
	printf("Started:          %s\n", when);
	printf("\n");
	if (jobj(s, "sync"))
		print_replication(s);
	heading("Tree");
	printf("Version:          %" PRIu64 "\n", ju64(s, "version"));
	printf("Digest:           %s\n", jstr(s, "digest"));
	printf("Entries:          %" PRIu64 " of %" PRIu64 "\n", ju64(s, "entries"),
	       ju64(limits, "max_entries"));
	printf("Data:             %s of %s\n", format_size(ju64(s, "bytes"), a, sizeof(a)),
	       format_size(ju64(limits, "max_total_bytes"), b, sizeof(b)));
	printf("File size limit:  %s\n", format_size(ju64(limits, "max_file_size"), a, sizeof(a)));
	printf("Guests:           %" PRIu64 "\n", ju64(s, "guests"));
	printf("Watchers:         %" PRIu64 "\n", ju64(s, "watchers"));
	printf("Apply latency:    %" PRIu64 " us (average)\n", ju64(s, "apply_latency_us"));
	printf("\n");
	heading("Persistence");
	printf("Database:         %s\n", jstr(p, "database"));
	printf("Journal:          %s not yet in the database\n",
	       format_size(ju64(p, "journal_bytes"), a, sizeof(a)));
	printf("Operations:       %" PRIu64 " in %" PRIu64 " commits (%" PRIu64
	       " journal writes, %" PRIu64 " direct)\n",
	       ju64(p, "operations"), ju64(p, "batches"), ju64(p, "journal_writes"),
	       ju64(p, "direct_writes"));
	printf("Flushes:          %" PRIu64 " (last %" PRIu64 " us), %" PRIu64 " failed\n",
	       ju64(p, "flushes"), ju64(p, "last_flush_us"), ju64(p, "flush_failures"));
	printf("Commit failures:  %" PRIu64 "\n", ju64(p, "commit_failures"));
	printf("Tombstones:       %" PRIu64 "\n", ju64(p, "tombstones"));
	if (jstr(p, "recovered_from"))
		printf("Damaged database: moved to %s at start\n", jstr(p, "recovered_from"));
}

static int cmd_status(struct cli_context *ctx, int argc, char **argv)
{
	static const struct option longopts[] = { { "output-format", required_argument, NULL, 'o' },
						  { NULL, 0, NULL, 0 } };
	struct status_args a = { OUTPUT_TEXT };
	struct buf reply = BUF_INIT;
	struct json_object *s;
	int first = parse_common(argc, argv, "o:", longopts, status_opt, &a);
	int r;

	if (first < 0 || first != argc) {
		if (first >= 0)
			cli_error("cfs status takes no arguments");
		return CLI_EXIT_USAGE;
	}
	r = call(ctx, IPC_STATUS, NULL, &reply);
	if (r < 0) {
		buf_free(&reply);
		return CLI_EXIT_FAIL;
	}
	if (a.format == OUTPUT_JSON) {
		fputs((const char *)reply.data, stdout);
		buf_free(&reply);
		return CLI_EXIT_OK;
	}
	s = json_tokener_parse((const char *)reply.data);
	buf_free(&reply);
	if (!s) {
		cli_error("droverfs sent a status that is not JSON");
		return CLI_EXIT_FAIL;
	}
	print_status(s);
	json_object_put(s);
	return CLI_EXIT_OK;
}

struct watch_args {
	enum output_format format;
	long count;
};

static int watch_opt(int c, void *arg)
{
	struct watch_args *a = arg;
	char *end;

	if (c == 'o')
		return parse_format(optarg, &a->format);
	if (c == 'n') {
		a->count = strtol(optarg, &end, 10);
		if (*end || a->count < 1) {
			cli_error("-n: '%s' is not a positive number", optarg);
			return -1;
		}
		return 0;
	}
	return -1;
}

static void print_event(const struct cfs_event *ev, enum output_format format)
{
	const char *op = cfs_event_kind_name(ev->kind);
	char when[32];

	if (format == OUTPUT_JSON) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "version", json_object_new_uint64(ev->version));
		json_object_object_add(o, "op", json_object_new_string(op));
		json_object_object_add(o, "type",
				       json_object_new_string(ev->type == 1 ? "dir" : "file"));
		json_object_object_add(o, "path", json_object_new_string(ev->path));
		if (*ev->old)
			json_object_object_add(o, "old_path", json_object_new_string(ev->old));
		printf("%s\n", json_object_to_json_string_ext(
				       o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		timefmt(time(NULL), false, "%H:%M:%S", when, sizeof(when));
		printf("%s %8" PRIu64 " %-8s %s%s%s%s\n", when, ev->version, op, ev->path,
		       ev->type == 1 ? "/" : "", *ev->old ? " <- " : "", ev->old);
	}
	fflush(stdout);
}

static int cmd_watch(struct cli_context *ctx, int argc, char **argv)
{
	static const struct option longopts[] = { { "output-format", required_argument, NULL, 'o' },
						  { "count", required_argument, NULL, 'n' },
						  { NULL, 0, NULL, 0 } };
	struct watch_args a = { OUTPUT_TEXT, 0 };
	struct drover_err err = { "" };
	struct cfs_watch w;
	struct cfs_event ev;
	int first = parse_common(argc, argv, "o:n:", longopts, watch_opt, &a);
	long seen = 0;
	int r;

	if (first < 0 || argc - first > 1) {
		if (first >= 0)
			cli_error("cfs watch takes at most one PATH");
		return CLI_EXIT_USAGE;
	}
	r = cfs_watch_open(&w, ctx->socket_path, first < argc ? argv[first] : "", &err);
	if (r < 0) {
		if (err.text[0])
			cli_error("%s", err.text);
		return CLI_EXIT_FAIL;
	}
	/* Tell whoever waits on our output that the watch is in place. */
	if (a.format == OUTPUT_TEXT)
		fprintf(stderr, "watching %s\n", first < argc ? argv[first] : "everything");
	while ((a.count == 0 || seen < a.count) && (r = cfs_watch_next(&w, &ev, &err)) == 0) {
		print_event(&ev, a.format);
		cfs_event_free(&ev);
		seen++;
	}
	if (r < 0 && err.text[0])
		cli_error("%s", err.text);
	cfs_watch_close(&w);
	return r < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

struct log_args {
	enum output_format format;
	long max;
	const char *user;
};

static int log_opt(int c, void *arg)
{
	struct log_args *a = arg;
	char *end;

	switch (c) {
	case 'o':
		return parse_format(optarg, &a->format);
	case 'n':
		a->max = strtol(optarg, &end, 10);
		if (*end || a->max < 1 || a->max > 100000) {
			cli_error("-n: '%s' is not a number from 1 to 100000", optarg);
			return -1;
		}
		return 0;
	case 'u':
		a->user = optarg;
		return 0;
	default:
		return -1;
	}
}

static void print_log(struct json_object *o)
{
	struct json_object *data = jobj(o, "data");
	size_t n = data ? json_object_array_length(data) : 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(data, i);
		char when[32];

		timefmt_local((int64_t)ju64(e, "time"), when, sizeof(when));
		printf("%s %s %s[%" PRIu64 "] %s: %s\n", when, jstr(e, "node"), jstr(e, "tag"),
		       ju64(e, "pid"), jstr(e, "user"), jstr(e, "msg"));
	}
}

static int cmd_log(struct cli_context *ctx, int argc, char **argv)
{
	static const struct option longopts[] = { { "output-format", required_argument, NULL, 'o' },
						  { "max", required_argument, NULL, 'n' },
						  { "user", required_argument, NULL, 'u' },
						  { NULL, 0, NULL, 0 } };
	struct log_args a = { OUTPUT_TEXT, 50, "" };
	struct drover_err err = { "" };
	struct buf reply = BUF_INIT;
	struct json_object *o;
	int first = parse_common(argc, argv, "o:n:u:", longopts, log_opt, &a);
	int r;

	if (first < 0 || first != argc) {
		if (first >= 0)
			cli_error("cfs log takes no arguments");
		return CLI_EXIT_USAGE;
	}
	r = cfs_log_read(ctx->socket_path, (uint32_t)a.max, a.user, &reply, &err);
	if (r < 0) {
		buf_free(&reply);
		return cli_fail(&err, r);
	}
	if (a.format == OUTPUT_JSON) {
		fputs((const char *)reply.data, stdout);
	} else {
		o = json_tokener_parse((const char *)reply.data);
		if (o)
			print_log(o);
		json_object_put(o);
	}
	buf_free(&reply);
	return CLI_EXIT_OK;
}

static int cmd_flush(struct cli_context *ctx, int argc, char **argv)
{
	struct buf reply = BUF_INIT;
	int r;

	if (argc > 1) {
		cli_error("cfs flush takes no arguments");
		return CLI_EXIT_USAGE;
	}
	r = call(ctx, IPC_FLUSH, NULL, &reply);
	buf_free(&reply);
	return r < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static const struct cli_command cfs_status = {
	.name = "status",
	.summary = "show the state of the configuration file system",
	.usage = "Usage: drover cfs status [--output-format text|json]\n"
		 "\n"
		 "Shows droverfs on this node: mode, quorum, the tree's version, digest,\n"
		 "size and limits, and how its changes are persisted.\n",
	.run = cmd_status,
};

static const struct cli_command cfs_watch = {
	.name = "watch",
	.summary = "print every change under a path as it happens",
	.usage = "Usage: drover cfs watch [PATH] [-n COUNT] [--output-format text|json]\n"
		 "\n"
		 "Prints one line per change at or below PATH (relative to the mount\n"
		 "point; default: everything) until interrupted, or until COUNT changes\n"
		 "were shown. Members of the read-only group see no changes in priv/.\n"
		 "\n"
		 "Options:\n"
		 "  -n, --count COUNT          stop after COUNT changes\n"
		 "  -o, --output-format FMT    text (default) or json (one object per line)\n",
	.run = cmd_watch,
};

static const struct cli_command cfs_log = {
	.name = "log",
	.summary = "show the cluster log",
	.usage = "Usage: drover cfs log [-n MAX] [--user IDENT] [--output-format text|json]\n"
		 "\n"
		 "Shows the newest entries of the cluster log, newest first.\n"
		 "\n"
		 "Options:\n"
		 "  -n, --max MAX              at most MAX entries (default 50)\n"
		 "  -u, --user IDENT           only entries logged by IDENT\n"
		 "  -o, --output-format FMT    text (default) or json\n",
	.run = cmd_log,
};

static const struct cli_command cfs_flush = {
	.name = "flush",
	.summary = "write all changes into the database file now",
	.usage = "Usage: drover cfs flush\n"
		 "\n"
		 "droverfs keeps recent changes in its journal (config.db.journal) and\n"
		 "folds them into config.db every few seconds. This folds them in now and\n"
		 "checkpoints the database, e.g. before copying config.db. Root only.\n",
	.run = cmd_flush,
};

static const struct cli_command *const cfs_commands[] = {
	&cfs_status, &cfs_watch, &cfs_log, &cfs_flush, NULL,
};

const struct cli_command cli_cfs_group = {
	.name = "cfs",
	.summary = "the cluster configuration file system (droverfs)",
	.usage = "Usage: drover cfs COMMAND [OPTIONS]\n"
		 "\n"
		 "Inspect droverfs, the configuration file system mounted at /etc/drover.\n",
	.subcommands = cfs_commands,
};
