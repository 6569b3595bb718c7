/* SPDX-License-Identifier: MIT */
/* drover storage export, import, copy: volumes as streams. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "basic/util.h"
#include "libdrover/stream/copy.h"
#include "libdrover/stream/transport.h"
#include "libdrover/stream/volume_stream.h"
#include "storage_cli.h"

enum {
	OPT_SNAPSHOT = 0x100,
	OPT_BASE,
	OPT_WITH_SNAPSHOTS,
	OPT_ALLOW_RENAME,
	OPT_DELETE_SNAPSHOT,
	OPT_FRAMED,
	OPT_COMPRESS,
	OPT_TARGET_STORAGE,
	OPT_RATE,
	OPT_INSECURE,
	OPT_BASE_ID,
	OPT_IDLE_TIMEOUT,
};

/* Every option these three take; each command refuses those it has no use for. */
struct stream_args {
	const char *snapshot, *base, *delete_snapshot, *target_storage, *insecure, *base_id;
	bool with_snapshots, allow_rename, framed, compress;
	uint64_t rate, idle_timeout;
	char **pos;
	int npos;
};

static int parse(int argc, char **argv, unsigned allowed, struct stream_args *a)
{
	static const struct option opts[] = {
		{ "snapshot", required_argument, NULL, OPT_SNAPSHOT },
		{ "base", required_argument, NULL, OPT_BASE },
		{ "with-snapshots", no_argument, NULL, OPT_WITH_SNAPSHOTS },
		{ "allow-rename", no_argument, NULL, OPT_ALLOW_RENAME },
		{ "delete-snapshot", required_argument, NULL, OPT_DELETE_SNAPSHOT },
		{ "framed", no_argument, NULL, OPT_FRAMED },
		{ "compress", no_argument, NULL, OPT_COMPRESS },
		{ "target-storage", required_argument, NULL, OPT_TARGET_STORAGE },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "insecure", required_argument, NULL, OPT_INSECURE },
		{ "base-id", required_argument, NULL, OPT_BASE_ID },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == '?')
			return -1;
		if (!(allowed & (1u << (c - OPT_SNAPSHOT)))) {
			cli_error("--%s is not an option of this command (see --help)",
				  opts[c - OPT_SNAPSHOT].name);
			return -1;
		}
		switch (c) {
		case OPT_SNAPSHOT:
			a->snapshot = optarg;
			break;
		case OPT_BASE:
			a->base = optarg;
			break;
		case OPT_WITH_SNAPSHOTS:
			a->with_snapshots = true;
			break;
		case OPT_ALLOW_RENAME:
			a->allow_rename = true;
			break;
		case OPT_DELETE_SNAPSHOT:
			a->delete_snapshot = optarg;
			break;
		case OPT_FRAMED:
			a->framed = true;
			break;
		case OPT_COMPRESS:
			a->compress = true;
			break;
		case OPT_TARGET_STORAGE:
			a->target_storage = optarg;
			break;
		case OPT_RATE:
			if (storage_cli_size("--rate", optarg, &a->rate) < 0)
				return -1;
			break;
		case OPT_INSECURE:
			a->insecure = optarg;
			break;
		case OPT_BASE_ID:
			a->base_id = optarg;
			break;
		case OPT_IDLE_TIMEOUT:
			if (parse_u64(optarg, 86400, &a->idle_timeout) < 0) {
				cli_error("--idle-timeout '%s': seconds from 0 to 86400", optarg);
				return -1;
			}
			break;
		}
	}
	a->pos = argv + optind;
	a->npos = argc - optind;
	return 0;
}

#define ALLOW(o) (1u << ((o)-OPT_SNAPSHOT))

static int format_arg(const char *s, enum storage_format *f)
{
	if (storage_format_parse(s, f) == 0)
		return 0;
	cli_error("'%s' is not a stream format (zfs, btrfs, rbd-diff, raw+size)", s);
	return -1;
}

/* ---- export ----------------------------------------------------------- */

