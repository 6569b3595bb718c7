/* SPDX-License-Identifier: MIT */
/* droverd's command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "basic/util.h"
#include "config.h"
#include "droverd.h"

static const char usage[] =
	"Usage: droverd [OPTIONS]\n"
	"\n"
	"The drover node agent: publishes this node's status and its guests' state,\n"
	"keeps its task list, starts the onboot guests once the node is quorate and\n"
	"shuts every guest down on SIGTERM. See droverd(8).\n"
	"\n"
	"Options:\n"
	"  -f, --foreground         stay in the foreground, log to stderr\n"
	"  -d, --debug              log debug messages\n"
	"      --interval SECONDS   publish the status this often (default 5, 1-300)\n"
	"      --socket PATH        droverfs's IPC socket (default: $DROVER_CFS_SOCKET or\n"
	"                           /run/drover/cfs.sock)\n"
	"      --task-dir DIR       task logs and lists (default /var/log/drover/tasks)\n"
	"      --stop-timeout SECONDS\n"
	"                           a guest's shutdown on stop without startup down=\n"
	"                           (default 180)\n"
	"      --no-cold-start      do not start the onboot guests\n"
	"  -h, --help               show this help\n"
	"      --version            show the version\n";

enum {
	OPT_INTERVAL = 256,
	OPT_SOCKET,
	OPT_TASK_DIR,
	OPT_STOP_TIMEOUT,
	OPT_NO_COLD_START,
	OPT_VERSION,
};

static int bad(const char *opt, const char *value, const char *why)
{
	fprintf(stderr, "droverd: %s '%s': %s\n", opt, value, why);
	return -EINVAL;
}

static int set_path(char *dst, size_t len, const char *opt, const char *value)
{
	if (value[0] != '/')
		return bad(opt, value, "not an absolute path");
	if (strlen(value) >= len)
		return bad(opt, value, "too long");
	strcpy(dst, value);
	return 0;
}

static int set_seconds(unsigned *dst, const char *opt, const char *value, uint64_t min,
		       uint64_t max)
{
	uint64_t v;

	if (parse_u64(value, max, &v) < 0 || v < min)
		return bad(opt, value, "not a number of seconds in range");
	*dst = (unsigned)v;
	return 0;
}

/* Returns 0 (run), 1 (done: help or version shown) or -EINVAL (printed). */
int droverd_options_parse(int argc, char **argv, struct droverd_options *o)
{
	static const struct option longs[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "task-dir", required_argument, NULL, OPT_TASK_DIR },
		{ "stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT },
		{ "no-cold-start", no_argument, NULL, OPT_NO_COLD_START },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	int c, r = 0;

	memset(o, 0, sizeof(*o));
	o->interval_s = DROVERD_INTERVAL_DEFAULT;
	o->stop_timeout_s = GUESTS_STOP_TIMEOUT_DEFAULT;
	snprintf(o->marker, sizeof(o->marker), "%s", DROVERD_COLDSTART_MARKER);
	optind = 0;
	opterr = 0;
	while (r == 0 && (c = getopt_long(argc, argv, "fdh", longs, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->foreground = true;
			break;
		case 'd':
			o->debug = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		case OPT_VERSION:
			printf("droverd %s\n", DROVER_VERSION);
			return 1;
		case OPT_INTERVAL:
			r = set_seconds(&o->interval_s, "--interval", optarg, 1, 300);
			break;
		case OPT_SOCKET:
			r = set_path(o->socket, sizeof(o->socket), "--socket", optarg);
			break;
		case OPT_TASK_DIR:
			r = set_path(o->task_dir, sizeof(o->task_dir), "--task-dir", optarg);
			break;
		case OPT_STOP_TIMEOUT:
			r = set_seconds(&o->stop_timeout_s, "--stop-timeout", optarg, 1, 86400);
			break;
		case OPT_NO_COLD_START:
			o->no_cold_start = true;
			break;
		default:
			fprintf(stderr, "droverd: unknown option '%s' (see droverd --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (r == 0 && optind < argc) {
		fprintf(stderr, "droverd: unexpected argument '%s' (see droverd --help)\n",
			argv[optind]);
		return -EINVAL;
	}
	return r;
}
