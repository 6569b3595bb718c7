/* SPDX-License-Identifier: MIT */
/* drover vm config, list, status, listsnapshot: what they print (text as qm's, or JSON). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "basic/timefmt.h"
#include "basic/buf.h"
#include "basic/shellwords.h"
#include "basic/strv.h"
#include "basic/util.h"
#include "vm_cli.h"

struct show_args {
	bool json, verbose, current;
	const char *snapshot;
	uint32_t vmid;
};

static int parse(const char *cmd, int argc, char **argv, bool wants_vmid, struct show_args *a)
{
	static const struct option longs[] = {
		{ "output-format", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "current", no_argument, NULL, 'c' },
		{ "snapshot", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		if (c == 'o' && (streq(optarg, "json") || streq(optarg, "text")))
			a->json = streq(optarg, "json");
		else if (c == 'v' && streq(cmd, "status"))
			a->verbose = true;
		else if (c == 'c' && streq(cmd, "config"))
			a->current = true;
		else if (c == 's' && streq(cmd, "config"))
			a->snapshot = optarg;
		else
			return vm_usage_error(cmd, "bad option or value '%s'", argv[optind - 1]);
	}
	if (wants_vmid) {
		if (optind >= argc)
			return vm_usage_error(cmd, "a VMID is needed");
		if (vm_parse_vmid(cmd, argv[optind++], &a->vmid) < 0)
			return CLI_EXIT_USAGE;
	}
	if (optind < argc)
		return vm_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	return 0;
}

static void print_json(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_SPACED));
	json_object_put(o);
}

/* ---- config ---- */

static void show_section(struct guest_section *s, const char *digest, bool json)
{
	struct json_object *o = json ? json_object_new_object() : NULL;
	char *desc = NULL;

	if (guest_description(s, &desc) == 0 && desc[0]) {
		if (json)
			json_object_object_add(o, "description", json_object_new_string(desc));
		else
			printf("description: %s\n", desc);
	}
	free(desc);
	for (size_t i = 0; i < guest_section_size(s); i++) {
		const char *value, *key = guest_line_key(s, i, &value);

		if (!key || streq(key, "description"))
			continue;
		if (json)
			json_object_object_add(o, key, json_object_new_string(value));
		else
			printf("%s: %s\n", key, value);
	}
	if (json) {
		if (digest && digest[0])
			json_object_object_add(o, "digest", json_object_new_string(digest));
		print_json(o);
	}
}

/* The VM's config (error printed). */
static int read_config(struct cli_context *ctx, uint32_t vmid, struct guest_conf **c)
{
	struct drover_err err = { "" };
	struct vm_env e;
	int r;

	if (vm_open(ctx, &e) < 0)
		return -EIO;
	r = vm_config(&e, vmid, c, &err);
	vm_env_close(&e);
	if (r < 0)
		cli_fail(&err, r);
	return r;
}

int vm_cmd_config(struct cli_context *ctx, int argc, char **argv)
{
	struct guest_conf *c = NULL;
	struct guest_section *s;
	struct show_args a;
	int r = parse("config", argc, argv, true, &a);

	if (r)
		return r;
	if (read_config(ctx, a.vmid, &c) < 0)
		return CLI_EXIT_FAIL;
	s = a.snapshot ? guest_conf_snapshot(c, a.snapshot) : guest_conf_current(c);
	if (!s) {
		cli_error("VM %" PRIu32 " has no snapshot '%s'", a.vmid, a.snapshot);
		guest_conf_free(c);
		return CLI_EXIT_FAIL;
	}
	show_section(s, guest_conf_digest(c), a.json);
	guest_conf_free(c);
	return CLI_EXIT_OK;
}

/* ---- status and list ---- */

static const char *state_text(const struct vm_status *st)
{
	if (st->unknown)
		return "unknown";
	return st->running ? "running" : "stopped";
}

