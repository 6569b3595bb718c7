/* SPDX-License-Identifier: MIT */
#include "remote.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "libdrover/cluster/ssh.h"
#include "libdrover/stream/transport.h"
#include "libdrover/storage/plugin.h"

/* REPL_VOLUMES_MAX volumes, a --source-location per storage, the options */
#define ARGS_MAX (64 + 2 * 32 + 16)
#define REPL_SCAN_TEXT_MAX 2048

/* Run `drover replication ARGS` on node; its stdout into out. */
static int run_remote(const struct cfs_brief *b, const char *node, const char *control,
		      char *const args[], struct buf *out, struct drover_err *err)
{
	char addr[TRANSPORT_ADDR_MAX], errtext[600] = "";
	struct transport_ssh t;
	int status, r;

	r = ssh_node_address(b, node, addr, sizeof(addr), err);
	if (r == 0)
		r = transport_ssh_start(b, node, addr, control, args, false, &t, err);
	if (r < 0)
		return r;
	transport_ssh_finish(&t, out, &status, errtext, sizeof(errtext));
	if (status == 0)
		return 0;
	/* the remote's last line says why; "drover: " is its program name */
	{
		char *last = errtext, *nl;

		while ((nl = strchr(last, '\n')) && nl[1])
			last = nl + 1;
		if ((nl = strchr(last, '\n')))
			*nl = '\0';
		if (str_has_prefix(last, "drover: "))
			last += 8;
		return drover_fail(err, status == 255 ? -EHOSTUNREACH : -EIO, "%s on %s failed%s%s",
				   args[1], node, last[0] ? ": " : "",
				   last[0] ? last : (status == 255 ? "ssh failed" : ""));
	}
}

/*
 * args: replication VERB JOBID VOLID... --last_sync T [--parent_snapname P] [--scan L]
 * [--source-location STOREID=LOCATION]...
 */
static int build_args(const char *verb, const struct repl_prepare_req *q, char *ts, size_t tslen,
		      char *scan, size_t scanlen, char *args[], size_t max, struct drover_err *err)
{
	size_t n = 0;

	if (q->n + 2 * q->n_source_locations + 10 > max)
		return drover_fail(err, -E2BIG, "too many volumes");
	args[n++] = "replication";
	args[n++] = (char *)verb;
	args[n++] = (char *)q->jobid;
	for (size_t i = 0; i < q->n; i++)
		args[n++] = (char *)q->volids[i];
	snprintf(ts, tslen, "%" PRId64, q->last_sync);
	args[n++] = "--last_sync";
	args[n++] = ts;
	if (q->parent) {
		args[n++] = "--parent_snapname";
		args[n++] = (char *)q->parent;
	}
	scan[0] = '\0';
	for (size_t i = 0; i < q->n_scan; i++) {
		size_t used = strlen(scan);

		snprintf(scan + used, scanlen - used, "%s%s", i ? "," : "", q->scan[i]);
	}
	if (scan[0]) {
		args[n++] = "--scan";
		args[n++] = scan;
	}
	for (size_t i = 0; i < q->n_source_locations; i++) {
		args[n++] = "--source-location";
		args[n++] = (char *)q->source_locations[i];
	}
	args[n] = NULL;
	return 0;
}

int repl_remote_prepare(const struct cfs_brief *b, const char *node, const char *control,
			const struct repl_prepare_req *q, struct json_object **out,
			struct drover_err *err)
{
	char ts[32], scan[REPL_SCAN_TEXT_MAX], *args[ARGS_MAX], *line, *nl;
	struct buf text = BUF_INIT;
	int r;

	r = build_args("prepare-local-job", q, ts, sizeof(ts), scan, sizeof(scan), args,
		       ARRAY_SIZE(args), err);
	if (r == 0)
		r = run_remote(b, node, control, args, &text, err);
	if (r == 0 && buf_terminate(&text) < 0)
		r = drover_fail(err, -ENOMEM, "out of memory");
	if (r < 0) {
		buf_free(&text);
		return r;
	}
	/* the JSON is the last line (pvesr's contract: one JSON line on stdout) */
	line = (char *)text.data;
	while ((nl = strchr(line, '\n')) && nl[1])
		line = nl + 1;
	*out = json_tokener_parse(line);
	buf_free(&text);
	if (!*out || !json_object_is_type(*out, json_type_object)) {
		if (*out)
			json_object_put(*out);
		*out = NULL;
		return drover_fail(err, -EPROTO, "prepare-local-job on %s: unreadable answer",
				   node);
	}
	return 0;
}

int repl_remote_finalize(const struct cfs_brief *b, const char *node, const char *control,
			 const struct repl_prepare_req *q, struct drover_err *err)
{
	char ts[32], scan[REPL_SCAN_TEXT_MAX], *args[ARGS_MAX];
	struct buf text = BUF_INIT;
	int r;

	r = build_args("finalize-local-job", q, ts, sizeof(ts), scan, sizeof(scan), args,
		       ARRAY_SIZE(args), err);
	if (r == 0)
		r = run_remote(b, node, control, args, &text, err);
	buf_free(&text);
	return r;
}

int repl_remote_set_state(const struct cfs_brief *b, const char *node, const char *control,
			  uint32_t vmid, const char *json, struct drover_err *err)
{
	char id[16];
	char *args[] = { "replication", "set-state", id, (char *)json, NULL };
	struct buf text = BUF_INIT;
	int r;

	snprintf(id, sizeof(id), "%" PRIu32, vmid);
	r = run_remote(b, node, control, args, &text, err);
	buf_free(&text);
	return r;
}
