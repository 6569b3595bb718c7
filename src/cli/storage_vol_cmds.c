/* SPDX-License-Identifier: MIT */
/* drover storage list, alloc, free, path, resize, snapshot(s), rollback: volumes. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "basic/timefmt.h"
#include "basic/util.h"
#include "libdrover/format/names.h"
#include "storage_cli.h"

static const char *content_name(enum storage_content c)
{
	switch (c) {
	case STORAGE_CONTENT_IMAGES:
		return "images";
	case STORAGE_CONTENT_ROOTDIR:
		return "rootdir";
	case STORAGE_CONTENT_ISO:
		return "iso";
	case STORAGE_CONTENT_VZTMPL:
		return "vztmpl";
	}
	return "?";
}

static int parse_vmid(const char *s, unsigned *vmid)
{
	uint32_t v;

	if (vmid_parse_n(s, strlen(s), &v) < 0) {
		cli_error("'%s' is not a VMID", s);
		return -1;
	}
	*vmid = v;
	return 0;
}

/* Run one operation with the environment; prints its error. */
static int with_env(struct cli_context *ctx, struct storage_env *env)
{
	return storage_cli_env(ctx, env) < 0 ? -1 : 0;
}

static int report(int r, struct drover_err *err)
{
	if (r < 0) {
		cli_error("%s", err->text);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/* Only positional arguments (and --help): exactly n of them. */
static int positional(int argc, char **argv, int n, const char *cmd)
{
	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1]) {
			cli_error("storage %s: unknown option '%s' (see --help)", cmd, argv[i]);
			return -1;
		}
	if (argc - 1 != n) {
		cli_error("storage %s takes %d argument%s (see --help)", cmd, n, n == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

/* ---- list ------------------------------------------------------------- */

static int parse_content(const char *s, unsigned *content)
{
	static const char *const names[] = { "images", "rootdir", "iso", "vztmpl" };

	for (unsigned i = 0; i < ARRAY_SIZE(names); i++)
		if (streq(s, names[i])) {
			*content = 1u << i;
			return 0;
		}
	cli_error("--content: '%s' is not one of images, rootdir, iso, vztmpl", s);
	return -1;
}

static int cmd_list(struct cli_context *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "vmid", required_argument, NULL, 'v' },
					      { "content", required_argument, NULL, 'c' },
					      { "output-format", required_argument, NULL, 'o' },
					      { NULL, 0, NULL, 0 } };
	struct drover_err err = { "" };
	struct storage_volume *vols;
	struct storage_env env;
	unsigned vmid = 0, content = 0;
	size_t n;
	int c, mode = 0, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if ((c == 'v' && parse_vmid(optarg, &vmid) < 0) ||
		    (c == 'c' && parse_content(optarg, &content) < 0) ||
		    (c == 'o' && (mode = cli_output_format(optarg)) < 0) || c == '?')
			return CLI_EXIT_USAGE;
	}
	if (optind != argc - 1) {
		cli_error("storage list takes one STOREID (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (with_env(ctx, &env) < 0)
		return CLI_EXIT_FAIL;
	r = storage_list(&env, argv[optind], vmid, content, &vols, &n, &err);
	if (r == 0 && mode) {
		struct json_object *list = json_object_new_array();

		for (size_t i = 0; i < n; i++) {
			struct json_object *o = json_object_new_object();
			char volid[STORAGE_VOLID_MAX];

			snprintf(volid, sizeof(volid), "%s:%s", argv[optind], vols[i].volname);
			json_object_object_add(o, "volid", json_object_new_string(volid));
			json_object_object_add(
				o, "format",
				json_object_new_string(storage_volformat_name(vols[i].format)));
			json_object_object_add(
				o, "content",
				json_object_new_string(content_name(vols[i].content)));
			json_object_object_add(o, "size",
					       json_object_new_int64((int64_t)vols[i].size));
			json_object_object_add(o, "used",
					       json_object_new_int64((int64_t)vols[i].used));
			json_object_object_add(o, "vmid", json_object_new_int64(vols[i].vmid));
			json_object_array_add(list, o);
		}
		storage_cli_print_json(list, mode);
	} else if (r == 0) {
		printf("%-44s %-7s %-8s %14s %6s\n", "Volid", "Format", "Type", "Size", "VMID");
		for (size_t i = 0; i < n; i++) {
			char volid[STORAGE_VOLID_MAX];

			snprintf(volid, sizeof(volid), "%s:%s", argv[optind], vols[i].volname);
			printf("%-44s %-7s %-8s %14llu %6u\n", volid,
			       storage_volformat_name(vols[i].format),
			       content_name(vols[i].content), (unsigned long long)vols[i].size,
			       vols[i].vmid);
		}
	}
	if (r == 0)
		free(vols);
	storage_env_close(&env);
	return report(r, &err);
}

const struct cli_command storage_list_cmd = {
	.name = "list",
	.summary = "the volumes of a storage",
	.usage =
		"Usage: drover storage list STOREID [--vmid N] [--content images|rootdir|iso|vztmpl]\n"
		"                            [--output-format text|json|json-pretty]\n"
		"\n"
		"Lists the volumes of STOREID (those of VMID N, of one content type): volume\n"
		"ID, format, content type, size in bytes, owner. Half-made volumes (an import\n"
		"still running) are not listed.\n",
	.run = cmd_list,
};

/* ---- alloc, free, path, resize ----------------------------------------- */

static int cmd_alloc(struct cli_context *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
					      { NULL, 0, NULL, 0 } };
	struct drover_err err = { "" };
	enum storage_volformat fmt = STORAGE_VOLFORMAT_RAW;
	char volid[STORAGE_VOLID_MAX];
	struct storage_env env;
	bool fmt_given = false;
	unsigned vmid;
	uint64_t size;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'f')
			return CLI_EXIT_USAGE;
		if (storage_volformat_parse(optarg, &fmt) < 0) {
			cli_error("--format: '%s' is not one of raw, qcow2, subvol", optarg);
			return CLI_EXIT_USAGE;
		}
		fmt_given = true;
	}
	if (optind != argc - 4) {
		cli_error("storage alloc takes STOREID VMID NAME SIZE (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (parse_vmid(argv[optind + 1], &vmid) < 0 ||
	    storage_cli_size("SIZE", argv[optind + 3], &size) < 0)
		return CLI_EXIT_USAGE;
	if (with_env(ctx, &env) < 0)
		return CLI_EXIT_FAIL;
	r = storage_alloc(&env, argv[optind], vmid,
			  streq(argv[optind + 2], "-") ? NULL : argv[optind + 2], fmt, fmt_given,
			  size, volid, sizeof(volid), &err);
	storage_env_close(&env);
	if (r == 0)
		printf("successfully created '%s'\n", volid);
	return report(r, &err);
}