static struct json_object *status_json(const struct vm_status *st, bool verbose)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "vmid", json_object_new_int64(st->vmid));
	json_object_object_add(o, "status", json_object_new_string(state_text(st)));
	json_object_object_add(o, "name", json_object_new_string(st->name));
	json_object_object_add(o, "node", json_object_new_string(st->node));
	if (!verbose)
		return o;
	json_object_object_add(o, "pid", json_object_new_int(st->pid));
	json_object_object_add(o, "uptime", json_object_new_int64((int64_t)st->uptime_s));
	json_object_object_add(o, "maxmem", json_object_new_int64((int64_t)st->maxmem));
	json_object_object_add(o, "mem", json_object_new_int64((int64_t)st->mem));
	json_object_object_add(o, "maxdisk", json_object_new_int64((int64_t)st->maxdisk));
	json_object_object_add(o, "cpus", json_object_new_int((int)st->cpus));
	json_object_object_add(o, "cputime", json_object_new_double(st->cpu_s));
	if (st->lock[0])
		json_object_object_add(o, "lock", json_object_new_string(st->lock));
	if (st->qmpstatus[0])
		json_object_object_add(o, "qmpstatus", json_object_new_string(st->qmpstatus));
	if (st->stale)
		json_object_object_add(o, "stale", json_object_new_boolean(true));
	return o;
}

int vm_cmd_status(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	struct vm_status st;
	struct show_args a;
	struct vm_env e;
	int r = parse("status", argc, argv, true, &a);

	if (r)
		return r;
	if (vm_open(ctx, &e) < 0)
		return CLI_EXIT_FAIL;
	r = vm_status_get(&e, a.vmid, a.verbose, &st, &err);
	vm_env_close(&e);
	if (r < 0)
		return cli_fail(&err, r);
	if (a.json) {
		print_json(status_json(&st, a.verbose));
		return CLI_EXIT_OK;
	}
	printf("status: %s\n", state_text(&st));
	if (!a.verbose)
		return CLI_EXIT_OK;
	printf("name: %s\nnode: %s\ncpus: %u\nmaxmem: %" PRIu64 "\nmaxdisk: %" PRIu64 "\n", st.name,
	       st.node, st.cpus, st.maxmem, st.maxdisk);
	if (st.lock[0])
		printf("lock: %s\n", st.lock);
	if (st.running)
		printf("pid: %d\nuptime: %" PRIu64 "\nmem: %" PRIu64 "\ncputime: %.2f\n"
		       "qmpstatus: %s\n",
		       st.pid, st.uptime_s, st.mem, st.cpu_s, st.qmpstatus);
	return CLI_EXIT_OK;
}

int vm_cmd_list(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	struct vm_status *v = NULL;
	struct show_args a;
	struct vm_env e;
	size_t n = 0;
	int r = parse("list", argc, argv, false, &a);

	if (r)
		return r;
	if (vm_open(ctx, &e) < 0)
		return CLI_EXIT_FAIL;
	r = vm_list(&e, &v, &n, &err);
	vm_env_close(&e);
	if (r < 0)
		return cli_fail(&err, r);
	if (a.json) {
		struct json_object *arr = json_object_new_array();

		for (size_t i = 0; i < n; i++)
			json_object_array_add(arr, status_json(&v[i], true));
		print_json(arr);
	} else {
		printf("%10s %-20s %-12s %-10s %-10s %-12s %-10s\n", "VMID", "NAME", "NODE",
		       "STATUS", "MEM(MB)", "BOOTDISK(GB)", "PID");
		for (size_t i = 0; i < n; i++)
			printf("%10" PRIu32 " %-20s %-12s %-10s %-10" PRIu64 " %-12.2f %-10d\n",
			       v[i].vmid, v[i].name, v[i].node, state_text(&v[i]),
			       v[i].maxmem >> 20, (double)v[i].maxdisk / (1 << 30), v[i].pid);
	}
	free(v);
	return CLI_EXIT_OK;
}

/* ---- listsnapshot ---- */

