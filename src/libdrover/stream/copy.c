/* SPDX-License-Identifier: MIT */
#include "copy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "basic/util.h"
#include "libdrover/storage/fsutil.h"
#include "libdrover/cluster/ssh.h"
#include "transport.h"
#include "volume_stream.h"

#define IMPORTED_PREFIX "successfully imported '"
#define SWEEP_TIMEOUT_MS 30000

/* Everything one copy knows, so the steps can be short functions. */
struct copy {
	const struct storage_env *env;
	const struct storage_copy_req *req;
	const struct storage_copy_opts *o;
	struct storage_copy_result *res;
	struct drover_err *err;
	struct storage_vol src;
	char tstore[STORAGE_ID_MAX];
	char tvolid[STORAGE_VOLID_MAX];
	char addr[TRANSPORT_ADDR_MAX];
	const char *snapshot;
	bool temp_snapshot;
	struct storage_export_opts eo;
	struct storage_import_opts io;
	enum storage_format fmt;
	char base_id[64 + STORAGE_UUID_MAX + 1]; /* incremental: NODE:IDENT */
};

/* The target's storage and volume ID: the source's name under the target's naming. */
static int plan_target(struct copy *c)
{
	const struct storage_props *t;
	char tvolname[STORAGE_VOLNAME_MAX];

	snprintf(c->tstore, sizeof(c->tstore), "%s",
		 c->req->target_storage ? c->req->target_storage : c->src.storeid);
	t = storage_cfg_find(&c->env->cfg, c->tstore);
	if (!t)
		return drover_fail(
			c->err, -ENOENT,
			"target storage '%s' does not exist (see 'drover storage status')",
			c->tstore);
	if (!storage_props_on_node(t, c->req->node))
		return drover_fail(c->err, -EHOSTDOWN,
				   "target storage '%s' is disabled or not available on node %s",
				   c->tstore, c->req->node);
	if (storage_volname_make(storage_naming_of(t->type), c->src.name.vmid, c->src.name.name,
				 c->src.name.format, tvolname, sizeof(tvolname)) < 0 ||
	    pathf(c->tvolid, sizeof(c->tvolid), "%s:%s", c->tstore, tvolname) < 0)
		return drover_fail(c->err, -ENAMETOOLONG, "target volume name too long");
	return 0;
}

/* The snapshot to send: the one asked for, or a temporary one where the storage has snapshots. */
static int plan_snapshot(struct copy *c)
{
	int r;

	c->snapshot = c->req->snapshot;
	if (c->snapshot || !c->src.st.plugin->snapshots)
		return 0;
	c->snapshot = STORAGE_COPY_SNAPSHOT;
	r = storage_snapshot_op(c->env, c->req->volid, STORAGE_SNAP_CREATE, c->snapshot, c->err);
	if (r < 0)
		return drover_fail_prefix(
			c->err, r,
			"a point-in-time copy needs the temporary snapshot %s (left by a copy that died? delete it)",
			STORAGE_COPY_SNAPSHOT);
	c->temp_snapshot = true;
	return 0;
}

static int plan_format(struct copy *c)
{
	char have[128], take[128];
	unsigned emask, imask;
	int r;

	c->eo = (struct storage_export_opts){ .snapshot = c->snapshot,
					      .base = c->req->base,
					      .with_snapshots = c->req->with_snapshots };
	c->io = (struct storage_import_opts){
		.snapshot = c->snapshot,
		.base = c->req->base,
		.with_snapshots = c->req->with_snapshots,
		.allow_rename = c->req->allow_rename,
		/* a temporary snapshot goes on the target too, once the volume is there */
		.delete_snapshot = c->temp_snapshot ? c->snapshot : c->req->delete_snapshot,
	};
	emask = c->src.st.plugin->export_formats(&c->src.st, c->src.volname, &c->eo);
	r = storage_import_mask(c->env, c->tstore, strchr(c->tvolid, ':') + 1, &c->io, &imask,
				c->err);
	if (r < 0)
		return r;
	if (storage_format_pick(emask, imask, &c->fmt) == 0)
		return 0;
	storage_formats_text(emask, have, sizeof(have));
	storage_formats_text(imask, take, sizeof(take));
	return drover_fail(c->err, -ENOTSUP,
			   "no stream format both sides know%s: %s offers %s, %s on %s takes %s",
			   c->req->base ? " for an incremental copy" : "", c->req->volid, have,
			   c->tstore, c->req->node, take);
}