const struct cli_command storage_alloc_cmd = {
	.name = "alloc",
	.summary = "make a new volume",
	.usage = "Usage: drover storage alloc STOREID VMID NAME SIZE [--format raw|qcow2|subvol]\n"
		 "\n"
		 "Makes volume NAME owned by VMID on STOREID, SIZE bytes (K, M, G: binary\n"
		 "units). NAME is vm-VMID-..., base-VMID-... or subvol-VMID-... (a container\n"
		 "root), with the format's extension or without; '-' picks the next free\n"
		 "vm-VMID-disk-N. A name of another VMID, one with '..' or '/', or one that\n"
		 "exists is refused. Prints the new volume ID. A subvol may have size 0 (no\n"
		 "limit).\n",
	.run = cmd_alloc,
};

static int cmd_free(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	struct storage_env env;
	int r;

	if (positional(argc, argv, 1, "free") < 0)
		return CLI_EXIT_USAGE;
	if (with_env(ctx, &env) < 0)
		return CLI_EXIT_FAIL;
	r = storage_free_volume(&env, argv[1], &err);
	storage_env_close(&env);
	if (r == 0)
		printf("removed '%s'\n", argv[1]);
	return report(r, &err);
}

const struct cli_command storage_free_cmd = {
	.name = "free",
	.summary = "remove a volume and its snapshots",
	.usage = "Usage: drover storage free VOLID\n"
		 "\n"
		 "Removes volume VOLID and every snapshot of it.\n",
	.run = cmd_free,
};