static void tree(struct guest_conf *c, const char *parent, int depth)
{
	for (size_t i = 0; i < guest_conf_snapshot_count(c); i++) {
		struct guest_section *s = guest_conf_snapshot_at(c, i);
		const char *p = guest_get(s, "parent"), *t = guest_get(s, "snaptime");
		char when[32] = "", *desc = NULL;
		uint64_t secs;

		if ((p == NULL) != (parent == NULL) || (p && !streq(p, parent)))
			continue;
		/* (a time the C library cannot break down prints nothing, not garbage) */
		if (t && parse_u64(t, INT64_MAX, &secs) == 0)
			timefmt_local((int64_t)secs, when, sizeof(when));
		guest_description(s, &desc);
		printf("%*s`-> %-20s %-20s %s\n", depth * 4, "", guest_section_name(s), when,
		       desc ? desc : "");
		free(desc);
		tree(c, guest_section_name(s), depth + 1);
	}
	{
		const char *cp = guest_get(guest_conf_current(c), "parent");

		if ((cp == NULL) == (parent == NULL) && (!cp || streq(cp, parent)))
			printf("%*s`-> %-20s %-20s %s\n", depth * 4, "", "current", "",
			       "You are here!");
	}
}

int vm_cmd_listsnapshot(struct cli_context *ctx, int argc, char **argv)
{
	struct guest_conf *c = NULL;
	struct show_args a;
	int r = parse("listsnapshot", argc, argv, true, &a);

	if (r)
		return r;
	if (read_config(ctx, a.vmid, &c) < 0)
		return CLI_EXIT_FAIL;
	if (a.json) {
		struct json_object *arr = json_object_new_array();

		for (size_t i = 0; i < guest_conf_snapshot_count(c); i++) {
			struct guest_section *s = guest_conf_snapshot_at(c, i);
			struct json_object *o = json_object_new_object();
			const char *p = guest_get(s, "parent"), *t = guest_get(s, "snaptime");
			char *desc = NULL;

			json_object_object_add(o, "name",
					       json_object_new_string(guest_section_name(s)));
			if (p)
				json_object_object_add(o, "parent", json_object_new_string(p));
			if (t)
				json_object_object_add(o, "snaptime",
						       json_object_new_int64(atoll(t)));
			if (guest_description(s, &desc) == 0)
				json_object_object_add(o, "description",
						       json_object_new_string(desc));
			free(desc);
			json_object_array_add(arr, o);
		}
		print_json(arr);
	} else {
		tree(c, NULL, 0);
	}
	guest_conf_free(c);
	return CLI_EXIT_OK;
}

/* ---- showcmd ---- */

/*
 * argv as one shell line, or with pretty one option (a word starting with
 * '-' and the words after it up to the next such) per line, joined by
 * backslash-newlines as qm showcmd --pretty prints it.
 */
static int print_cmdline(char **argv, bool pretty)
{
	struct buf line = BUF_INIT;
	int r = 0;

	for (size_t i = 0; argv[i] && r == 0; i++) {
		if (i > 0)
			r = buf_append(&line, pretty && argv[i][0] == '-' ? " \\\n  " : " ",
				       pretty && argv[i][0] == '-' ? 5 : 1);
		if (r == 0)
			r = shellwords_quote(argv[i], &line);
	}
	if (r == 0)
		r = buf_terminate(&line);
	if (r == 0)
		printf("%s\n", (char *)line.data);
	buf_free(&line);
	return r;
}

int vm_cmd_showcmd(struct cli_context *ctx, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "pretty", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct drover_err err = { "" };
	char **cmd = NULL;
	bool pretty = false;
	struct vm_env e;
	uint32_t vmid;
	int c, r;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		if (c != 'p')
			return vm_usage_error("showcmd", "unknown option '%s'", argv[optind - 1]);
		pretty = true;
	}
	if (optind + 1 != argc)
		return vm_usage_error(
			"showcmd", optind >= argc ? "a VMID is needed" : "unexpected argument '%s'",
			argv[optind + 1]);
	if (vm_parse_vmid("showcmd", argv[optind], &vmid) < 0)
		return CLI_EXIT_USAGE;
	if (vm_open(ctx, &e) < 0)
		return CLI_EXIT_FAIL;
	r = vm_showcmd(&e, vmid, &cmd, &err);
	vm_env_close(&e);
	if (r < 0)
		return cli_fail(&err, r);
	r = print_cmdline(cmd, pretty);
	strv_free_array(cmd);
	if (r < 0) {
		cli_error("vm showcmd: %s", strerror(-r));
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}