/* Run `drover ARGS` on the target and collect its output: status, stdout, stderr. */
static int remote_run(struct copy *c, char *const args[], struct buf *out, char *errtext,
		      size_t len)
{
	struct transport_ssh t;
	int status, r = transport_ssh_start(&c->env->cfs, c->req->node, c->addr, c->o->ssh_control,
					    args, false, &t, c->err);

	if (r < 0)
		return r;
	transport_ssh_finish(&t, out, &status, errtext, len);
	return status;
}

/* "drover: import of X: ..." as the remote printed it, without the program name. */
static const char *remote_text(const char *text)
{
	return str_has_prefix(text, "drover: ") ? text + 8 : text;
}

/* The identity of a snapshot across nodes: where it came from, or its own. */
static const char *snap_ident(const char *id, const char *origin)
{
	return origin && origin[0] ? origin : id;
}

/*
 * The base's identity here (c->base_id: "NODE:IDENT"), for the receiver to
 * check before it says it is ready: one SSH session for the whole copy.
 */
static int base_ident(struct copy *c)
{
	struct storage_snapshot *snaps;
	const char *want = NULL;
	size_t n;
	int r = storage_snapshot_list(c->env, c->req->volid, &snaps, &n, c->err);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n && !want; i++)
		if (streq(snaps[i].name, c->req->base))
			want = snap_ident(snaps[i].id, snaps[i].origin_id);
	if (!want)
		r = drover_fail(c->err, -ENOENT, "base snapshot '%s' of %s does not exist",
				c->req->base, c->req->volid);
	else if (!want[0])
		r = drover_fail(c->err, -ENOENT,
				"base snapshot '%s' of %s has no identity to check it by",
				c->req->base, c->req->volid);
	else
		snprintf(c->base_id, sizeof(c->base_id), "%s:%s", c->env->cfs.node, want);
	free(snaps);
	return r;
}

int storage_copy_check_base(const struct storage_env *env, const char *volid, const char *base,
			    const char *base_id, struct drover_err *err)
{
	const char *colon = strchr(base_id, ':'), *want = colon ? colon + 1 : "";
	struct storage_snapshot *snaps;
	const char *have = NULL;
	size_t n;
	int r;

	if (!colon || !*want)
		return drover_fail(err, -EINVAL, "--base-id: '%s' is not NODE:ID", base_id);
	r = storage_snapshot_list(env, volid, &snaps, &n, err);
	if (r == -ENOENT)
		return drover_fail(err, r,
				   "wrong base: %s on %s does not exist (a full copy is needed)",
				   volid, env->cfs.node);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && !have; i++)
		if (streq(snaps[i].name, base))
			have = snap_ident(snaps[i].id, snaps[i].origin_id);
	if (!have)
		r = drover_fail(err, -ENOENT,
				"wrong base: %s on %s has no snapshot '%s' (a full copy is needed)",
				volid, env->cfs.node, base);
	else if (!streq(have, want))
		r = drover_fail(
			err, -EXDEV,
			"wrong base: snapshot '%s' on %s is not the one on %.*s (%s there, %s here)",
			base, env->cfs.node, (int)(colon - base_id), base_id, have, want);
	free(snaps);
	return r;
}

/* The import command for the target. */
static void import_args(struct copy *c, char *args[], size_t max, char *where, size_t wlen,
			char *idle, size_t ilen)
{
	size_t n = 0;

	if (c->o->insecure)
		snprintf(where, wlen, "tcp://%s", c->o->insecure);
	else
		snprintf(where, wlen, "-");
	args[n++] = "storage";
	args[n++] = "import";
	args[n++] = c->tvolid;
	args[n++] = (char *)storage_format_name(c->fmt);
	args[n++] = where;
	args[n++] = "--framed";
	snprintf(idle, ilen, "%d", TRANSPORT_IDLE_TIMEOUT_S);
	args[n++] = "--idle-timeout";
	args[n++] = idle;
	if (c->o->compress)
		args[n++] = "--compress";
	if (c->io.snapshot) {
		args[n++] = "--snapshot";
		args[n++] = (char *)c->io.snapshot;
	}
	if (c->io.base) {
		args[n++] = "--base";
		args[n++] = (char *)c->io.base;
		args[n++] = "--base-id";
		args[n++] = c->base_id;
	}
	if (c->io.delete_snapshot) {
		args[n++] = "--delete-snapshot";
		args[n++] = (char *)c->io.delete_snapshot;
	}
	if (c->io.allow_rename)
		args[n++] = "--allow-rename";
	if (c->io.with_snapshots)
		args[n++] = "--with-snapshots";
	args[n] = NULL;
	(void)max;
}