static int cmd_path(struct cli_context *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "snapshot", required_argument, NULL, 's' },
					      { NULL, 0, NULL, 0 } };
	struct drover_err err = { "" };
	struct storage_env env;
	const char *snap = NULL;
	char path[4096];
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 's')
			return CLI_EXIT_USAGE;
		snap = optarg;
	}
	if (optind != argc - 1) {
		cli_error("storage path takes one VOLID (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (with_env(ctx, &env) < 0)
		return CLI_EXIT_FAIL;
	r = storage_volume_path(&env, argv[optind], snap, path, sizeof(path), &err);
	storage_env_close(&env);
	if (r == 0)
		printf("%s\n", path);
	return report(r, &err);
}

const struct cli_command storage_path_cmd = {
	.name = "path",
	.summary = "the file, directory or URI of a volume",
	.usage = "Usage: drover storage path VOLID [--snapshot SNAP]\n"
		 "\n"
		 "Prints what QEMU or LXC opens for VOLID (or its snapshot SNAP): a file or\n"
		 "directory path, a device, or an rbd: URI.\n",
	.run = cmd_path,
};

static int cmd_resize(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	struct storage_env env;
	bool grow = false;
	uint64_t size;
	int r;

	if (argc == 3 && argv[2][0] == '+') {
		grow = true;
		argv[2]++;
	} else if (positional(argc, argv, 2, "resize") < 0) {
		return CLI_EXIT_USAGE;
	}
	if (storage_cli_size("SIZE", argv[2], &size) < 0)
		return CLI_EXIT_USAGE;
	if (with_env(ctx, &env) < 0)
		return CLI_EXIT_FAIL;
	r = grow ? storage_grow(&env, argv[1], size, &err)
		 : storage_resize(&env, argv[1], size, &err);
	storage_env_close(&env);
	if (r == 0)
		printf("resized '%s'\n", argv[1]);
	return report(r, &err);
}

const struct cli_command storage_resize_cmd = {
	.name = "resize",
	.summary = "grow a volume",
	.usage = "Usage: drover storage resize VOLID [+]SIZE\n"
		 "\n"
		 "Grows VOLID to SIZE bytes (K, M, G), or by SIZE with '+'. Shrinking is\n"
		 "refused. On btrfs and zfspool a subvol's size is its quota.\n",
	.run = cmd_resize,
};

/* ---- snapshots -------------------------------------------------------- */

static int snap_op(struct cli_context *ctx, int argc, char **argv, enum storage_snap_op op,
		   const char *cmd, const char *done)
{
	struct drover_err err = { "" };
	struct storage_env env;
	int r;

	if (positional(argc, argv, 2, cmd) < 0)
		return CLI_EXIT_USAGE;
	if (with_env(ctx, &env) < 0)
		return CLI_EXIT_FAIL;
	r = storage_snapshot_op(&env, argv[1], op, argv[2], &err);
	storage_env_close(&env);
	if (r == 0)
		printf("%s '%s' of '%s'\n", done, argv[2], argv[1]);
	return report(r, &err);
}

static int cmd_snapshot(struct cli_context *ctx, int argc, char **argv)
{
	return snap_op(ctx, argc, argv, STORAGE_SNAP_CREATE, "snapshot", "made snapshot");
}

static int cmd_delsnapshot(struct cli_context *ctx, int argc, char **argv)
{
	return snap_op(ctx, argc, argv, STORAGE_SNAP_DELETE, "delsnapshot", "deleted snapshot");
}

static int cmd_rollback(struct cli_context *ctx, int argc, char **argv)
{
	return snap_op(ctx, argc, argv, STORAGE_SNAP_ROLLBACK, "rollback", "rolled back to");
}

const struct cli_command storage_snapshot_cmd = {
	.name = "snapshot",
	.summary = "take a snapshot of a volume",
	.usage = "Usage: drover storage snapshot VOLID SNAP\n"
		 "\n"
		 "Takes read-only snapshot SNAP of VOLID (letters, digits, '_', '-'; at most\n"
		 "63). dir storages have none.\n",
	.run = cmd_snapshot,
};

const struct cli_command storage_delsnapshot_cmd = {
	.name = "delsnapshot",
	.summary = "delete a snapshot",
	.usage = "Usage: drover storage delsnapshot VOLID SNAP\n",
	.run = cmd_delsnapshot,
};

const struct cli_command storage_rollback_cmd = {
	.name = "rollback",
	.summary = "make a volume what it was at its latest snapshot",
	.usage = "Usage: drover storage rollback VOLID SNAP\n"
		 "\n"
		 "Replaces VOLID's data by snapshot SNAP's, in one step. SNAP must be the\n"
		 "latest snapshot: delete newer ones first (as on ZFS), so that a snapshot\n"
		 "that replication or a guest config names never outlives its data.\n",
	.run = cmd_rollback,
};

static int cmd_snapshots(struct cli_context *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "output-format", required_argument, NULL, 'o' },
					      { NULL, 0, NULL, 0 } };
	struct drover_err err = { "" };
	struct storage_snapshot *snaps;
	struct storage_env env;
	size_t n;
	int c, mode = 0, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (c != 'o' || (mode = cli_output_format(optarg)) < 0)
			return CLI_EXIT_USAGE;
	if (optind != argc - 1) {
		cli_error("storage snapshots takes one VOLID (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (with_env(ctx, &env) < 0)
		return CLI_EXIT_FAIL;
	r = storage_snapshot_list(&env, argv[optind], &snaps, &n, &err);
	storage_env_close(&env);
	if (r < 0)
		return report(r, &err);
	if (mode) {
		struct json_object *list = json_object_new_array();

		for (size_t i = 0; i < n; i++) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "name", json_object_new_string(snaps[i].name));
			json_object_object_add(o, "ctime", json_object_new_int64(snaps[i].ctime));
			json_object_object_add(o, "id", json_object_new_string(snaps[i].id));
			json_object_object_add(o, "origin",
					       json_object_new_string(snaps[i].origin_id));
			json_object_array_add(list, o);
		}
		storage_cli_print_json(list, mode);
	} else {
		printf("%-24s %-20s %-38s %s\n", "Name", "Created", "ID", "Received from");
		for (size_t i = 0; i < n; i++) {
			char when[32];

			timefmt_local(snaps[i].ctime, when, sizeof(when));
			printf("%-24s %-20s %-38s %s\n", snaps[i].name, when,
			       snaps[i].id[0] ? snaps[i].id : "-",
			       snaps[i].origin_id[0] ? snaps[i].origin_id : "-");
		}
	}
	free(snaps);
	return CLI_EXIT_OK;
}