static int cmd_export(struct cli_context *ctx, int argc, char **argv)
{
	struct storage_export_opts eo;
	struct storage_progress prog;
	struct drover_err err = { "" };
	struct pump_opts po = { 0 };
	struct pump_stats st;
	struct storage_env env;
	struct stream_args a;
	enum storage_format fmt;
	int r;

	if (parse(argc, argv, ALLOW(OPT_SNAPSHOT) | ALLOW(OPT_BASE) | ALLOW(OPT_WITH_SNAPSHOTS),
		  &a) < 0)
		return CLI_EXIT_USAGE;
	if (a.npos != 3) {
		cli_error("storage export takes VOLID FORMAT FILE|- (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (format_arg(a.pos[1], &fmt) < 0)
		return CLI_EXIT_USAGE;
	if (streq(a.pos[2], "-") && isatty(STDOUT_FILENO)) {
		cli_error(
			"refusing to write a volume stream to a terminal (give a FILE or a pipe)");
		return CLI_EXIT_USAGE;
	}
	if (storage_cli_env(ctx, &env) < 0)
		return CLI_EXIT_FAIL;
	eo = (struct storage_export_opts){ a.snapshot, a.base, a.with_snapshots };
	storage_progress_init(&prog);
	po.rep = &prog.rep;
	if (streq(a.pos[2], "-"))
		r = stream_export(&env, a.pos[0], fmt, &eo, STDOUT_FILENO, &po, &st, NULL, &err);
	else
		r = stream_export_file(&env, a.pos[0], fmt, &eo, a.pos[2], &po, &st, &err);
	storage_progress_done(&prog);
	storage_env_close(&env);
	if (r < 0) {
		cli_error("%s", err.text);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

const struct cli_command storage_export_cmd = {
	.name = "export",
	.summary = "write a volume as a stream",
	.usage =
		"Usage: drover storage export VOLID FORMAT FILE|- [--snapshot SNAP] [--base BASE]\n"
		"                              [--with-snapshots]\n"
		"\n"
		"Writes VOLID (or its snapshot SNAP) as a stream of FORMAT to FILE (made new)\n"
		"or stdout (-): btrfs (a btrfs send stream; needs --snapshot, incremental\n"
		"from --base), zfs, rbd-diff, raw+size (an 8-byte little-endian size, then the\n"
		"raw image). The stream is whole or the command fails (a FILE is then\n"
		"removed).\n",
	.run = cmd_export,
};

/* ---- import ----------------------------------------------------------- */

/* tcp://CIDR: listen in that network, say where on stdout, take one connection. */
static int listen_tcp(const char *cidr, struct drover_err *err)
{
	char addr[TRANSPORT_ADDR_MAX];
	int lfd, port, r = transport_listen(cidr, addr, sizeof(addr), &port, &lfd, err);

	if (r < 0)
		return r;
	printf("%s\n%d\n", addr, port);
	fflush(stdout);
	return transport_accept(lfd, TRANSPORT_ACCEPT_MS, err);
}

static int cmd_import(struct cli_context *ctx, int argc, char **argv)
{
	struct storage_import_opts io;
	struct storage_progress prog;
	struct drover_err err = { "" };
	struct pump_opts po = { 0 };
	char imported[STORAGE_VOLID_MAX];
	struct pump_stats st;
	struct storage_env env;
	struct stream_args a;
	enum storage_format fmt;
	int fd = -1, r;

	if (parse(argc, argv,
		  ALLOW(OPT_SNAPSHOT) | ALLOW(OPT_BASE) | ALLOW(OPT_WITH_SNAPSHOTS) |
			  ALLOW(OPT_ALLOW_RENAME) | ALLOW(OPT_DELETE_SNAPSHOT) | ALLOW(OPT_FRAMED) |
			  ALLOW(OPT_COMPRESS) | ALLOW(OPT_BASE_ID) | ALLOW(OPT_IDLE_TIMEOUT),
		  &a) < 0)
		return CLI_EXIT_USAGE;
	if (a.npos != 3) {
		cli_error("storage import takes VOLID FORMAT FILE|-|tcp://CIDR (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (format_arg(a.pos[1], &fmt) < 0)
		return CLI_EXIT_USAGE;
	if (a.base_id && !a.base) {
		cli_error("--base-id goes with --base (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (storage_cli_env(ctx, &env) < 0)
		return CLI_EXIT_FAIL;
	/* before "ready" (or listening): a copy onto the wrong base sends nothing */
	if (a.base_id && storage_copy_check_base(&env, a.pos[0], a.base, a.base_id, &err) < 0) {
		cli_error("%s", err.text);
		storage_env_close(&env);
		return CLI_EXIT_FAIL;
	}
	if (streq(a.pos[2], "-") && a.framed) {
		/* storage copy waits for this before it starts the export */
		printf("ready\n");
		fflush(stdout);
		fd = STDIN_FILENO;
	} else if (streq(a.pos[2], "-"))
		fd = STDIN_FILENO;
	else if (str_has_prefix(a.pos[2], "tcp://"))
		fd = listen_tcp(a.pos[2] + 6, &err);
	else if ((fd = open(a.pos[2], O_RDONLY | O_CLOEXEC)) < 0)
		drover_fail(&err, -errno, "%s: %s", a.pos[2], strerror(errno));
	if (fd < 0) {
		cli_error("%s", err.text);
		storage_env_close(&env);
		return CLI_EXIT_FAIL;
	}
	io = (struct storage_import_opts){ a.snapshot, a.base, a.with_snapshots, a.allow_rename,
					   a.delete_snapshot };
	storage_progress_init(&prog);
	po.framed = a.framed;
	po.compress = a.compress;
	po.idle_ms = (unsigned)a.idle_timeout * 1000u;
	/* under copy, stderr goes back to the sender as the error text: no progress there */
	po.rep = a.framed && !prog.tty ? NULL : &prog.rep;
	r = stream_import(&env, a.pos[0], fmt, &io, fd, &po, imported, sizeof(imported), &st, &err);
	storage_progress_done(&prog);
	if (fd != STDIN_FILENO)
		close(fd);
	storage_env_close(&env);
	if (r < 0) {
		cli_error("%s", err.text);
		return CLI_EXIT_FAIL;
	}
	printf("successfully imported '%s'\n", imported);
	return CLI_EXIT_OK;
}

const struct cli_command storage_import_cmd = {
	.name = "import",
	.summary = "make a volume from a stream",
	.usage =
		"Usage: drover storage import VOLID FORMAT FILE|-|tcp://CIDR [--snapshot SNAP]\n"
		"                              [--base BASE] [--allow-rename]\n"
		"                              [--delete-snapshot SNAP] [--with-snapshots]\n"
		"                              [--framed] [--compress] [--base-id NODE:ID]\n"
		"                              [--idle-timeout SECS]\n"
		"\n"
		"Reads a stream of FORMAT (see export) from FILE, stdin (-), or one TCP\n"
		"connection: with tcp://CIDR it listens on this node's address in CIDR, on\n"
		"the first free port of 60000-60050, prints the address and the port on\n"
		"two lines and waits 30 s for the sender. The stream is checked before it\n"
		"reaches the storage (sizes, names, paths, the base); a broken one leaves\n"
		"nothing behind.\n"
		"\n"
		"  --base BASE          the stream is incremental on BASE, which VOLID has\n"
		"  --snapshot SNAP      the snapshot the stream brings\n"
		"  --allow-rename       VOLID exists: import under the next free name\n"
		"  --delete-snapshot S  afterwards delete snapshot S (the old base)\n"
		"  --framed             drover's framing around the stream (storage copy)\n"
		"  --compress           the stream is zstd-compressed\n"
		"  --base-id NODE:ID    (storage copy) before reading anything, check that BASE\n"
		"                       is the snapshot NODE knows by ID (its origin or its own)\n"
		"  --idle-timeout SECS  give up when the stream brings nothing for SECS seconds\n"
		"                       (a cut link never ends the stream): the half-made\n"
		"                       volume is removed, the exit status is 1 (0: wait forever)\n"
		"\n"
		"Prints \"successfully imported 'VOLID'\" with the volume it made.\n",
	.run = cmd_import,
};

/* ---- copy ------------------------------------------------------------- */

static void print_result(const struct storage_copy_req *req, const struct storage_copy_result *res)
{
	char size[32], wire[32], rate[32];
	double secs = (double)res->stats.elapsed_ns / 1e9;

	format_size(res->stats.stream_bytes, size, sizeof(size));
	format_size(res->stats.wire_bytes, wire, sizeof(wire));
	storage_cli_rate(secs > 0 ? (uint64_t)((double)res->stats.stream_bytes / secs) : 0, rate,
			 sizeof(rate));
	struct rusage ru;
	double cpu = 0;

	/* this process only (its threads, not btrfs send and the like): what drover costs */
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf("copied %s to %s as %s: %s (%s) in %.1f s, %s; %s on the wire; CPU %.2f s here\n",
	       req->volid, req->node, res->volid, size, storage_format_name(res->format), secs,
	       rate, wire, cpu);
}

/* Set by SIGINT, SIGTERM or SIGHUP during a copy: it stops and cleans up, both nodes. */
static volatile int copy_cancelled;

static void on_cancel(int sig)
{
	(void)sig;
	copy_cancelled = 1;
}

static void catch_cancel(void)
{
	struct sigaction sa = { .sa_handler = on_cancel, .sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int cmd_copy(struct cli_context *ctx, int argc, char **argv)
{
	struct storage_copy_result res;
	struct storage_progress prog;
	struct drover_err err = { "" };
	struct storage_copy_req req;
	struct storage_copy_opts o;
	struct storage_env env;
	struct stream_args a;
	int r;

	if (parse(argc, argv,
		  ALLOW(OPT_SNAPSHOT) | ALLOW(OPT_BASE) | ALLOW(OPT_WITH_SNAPSHOTS) |
			  ALLOW(OPT_ALLOW_RENAME) | ALLOW(OPT_DELETE_SNAPSHOT) |
			  ALLOW(OPT_COMPRESS) | ALLOW(OPT_TARGET_STORAGE) | ALLOW(OPT_RATE) |
			  ALLOW(OPT_INSECURE),
		  &a) < 0)
		return CLI_EXIT_USAGE;
	if (a.npos != 2) {
		cli_error("storage copy takes VOLID NODE (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (storage_cli_env(ctx, &env) < 0)
		return CLI_EXIT_FAIL;
	req = (struct storage_copy_req){ .volid = a.pos[0],
					 .node = a.pos[1],
					 .target_storage = a.target_storage,
					 .snapshot = a.snapshot,
					 .base = a.base,
					 .with_snapshots = a.with_snapshots,
					 .allow_rename = a.allow_rename,
					 .delete_snapshot = a.delete_snapshot };
	storage_progress_init(&prog);
	o = (struct storage_copy_opts){ .rate = a.rate,
					.compress = a.compress,
					.insecure = a.insecure,
					.rep = &prog.rep,
					.cancel = &copy_cancelled };
	catch_cancel();
	r = storage_copy(&env, &req, &o, &res, &err);
	storage_progress_done(&prog);
	storage_env_close(&env);
	if (r < 0) {
		cli_error("%s", err.text);
		return CLI_EXIT_FAIL;
	}
	print_result(&req, &res);
	return CLI_EXIT_OK;
}

const struct cli_command storage_copy_cmd = {
	.name = "copy",
	.summary = "copy a volume to another node (full or incremental)",
	.usage = "Usage: drover storage copy VOLID NODE [--target-storage ID] [--snapshot SNAP]\n"
		 "                            [--base BASE] [--rate BYTES] [--compress]\n"
		 "                            [--insecure CIDR] [--allow-rename]\n"
		 "                            [--delete-snapshot SNAP] [--with-snapshots]\n"
		 "\n"
		 "Copies VOLID to node NODE (onto the same storage ID, or --target-storage):\n"
		 "this node exports it, NODE imports it, in the best stream format both\n"
		 "storages know (btrfs, zfs, rbd-diff, then raw+size). Without --snapshot, a\n"
		 "storage with snapshots sends a temporary snapshot __migration__ (removed\n"
		 "on both sides after); with --base BASE only the changes since BASE go,\n"
		 "and NODE must hold the same BASE (checked by its UUID first).\n"
		 "\n"
		 "  --rate BYTES      at most BYTES per second on the wire (K, M, G)\n"
		 "  --compress        zstd on the wire\n"
		 "  --insecure CIDR   the data over plain TCP in network CIDR (the migration\n"
		 "                    network; NODE listens on a port of 60000-60050 bound to\n"
		 "                    its address there); SSH still starts the receiver\n"
		 "  --allow-rename    the volume exists on NODE: import under a free name\n"
		 "\n"
		 "Progress goes to stderr (a line on a terminal, a log line every 10 s\n"
		 "otherwise). Any failing stage fails the copy, naming the stage and node,\n"
		 "and neither node keeps what it half-made.\n",
	.run = cmd_copy,
};