/* insecure: the receiver says where to connect ("ADDRESS\nPORT\n"), then we do. */
static int connect_insecure(struct copy *c, struct transport_ssh *t)
{
	char addr[TRANSPORT_ADDR_MAX], port[16];
	uint64_t p;
	int r = transport_ssh_line(t, addr, sizeof(addr), TRANSPORT_ACCEPT_MS, c->err);

	if (r == 0)
		r = transport_ssh_line(t, port, sizeof(port), TRANSPORT_ACCEPT_MS, c->err);
	if (r < 0)
		return drover_fail_prefix(c->err, r, "the receiver on %s did not listen",
					  c->req->node);
	if (parse_u64(port, 65535, &p) < 0)
		return drover_fail(c->err, -EPROTO, "the receiver on %s offered port '%s'",
				   c->req->node, port);
	return transport_connect(addr, (int)p, 10000, c->err);
}

/* ssh: the receiver says "ready" once it runs, then the stream goes to its stdin. */
static int wait_ready(struct copy *c, struct transport_ssh *t)
{
	char line[64];
	int r = transport_ssh_line(t, line, sizeof(line), TRANSPORT_ACCEPT_MS, c->err);

	if (r == 0 && !streq(line, "ready"))
		r = drover_fail(c->err, -EPROTO, "the receiver on %s said '%.40s', not ready",
				c->req->node, line);
	if (r < 0)
		return drover_fail_prefix(c->err, r, "the receiver on %s", c->req->node);
	return t->in;
}

/* The volume ID in the receiver's "successfully imported 'VOLID'" line. */
static int imported_volid(const char *out, char *volid, size_t len)
{
	const char *line = strstr(out, IMPORTED_PREFIX), *end;

	if (!line)
		return -ENOENT;
	line += strlen(IMPORTED_PREFIX);
	end = strchr(line, '\'');
	if (!end || (size_t)(end - line) >= len || end == line)
		return -EPROTO;
	memcpy(volid, line, (size_t)(end - line));
	volid[end - line] = '\0';
	return 0;
}

/* Why it failed, in the order the stages matter. */
static int judge(struct copy *c, int xr, enum pump_side side, struct drover_err *xerr, int status,
		 const char *errtext, const char *out)
{
	const char *node = c->req->node, *here = c->env->cfs.node;
	int r;

	if (xr < 0 && (side == PUMP_CANCELLED || (c->o->cancel && *c->o->cancel)))
		return drover_fail(c->err, xr, "copy to %s cancelled: nothing was kept there",
				   node);
	if (xr < 0 && side == PUMP_SENDER)
		return drover_fail(c->err, xr, "export on %s: %s", here, xerr->text);
	if (status == 255)
		return drover_fail(c->err, -EHOSTUNREACH, "ssh to %s: %s", node,
				   errtext[0] ? errtext : "it failed");
	if (status > 128 && !errtext[0])
		/* ssh (here) or the receiver (there) died without a word: the stream is cut */
		return drover_fail(
			c->err, -EIO,
			"import on %s: the stream was cut (ssh or the receiver was killed "
			"by signal %d, saying nothing)",
			node, status - 128);
	if (status != 0)
		return drover_fail(c->err, -EIO, "import on %s: %s", node,
				   errtext[0] ? remote_text(errtext) : "it failed");
	if (xr < 0)
		return drover_fail(c->err, xr, "sending to %s: %s", node, xerr->text);
	r = imported_volid(out, c->res->volid, sizeof(c->res->volid));
	if (r < 0)
		return drover_fail(c->err, -EPROTO, "import on %s reported no imported volume",
				   node);
	return 0;
}

