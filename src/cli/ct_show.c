/* SPDX-License-Identifier: MIT */
/* drover ct config, list, status and listsnapshot: text as pct prints it, or JSON. */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "basic/timefmt.h"
#include "basic/util.h"
#include "ct_cli.h"
#include "libdrover/guest/conf_edit.h"

static void print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static int read_conf(uint32_t ctid, struct guest_conf **c)
{
	struct drover_err err = { "" };
	int r = guest_conf_read(GUEST_LXC, ctid, c, &err);

	return r < 0 ? cli_fail(&err, r) : 0;
}

int ct_cmd_config(struct cli_context *ctx, int argc, char **argv)
{
	struct json_object *o = NULL;
	struct guest_section *s;
	struct guest_conf *c = NULL;
	struct ct_args a;
	char *desc = NULL;

	(void)ctx;
	if (ct_parse("config", argc, argv, true, 0, false, &a) < 0)
		return CLI_EXIT_USAGE;
	if (read_conf(a.ctid, &c) != 0)
		return CLI_EXIT_FAIL;
	s = a.snapshot ? guest_conf_snapshot(c, a.snapshot) : guest_conf_current(c);
	if (!s) {
		cli_error("CT %" PRIu32 " has no snapshot '%s'", a.ctid, a.snapshot);
		guest_conf_free(c);
		return CLI_EXIT_FAIL;
	}
	if (a.json)
		o = json_object_new_object();
	if (guest_description(s, &desc) == 0 && desc[0]) {
		if (o)
			json_object_object_add(o, "description", json_object_new_string(desc));
		else
			printf("description: %s\n", desc);
	}
	free(desc);
	for (size_t i = 0; i < guest_section_size(s); i++) {
		const char *v, *k = guest_line_key(s, i, &v);

		if (!k || streq(k, "description"))
			continue;
		if (o)
			json_object_object_add(o, k, json_object_new_string(v));
		else
			printf("%s: %s\n", k, v);
	}
	if (o) {
		json_object_object_add(o, "digest", json_object_new_string(guest_conf_digest(c)));
		print_json(o);
	}
	guest_conf_free(c);
	return CLI_EXIT_OK;
}

int ct_cmd_list(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	struct storage_env env;
	struct ct_entry *v = NULL;
	struct json_object *arr;
	struct ct_args a;
	size_t n = 0;
	int r;

	if (ct_parse("list", argc, argv, false, 0, false, &a) < 0)
		return CLI_EXIT_USAGE;
	r = storage_env_open(&env, ctx->socket_path, &err);
	if (r == 0) {
		r = ct_list(&env, ctx->socket_path, &v, &n, &err);
		storage_env_close(&env);
	}
	if (r < 0)
		return cli_fail(&err, r);
	if (a.json) {
		arr = json_object_new_array();
		for (size_t i = 0; i < n; i++) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "vmid", json_object_new_int64(v[i].vmid));
			json_object_object_add(o, "status", json_object_new_string(v[i].status));
			json_object_object_add(o, "lock", json_object_new_string(v[i].lock));
			json_object_object_add(o, "name", json_object_new_string(v[i].hostname));
			json_object_object_add(o, "node", json_object_new_string(v[i].node));
			json_object_array_add(arr, o);
		}
		print_json(arr);
	} else if (n) {
		printf("%-10s %-10s %-12s %-20s %s\n", "VMID", "Status", "Lock", "Name", "Node");
		for (size_t i = 0; i < n; i++)
			printf("%-10" PRIu32 " %-10s %-12s %-20s %s\n", v[i].vmid, v[i].status,
			       v[i].lock, v[i].hostname, v[i].node);
	}
	free(v);
	return CLI_EXIT_OK;
}

int ct_cmd_status(struct cli_context *ctx, int argc, char **argv)
{
	struct guest_runtime rt = { 0 };
	struct drover_err err = { "" };
	struct ct_args a;
	int r;

	(void)ctx;
	if (ct_parse("status", argc, argv, true, 0, false, &a) < 0)
		return CLI_EXIT_USAGE;
	r = ct_status(a.ctid, &rt, &err);
	if (r < 0)
		return cli_fail(&err, r);
	if (a.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "vmid", json_object_new_int64(a.ctid));
		json_object_object_add(o, "status",
				       json_object_new_string(rt.running ? "running" : "stopped"));
		if (rt.running) {
			json_object_object_add(o, "pid", json_object_new_int(rt.pid));
			json_object_object_add(o, "uptime",
					       json_object_new_int64((int64_t)rt.uptime_s));
			json_object_object_add(o, "cpu_ns",
					       json_object_new_int64((int64_t)rt.cpu_ns));
			json_object_object_add(o, "mem",
					       json_object_new_int64((int64_t)rt.mem_bytes));
		}
		print_json(o);
		return CLI_EXIT_OK;
	}
	printf("status: %s\n", rt.running ? "running" : "stopped");
	if (a.verbose && rt.running)
		printf("pid: %d\nuptime: %" PRIu64 "\ncpu_ns: %" PRIu64 "\nmem: %" PRIu64 "\n",
		       rt.pid, rt.uptime_s, rt.cpu_ns, rt.mem_bytes);
	return CLI_EXIT_OK;
}

static void snap_time(const char *snaptime, char *out, size_t len)
{
	uint64_t t;

	out[0] = '\0';
	if (snaptime && parse_u64(snaptime, INT64_MAX, &t) == 0)
		timefmt_local((int64_t)t, out, len);
}

int ct_cmd_listsnapshot(struct cli_context *ctx, int argc, char **argv)
{
	struct json_object *arr = NULL;
	struct guest_conf *c = NULL;
	struct ct_args a;
	const char *parent;

	(void)ctx;
	if (ct_parse("listsnapshot", argc, argv, true, 0, false, &a) < 0)
		return CLI_EXIT_USAGE;
	if (read_conf(a.ctid, &c) != 0)
		return CLI_EXIT_FAIL;
	if (a.json)
		arr = json_object_new_array();
	for (size_t i = 0; i < guest_conf_snapshot_count(c); i++) {
		struct guest_section *s = guest_conf_snapshot_at(c, i);
		char when[32], *desc = NULL;

		parent = guest_get(s, "parent");
		snap_time(guest_get(s, "snaptime"), when, sizeof(when));
		if (guest_description(s, &desc) < 0)
			desc = NULL;
		if (arr) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "name",
					       json_object_new_string(guest_section_name(s)));
			json_object_object_add(o, "parent",
					       json_object_new_string(parent ? parent : ""));
			json_object_object_add(
				o, "snaptime",
				json_object_new_string(guest_get(s, "snaptime") ?: ""));
			json_object_object_add(o, "description",
					       json_object_new_string(desc ? desc : ""));
			json_object_array_add(arr, o);
		} else {
			printf("%-20s %-20s %-20s %s\n", guest_section_name(s), when,
			       parent ? parent : "-", desc ? desc : "");
		}
		free(desc);
	}
	parent = guest_get(guest_conf_current(c), "parent");
	if (arr) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string("current"));
		json_object_object_add(o, "parent", json_object_new_string(parent ? parent : ""));
		json_object_object_add(o, "description", json_object_new_string("You are here!"));
		json_object_array_add(arr, o);
		print_json(arr);
	} else {
		printf("%-20s %-20s %-20s %s\n", "current", "", parent ? parent : "-",
		       "You are here!");
	}
	guest_conf_free(c);
	return CLI_EXIT_OK;
}
