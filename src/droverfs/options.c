/* SPDX-License-Identifier: MIT */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "libdrover/cfs/ipc_proto.h"
#include "libdrover/format/names.h"
#include "basic/util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: droverfs [OPTIONS]\n"
		"\n"
		"The drover cluster configuration file system: keeps the tree in RAM,\n"
		"persists it in SQLite and serves it with FUSE.\n"
		"\n"
		"Options:\n"
		"  -f, --foreground        do not detach; log to stderr\n"
		"  -l, --local             local mode: no cluster, always writable\n"
		"  -d, --debug             debug logging (also: echo 1 > MOUNT/.debug)\n"
		"      --mount DIR         mount point (default %s)\n"
		"      --db FILE           database (default %s)\n"
		"      --socket PATH       IPC socket (default %s)\n"
		"      --nodename NAME     this node's name (default: host name up to the first dot)\n"
		"      --group NAME        read-only group (default www-data if it exists, else root)\n"
		"      --max-file-size N   largest file, e.g. 4M (default 4 MiB)\n"
		"      --max-total N       all files together (default 512 MiB)\n"
		"      --max-entries N     files and directories (default 1000000)\n"
		"      --corosync-conf FILE  corosync's configuration, installed from the tree\n"
		"                          (default /etc/corosync/corosync.conf)\n"
		"      --verify-interval S cluster mode: compare tree digests every S seconds\n"
		"                          (default 60; 0: never)\n"
		"      --lock-lifetime S   a lock unrefreshed for S seconds may be taken over\n"
		"                          (default 120; the same on every node; for tests)\n"
		"  -h, --help              show this help\n"
		"      --version           show the version\n"
		"\n"
		"See droverfs(8).\n",
		CFS_DEFAULT_MOUNT, CFS_DEFAULT_DB, CFS_SOCKET_DEFAULT);
}

static int default_nodename(struct cfs_options *opt)
{
	char host[256];
	size_t len;

	if (gethostname(host, sizeof(host)) < 0)
		return -errno;
	host[sizeof(host) - 1] = '\0';
	len = strcspn(host, ".");
	host[len] = '\0';
	if (!node_name_valid(host)) {
		fprintf(stderr,
			"droverfs: the host name '%s' is not a valid node name (letters, digits "
			"and '-', at most 63); use --nodename\n",
			host);
		return -EINVAL;
	}
	snprintf(opt->nodename, sizeof(opt->nodename), "%.63s", host);
	return 0;
}

static int parse_limit(const char *opt, const char *arg, uint64_t min, uint64_t *out)
{
	int r = parse_size(arg, out);

	if (r < 0 || *out < min) {
		fprintf(stderr, "droverfs: %s: '%s' is not a size of at least %llu bytes\n", opt,
			arg, (unsigned long long)min);
		return -EINVAL;
	}
	return 0;
}

enum {
	OPT_MOUNT = 256,
	OPT_DB,
	OPT_SOCKET,
	OPT_NODENAME,
	OPT_GROUP,
	OPT_MAX_FILE,
	OPT_MAX_TOTAL,
	OPT_MAX_ENTRIES,
	OPT_COROSYNC_CONF,
	OPT_VERIFY_INTERVAL,
	OPT_LOCK_LIFETIME,
	OPT_VERSION,
};

int cfs_options_parse(int argc, char **argv, struct cfs_options *opt)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "local", no_argument, NULL, 'l' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "mount", required_argument, NULL, OPT_MOUNT },
		{ "db", required_argument, NULL, OPT_DB },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "corosync-conf", required_argument, NULL, OPT_COROSYNC_CONF },
		{ "verify-interval", required_argument, NULL, OPT_VERIFY_INTERVAL },
		{ "lock-lifetime", required_argument, NULL, OPT_LOCK_LIFETIME },
		{ "nodename", required_argument, NULL, OPT_NODENAME },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "max-file-size", required_argument, NULL, OPT_MAX_FILE },
		{ "max-total", required_argument, NULL, OPT_MAX_TOTAL },
		{ "max-entries", required_argument, NULL, OPT_MAX_ENTRIES },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(opt, 0, sizeof(*opt));
	opt->mountpoint = CFS_DEFAULT_MOUNT;
	opt->db_path = CFS_DEFAULT_DB;
	opt->socket_path = CFS_SOCKET_DEFAULT;
	opt->corosync_conf = "/etc/corosync/corosync.conf";
	opt->verify_interval = 60;
	opt->lock_lifetime = 120;
	cfs_limits_default(&opt->limits);
	while ((c = getopt_long(argc, argv, "fldh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			opt->foreground = true;
			break;
		case 'l':
			opt->local = true;
			break;
		case 'd':
			opt->debug = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case OPT_VERSION:
			printf("droverfs %s\n", DROVER_VERSION);
			return 1;
		case OPT_MOUNT:
			opt->mountpoint = optarg;
			break;
		case OPT_DB:
			opt->db_path = optarg;
			break;
		case OPT_SOCKET:
			opt->socket_path = optarg;
			break;
		case OPT_NODENAME:
			if (!node_name_valid(optarg)) {
				fprintf(stderr,
					"droverfs: --nodename: '%s' is not a valid node name "
					"(letters, digits and '-', at most 63)\n",
					optarg);
				return -EINVAL;
			}
			snprintf(opt->nodename, sizeof(opt->nodename), "%s", optarg);
			break;
		case OPT_GROUP:
			opt->group = optarg;
			break;
		case OPT_COROSYNC_CONF:
			opt->corosync_conf = optarg;
			break;
		case OPT_VERIFY_INTERVAL: {
			uint64_t v;

			if (parse_u64(optarg, 86400, &v) < 0) {
				fprintf(stderr,
					"droverfs: --verify-interval: '%s' is not a number of "
					"seconds from 0 to 86400\n",
					optarg);
				return -EINVAL;
			}
			opt->verify_interval = (unsigned)v;
			break;
		}
		case OPT_LOCK_LIFETIME: {
			uint64_t v;

			if (parse_u64(optarg, 86400, &v) < 0 || v == 0) {
				fprintf(stderr,
					"droverfs: --lock-lifetime: '%s' is not a number of "
					"seconds from 1 to 86400\n",
					optarg);
				return -EINVAL;
			}
			opt->lock_lifetime = (unsigned)v;
			break;
		}
		case OPT_MAX_FILE:
			if (parse_limit("--max-file-size", optarg, 1, &opt->limits.max_file_size) <
			    0)
				return -EINVAL;
			break;
		case OPT_MAX_TOTAL:
			if (parse_limit("--max-total", optarg, 4096, &opt->limits.max_total_bytes) <
			    0)
				return -EINVAL;
			break;
		case OPT_MAX_ENTRIES:
			if (parse_u64(optarg, UINT32_MAX, &opt->limits.max_entries) < 0 ||
			    opt->limits.max_entries < 16) {
				fprintf(stderr,
					"droverfs: --max-entries: '%s' is not a number from 16 "
					"to %u\n",
					optarg, UINT32_MAX);
				return -EINVAL;
			}
			break;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "droverfs: unexpected argument '%s' (see --help)\n", argv[optind]);
		return -EINVAL;
	}
	if (opt->mountpoint[0] != '/' || opt->db_path[0] != '/' || opt->socket_path[0] != '/') {
		fprintf(stderr, "droverfs: --mount, --db and --socket need absolute paths\n");
		return -EINVAL;
	}
	if (!opt->nodename[0])
		return default_nodename(opt);
	return 0;
}