static uint64_t expected_bytes(struct copy *c)
{
	struct storage_volume info;
	struct drover_err ignore;

	if (c->req->base || c->src.st.plugin->info(&c->src.st, c->src.volname, &info, &ignore) < 0)
		return 0;
	return c->fmt == STORAGE_FORMAT_RAW_SIZE ? info.size + 8 : info.used;
}

static int transfer(struct copy *c)
{
	struct pump_opts po = { .rate = c->o->rate,
				.compress = c->o->compress,
				.framed = true,
				.rep = c->o->rep,
				.cancel = c->o->cancel };
	struct drover_err xerr = { "" };
	struct transport_ssh t;
	struct buf out = BUF_INIT;
	char *args[24], where[128], idle[16], errtext[DROVER_ERR_MAX - 100];
	enum pump_side side = PUMP_OK;
	int fd, xr, status, r;

	po.total = expected_bytes(c);
	import_args(c, args, ARRAY_SIZE(args), where, sizeof(where), idle, sizeof(idle));
	r = transport_ssh_start(&c->env->cfs, c->req->node, c->addr, c->o->ssh_control, args,
				!c->o->insecure, &t, c->err);
	if (r < 0)
		return r;
	fd = c->o->insecure ? connect_insecure(c, &t) : wait_ready(c, &t);
	if (fd < 0) {
		/* it ended before it was ready: its own words say why */
		transport_ssh_finish(&t, &out, &status, errtext, sizeof(errtext));
		r = status != 0 ? judge(c, 0, PUMP_OK, &xerr, status, errtext, "") : fd;
		buf_free(&out);
		return r < 0 ? r : fd;
	}
	drover_report_log(c->o->rep, "%s -> %s on %s: %s stream%s%s%s, %s", c->req->volid,
			  c->tvolid, c->req->node, storage_format_name(c->fmt),
			  c->req->base ? ", incremental from " : "",
			  c->req->base ? c->req->base : "", c->o->compress ? ", zstd" : "",
			  c->o->insecure ? "plain TCP" : "ssh");
	xr = stream_export(c->env, c->req->volid, c->fmt, &c->eo, fd, &po, &c->res->stats, &side,
			   &xerr);
	if (c->o->insecure) {
		shutdown(fd, SHUT_WR);
		close(fd);
	}
	transport_ssh_finish(&t, &out, &status, errtext, sizeof(errtext));
	r = judge(c, xr, side, &xerr, status, errtext, out.data ? (char *)out.data : "");
	buf_free(&out);
	return r;
}

/* After a failure: the target removes what a killed receiver left (best effort). */
static void sweep_target(struct copy *c)
{
	char vmid[16], errtext[64];
	char *args[] = { "storage", "_sweep", c->tstore, vmid, NULL };
	struct buf out = BUF_INIT;

	snprintf(vmid, sizeof(vmid), "%u", c->src.name.vmid);
	remote_run(c, args, &out, errtext, sizeof(errtext));
	buf_free(&out);
}

int storage_copy(const struct storage_env *env, const struct storage_copy_req *req,
		 const struct storage_copy_opts *o, struct storage_copy_result *res,
		 struct drover_err *err)
{
	struct copy c = { .env = env, .req = req, .o = o, .res = res, .err = err };
	bool transferred = false;
	int r;

	memset(res, 0, sizeof(*res));
	if (streq(req->node, env->cfs.node))
		return drover_fail(err, -EINVAL,
				   "node %s is this node: a copy goes to another node", req->node);
	r = storage_vol_open(env, req->volid, &c.src, err);
	if (r < 0)
		return r;
	r = plan_target(&c);
	if (r == 0)
		r = ssh_node_address(&env->cfs, req->node, c.addr, sizeof(c.addr), err);
	if (r == 0)
		r = plan_snapshot(&c);
	if (r == 0)
		r = plan_format(&c);
	if (r == 0 && req->base)
		r = base_ident(&c);
	if (r == 0) {
		transferred = true;
		res->format = c.fmt;
		r = transfer(&c);
	}
	if (r < 0 && transferred)
		sweep_target(&c);
	if (c.temp_snapshot) {
		struct drover_err ignore;

		storage_snapshot_op(env, req->volid, STORAGE_SNAP_DELETE, c.snapshot, &ignore);
	}
	storage_vol_close(&c.src);
	return r;
}
