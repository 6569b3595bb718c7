/* SPDX-License-Identifier: MIT */
/*
 * rbdtool: the rbd storage plugin (storage_plugin_rbd) driven from the
 * command line, for the integration tests only. It takes the storage's
 * properties as options instead of reading storage.cfg, so the tests can
 * exercise the plugin before `drover storage` exists; once it does, the
 * tests switch to it and this file goes. Output is JSON where there is a
 * result; a failure prints the plugin's error and its errno name.
 *
 *   rbdtool --pool P [--monhost M] [--username U] [--keyring K] [--id STOREID]
 *           COMMAND ARGS... [--snapshot S] [--base B] [--with-snapshots]
 *           [--allow-rename] [--delete-snapshot S]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "basic/util.h"
#include "libdrover/storage/plugin.h"

struct opts {
	struct storage_props props;
	const char *snapshot, *base, *delete_snapshot;
	bool with_snapshots, allow_rename, progress;
};

static int usage(void)
{
	fprintf(stderr,
		"usage: rbdtool --pool P [--monhost M] [--username U] [--keyring K] [--id ID] COMMAND\n"
		"  status | list [VMID] | alloc VMID NAME|- SIZE | free VOL | info VOL\n"
		"  path VOL [SNAP] | resize VOL SIZE | snapshot|delsnapshot|rollback VOL SNAP\n"
		"  snapshots VOL | formats VOL | export VOL FORMAT FILE|- | import VOL FORMAT FILE|-\n"
		"  (export/import/formats: [--snapshot S] [--base B] [--with-snapshots]\n"
		"   [--allow-rename] [--delete-snapshot S] [--progress])\n");
	return 2;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{ "pool", required_argument, NULL, 'p' },
		{ "monhost", required_argument, NULL, 'm' },
		{ "username", required_argument, NULL, 'u' },
		{ "keyring", required_argument, NULL, 'k' },
		{ "id", required_argument, NULL, 'i' },
		{ "snapshot", required_argument, NULL, 's' },
		{ "base", required_argument, NULL, 'b' },
		{ "delete-snapshot", required_argument, NULL, 'd' },
		{ "with-snapshots", no_argument, NULL, 'w' },
		{ "allow-rename", no_argument, NULL, 'r' },
		{ "progress", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	snprintf(o->props.type, sizeof(o->props.type), "rbd");
	snprintf(o->props.id, sizeof(o->props.id), "ceph");
	o->props.content = STORAGE_CONTENT_IMAGES;
	o->props.shared = true;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'p':
			snprintf(o->props.pool, sizeof(o->props.pool), "%s", optarg);
			break;
		case 'm':
			snprintf(o->props.monhost, sizeof(o->props.monhost), "%s", optarg);
			break;
		case 'u':
			snprintf(o->props.username, sizeof(o->props.username), "%s", optarg);
			break;
		case 'k':
			snprintf(o->props.keyring, sizeof(o->props.keyring), "%s", optarg);
			break;
		case 'i':
			snprintf(o->props.id, sizeof(o->props.id), "%s", optarg);
			break;
		case 's':
			o->snapshot = optarg;
			break;
		case 'b':
			o->base = optarg;
			break;
		case 'd':
			o->delete_snapshot = optarg;
			break;
		case 'w':
			o->with_snapshots = true;
			break;
		case 'r':
			o->allow_rename = true;
			break;
		case 'P':
			o->progress = true;
			break;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

static void print_json(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static json_object *volume_json(const struct storage_volume *v)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "volname", json_object_new_string(v->volname));
	json_object_object_add(o, "vmid", json_object_new_int64(v->vmid));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)v->size));
	json_object_object_add(o, "format", json_object_new_string("raw"));
	return o;
}

static void on_event(void *ctx, const struct drover_event *ev)
{
	if (ev->kind == DROVER_EVENT_LOG)
		fprintf(stderr, "log: %s\n", ev->text);
	else if (*(bool *)ctx)
		fprintf(stderr, "progress: %" PRIu64 " of %" PRIu64 " bytes, %" PRIu64 " B/s\n",
			ev->done, ev->total, ev->rate);
}

static const char *format_arg(const char *s, enum storage_format *f)
{
	if (streq(s, "rbd-diff"))
		*f = STORAGE_FORMAT_RBD_DIFF;
	else if (streq(s, "raw+size"))
		*f = STORAGE_FORMAT_RAW_SIZE;
	else if (streq(s, "btrfs"))
		*f = STORAGE_FORMAT_BTRFS;
	else
		return NULL;
	return s;
}

static int open_stream(const char *path, bool out)
{
	if (streq(path, "-"))
		return dup(out ? STDOUT_FILENO : STDIN_FILENO);
	return out ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)
		   : open(path, O_RDONLY | O_CLOEXEC);
}

static int run_stream(struct storage *s, struct opts *o, bool export, char **a, int n,
		      struct drover_err *err)
{
	struct drover_reporter rep = { on_event, &o->progress };
	enum storage_format fmt;
	char imported[STORAGE_VOLNAME_MAX] = "";
	int fd, r;

	if (n != 3 || !format_arg(a[1], &fmt))
		return usage();
	fd = open_stream(a[2], export);
	if (fd < 0)
		return drover_fail(err, -errno, "opening %s: %s", a[2], strerror(errno));
	if (export) {
		struct storage_export_opts eo = { o->snapshot, o->base, o->with_snapshots };

		r = s->plugin->export(s, a[0], fmt, &eo, fd, &rep, err);
	} else {
		struct storage_import_opts io = { o->snapshot, o->base, o->with_snapshots,
						  o->allow_rename, o->delete_snapshot };

		r = s->plugin->import(s, a[0], fmt, &io, fd, imported, sizeof(imported), &rep, err);
		if (r == 0)
			printf("successfully imported '%s:%s'\n", s->props.id, imported);
	}
	if (close(fd) < 0 && r == 0)
		r = drover_fail(err, -errno, "closing %s: %s", a[2], strerror(errno));
	return r;
}

static int cmd_list(struct storage *s, char **a, int n, struct drover_err *err)
{
	struct storage_volume *vols;
	json_object *arr;
	size_t nv;
	int r = s->plugin->list(s, n ? (unsigned)strtoul(a[0], NULL, 10) : 0, &vols, &nv, err);

	if (r < 0)
		return r;
	arr = json_object_new_array();
	for (size_t i = 0; i < nv; i++)
		json_object_array_add(arr, volume_json(&vols[i]));
	free(vols);
	print_json(arr);
	return 0;
}

static int cmd_snapshots(struct storage *s, const char *vol, struct drover_err *err)
{
	struct storage_snapshot *snaps;
	json_object *arr;
	size_t n;
	int r = s->plugin->snapshot_list(s, vol, &snaps, &n, err);

	if (r < 0)
		return r;
	arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(snaps[i].name));
		json_object_object_add(o, "ctime", json_object_new_int64(snaps[i].ctime));
		json_object_object_add(o, "id", json_object_new_string(snaps[i].id));
		json_object_object_add(o, "origin_id", json_object_new_string(snaps[i].origin_id));
		json_object_array_add(arr, o);
	}
	free(snaps);
	print_json(arr);
	return 0;
}

static int cmd_status(struct storage *s, struct drover_err *err)
{
	struct storage_status st;
	json_object *o;
	int r = s->plugin->status(s, &st, err);

	if (r < 0)
		return r;
	o = json_object_new_object();
	json_object_object_add(o, "total", json_object_new_int64((int64_t)st.total));
	json_object_object_add(o, "used", json_object_new_int64((int64_t)st.used));
	json_object_object_add(o, "avail", json_object_new_int64((int64_t)st.avail));
	json_object_object_add(o, "active", json_object_new_boolean(st.active));
	print_json(o);
	return 0;
}

static int cmd_formats(struct storage *s, struct opts *o, const char *vol)
{
	struct storage_export_opts eo = { o->snapshot, o->base, o->with_snapshots };
	struct storage_import_opts io = { o->snapshot, o->base, o->with_snapshots, false, NULL };
	unsigned ex = s->plugin->export_formats(s, vol, &eo),
		 im = s->plugin->import_formats(s, vol, &io);
	static const char *const names[] = { "zfs", "btrfs", "rbd-diff", "raw+size" };

	printf("export:");
	for (int f = 0; f < STORAGE_FORMAT_COUNT; f++)
		if (ex & (1u << f))
			printf(" %s", names[f]);
	printf("\nimport:");
	for (int f = 0; f < STORAGE_FORMAT_COUNT; f++)
		if (im & (1u << f))
			printf(" %s", names[f]);
	printf("\n");
	return 0;
}

static int size_arg(const char *s, uint64_t *v, struct drover_err *err)
{
	return parse_size(s, v) < 0 ? drover_fail(err, -EINVAL, "bad size '%s'", s) : 0;
}

static int dispatch(struct storage *s, struct opts *o, char **a, int n, struct drover_err *err)
{
	const struct storage_plugin *p = s->plugin;
	const char *cmd = a[0];
	char out[8192];
	uint64_t size;
	int r;

	a++;
	n--;
	if (streq(cmd, "status") && n == 0)
		return cmd_status(s, err);
	if (streq(cmd, "list") && n <= 1)
		return cmd_list(s, a, n, err);
	if (streq(cmd, "alloc") && n == 3) {
		struct storage_alloc_req req = { (unsigned)strtoul(a[0], NULL, 10),
						 streq(a[1], "-") ? NULL : a[1],
						 STORAGE_VOLFORMAT_RAW, 0 };

		r = size_arg(a[2], &req.size, err);
		if (r == 0)
			r = p->alloc(s, &req, out, sizeof(out), err);
		if (r == 0)
			printf("%s\n", out);
		return r;
	}
	if (streq(cmd, "free") && n == 1)
		return p->free(s, a[0], err);
	if (streq(cmd, "info") && n == 1) {
		struct storage_volume v;

		r = p->info(s, a[0], &v, err);
		if (r == 0)
			print_json(volume_json(&v));
		return r;
	}
	if (streq(cmd, "path") && (n == 1 || n == 2)) {
		r = p->path(s, a[0], n == 2 ? a[1] : NULL, out, sizeof(out), err);
		if (r == 0)
			printf("%s\n", out);
		return r;
	}
	if (streq(cmd, "resize") && n == 2) {
		r = size_arg(a[1], &size, err);
		return r < 0 ? r : p->resize(s, a[0], size, err);
	}
	if (streq(cmd, "snapshot") && n == 2)
		return p->snapshot_create(s, a[0], a[1], err);
	if (streq(cmd, "delsnapshot") && n == 2)
		return p->snapshot_delete(s, a[0], a[1], err);
	if (streq(cmd, "rollback") && n == 2)
		return p->snapshot_rollback(s, a[0], a[1], err);
	if (streq(cmd, "snapshots") && n == 1)
		return cmd_snapshots(s, a[0], err);
	if (streq(cmd, "formats") && n == 1)
		return cmd_formats(s, o, a[0]);
	if (streq(cmd, "export") || streq(cmd, "import"))
		return run_stream(s, o, streq(cmd, "export"), a, n, err);
	return usage();
}

int main(int argc, char **argv)
{
	struct drover_err err = { "" };
	struct storage s = { .plugin = &storage_plugin_rbd };
	struct opts o;
	int r;

	if (parse(argc, argv, &o) < 0 || optind >= argc)
		return usage();
	/* a reader that went away is an error of the export (EPIPE), not our death */
	signal(SIGPIPE, SIG_IGN);
	s.props = o.props;
	r = s.plugin->check(&s.props, &err);
	if (r == 0)
		r = s.plugin->open(&s, &err);
	if (r == 0) {
		r = dispatch(&s, &o, argv + optind, argc - optind, &err);
		s.plugin->close(&s);
	}
	if (r == 2)
		return 2;
	if (r < 0) {
		fprintf(stderr, "rbdtool: %s (%s)\n", err.text, strerrorname_np(-r));
		return 1;
	}
	return 0;
}