const struct cli_command storage_snapshots_cmd = {
	.name = "snapshots",
	.summary = "the snapshots of a volume, oldest first",
	.usage = "Usage: drover storage snapshots VOLID [--output-format text|json|json-pretty]\n"
		 "\n"
		 "Lists VOLID's snapshots, oldest first: name, creation time, the snapshot's\n"
		 "own ID (btrfs: subvolume UUID; zfs: guid) and, for a received one, the ID\n"
		 "it was received from (btrfs: received_uuid). Two nodes hold the same\n"
		 "snapshot when its received-from ID (or own ID) is the same on both.\n",
	.run = cmd_snapshots,
};

/* ---- _sweep (called by the sender of a failed copy) --------------------- */

static int cmd_sweep(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	struct storage_env env;
	unsigned vmid = 0;
	int r;

	if (positional(argc, argv, 2, "_sweep") < 0 || parse_vmid(argv[2], &vmid) < 0)
		return CLI_EXIT_USAGE;
	if (with_env(ctx, &env) < 0)
		return CLI_EXIT_FAIL;
	r = storage_sweep(&env, argv[1], vmid, &err);
	storage_env_close(&env);
	return report(r, &err);
}

const struct cli_command storage_sweep_cmd = {
	.name = "_sweep",
	.summary = "(internal) remove what killed imports left",
	.usage = "Usage: drover storage _sweep STOREID VMID\n"
		 "\n"
		 "Removes the temporary files and subvolumes that imports on this node left\n"
		 "when their process was killed. 'storage copy' runs it on the target after\n"
		 "a failure; imports do it before they start.\n",
	.run = cmd_sweep,
};
