/* SPDX-License-Identifier: MIT */
/*
 * drover-guest-tool: the guest libraries (config, QEMU command line, QMP,
 * guest agent, taps, LXC config) on the command line, for the integration
 * tests until `drover vm` and `drover ct` exist. Not installed.
 *
 * Volumes resolve like a directory storage: STORE:VMID/NAME is
 * STORAGE_DIR/STORE/VMID/NAME (qcow2 when NAME ends so, raw otherwise); a
 * missing STORE directory is an unknown storage, a VMID that is not the
 * guest's is another guest's volume.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "basic/strv.h"
#include "basic/util.h"
#include "libdrover/format/guest_conf.h"
#include "libdrover/format/guest_drive.h"
#include "libdrover/guest/lxc/lxc_conf.h"
#include "libdrover/guest/qemu/agent.h"
#include "libdrover/guest/qemu/cmdline.h"
#include "libdrover/guest/qemu/qmp.h"
#include "libdrover/guest/qemu/runtime.h"
#include "libdrover/guest/qemu/tap.h"

static const char *storage_dir = "/var/lib/vz";

static int usage(void)
{
	fprintf(stderr,
		"usage: drover-guest-tool [--storage-dir DIR] COMMAND ...\n"
		"  check qemu|lxc CONF                     parse and check a config\n"
		"  cmdline VMID CONF RUN_DIR [serial-log] [daemonize]  QEMU argv, one per line\n"
		"  run-dir RUN_DIR                         make the run directory (0700)\n"
		"  kvm                                     1 when KVM works here, else 0; and why\n"
		"  tap-create NAME BRIDGE [MTU [TAG]] | tap-delete NAME\n"
		"  qmp SOCKET TIMEOUT_MS                   lines from stdin: CMD [ARGS-JSON] | wait EVENT\n"
		"  agent SOCKET TIMEOUT_MS CMD             ping, fsfreeze-freeze, fsfreeze-thaw,\n"
		"                                          fsfreeze-status, get-osinfo\n"
		"  lxc-conf CTID CONF                      the LXC config\n");
	return 2;
}

static int fail(const struct drover_err *err)
{
	fprintf(stderr, "drover-guest-tool: %s\n", err->text);
	return 1;
}

/* The VMID a volume name starts with ("100/vm-100-disk-0.raw", "vm-100-disk-0", "subvol-100-disk-0"). */
static uint32_t owner_of(const char *volname)
{
	const char *p = volname;

	if (str_has_prefix(p, "vm-"))
		p += 3;
	else if (str_has_prefix(p, "subvol-"))
		p += 7;
	return (uint32_t)strtoul(p, NULL, 10);
}

static int resolve_path(uint32_t vmid, const char *volid, char *path, size_t len,
			struct drover_err *err)
{
	char store[GUEST_STORE_MAX], dir[4096];
	const char *volname;
	struct stat st;

	if (guest_volid_split(volid, store, sizeof(store), &volname) < 0)
		return drover_fail(err, -EINVAL, "'%s' is not a volume", volid);
	snprintf(dir, sizeof(dir), "%s/%s", storage_dir, store);
	if (stat(dir, &st) < 0)
		return drover_fail(err, -ENOENT, "storage '%s' does not exist", store);
	if (owner_of(volname) != vmid)
		return drover_fail(err, -EPERM,
				   "volume '%s' belongs to guest %" PRIu32 ", not %" PRIu32, volid,
				   owner_of(volname), vmid);
	snprintf(path, len, "%s/%s", dir, volname);
	if (stat(path, &st) < 0)
		return drover_fail(err, -ENOENT, "volume '%s' does not exist", volid);
	return 0;
}

static int qemu_resolver(void *ctx, uint32_t vmid, const char *volid, struct qemu_volume *v,
			 struct drover_err *err)
{
	int r = resolve_path(vmid, volid, v->path, sizeof(v->path), err);

	v->driver = QEMU_VOLUME_FILE;
	snprintf(v->format, sizeof(v->format), "%s", strstr(volid, ".qcow2") ? "qcow2" : "raw");
	return r;
}

static int lxc_resolver(void *ctx, uint32_t ctid, const char *volid, char *path, size_t len,
			struct drover_err *err)
{
	return resolve_path(ctid, volid, path, len, err);
}

static int load(const char *type, const char *path, struct guest_conf **c, struct drover_err *err)
{
	enum guest_type t = streq(type, "lxc") ? GUEST_LXC : GUEST_QEMU;

	return guest_conf_load(t, path, c, err);
}

static int cmd_check(int argc, char **argv)
{
	struct drover_err err = { "" };
	struct guest_conf *c = NULL;

	if (argc != 3)
		return usage();
	if (load(argv[1], argv[2], &c, &err) < 0)
		return fail(&err);
	printf("%s\n", guest_conf_digest(c));
	guest_conf_free(c);
	return 0;
}

static int cmd_cmdline(int argc, char **argv)
{
	struct qemu_cmdline_opts o = { .resolve = qemu_resolver };
	struct drover_err err = { "" };
	struct guest_conf *c = NULL;
	char **args = NULL;
	int r;

	if (argc < 4)
		return usage();
	o.run_dir = argv[3];
	o.kvm_usable = qemu_kvm_usable();
	for (int i = 4; i < argc; i++) {
		o.serial_log |= streq(argv[i], "serial-log");
		o.daemonize |= streq(argv[i], "daemonize");
	}
	if (load("qemu", argv[2], &c, &err) < 0)
		return fail(&err);
	r = qemu_cmdline(c, (uint32_t)strtoul(argv[1], NULL, 10), &o, &args, &err);
	guest_conf_free(c);
	if (r < 0)
		return fail(&err);
	for (size_t i = 0; args[i]; i++)
		printf("%s\n", args[i]);
	strv_free_array(args);
	return 0;
}

static int cmd_run_dir(int argc, char **argv)
{
	struct drover_err err = { "" };

	if (argc != 2)
		return usage();
	return qemu_run_dir_prepare(argv[1], &err) < 0 ? fail(&err) : 0;
}

static int cmd_tap(int argc, char **argv)
{
	struct drover_err err = { "" };
	int r;

	if (streq(argv[0], "tap-delete") && argc == 2)
		r = qemu_tap_delete(argv[1], &err);
	else if (streq(argv[0], "tap-create") && argc >= 3 && argc <= 5)
		r = qemu_tap_create(argv[1], argv[2], argc > 3 ? (unsigned)atoi(argv[3]) : 0,
				    argc > 4 ? (unsigned)atoi(argv[4]) : 0, false, &err);
	else
		return usage();
	return r < 0 ? fail(&err) : 0;
}

/* One line of a QMP session: "CMD [ARGS-JSON]" or "wait EVENT"; prints the result as JSON. */
static int qmp_line(struct qmp *q, char *line, int timeout, struct drover_err *err)
{
	char *space = strchr(line, ' ');
	struct json_object *args = NULL, *ret = NULL;
	int r;

	if (space)
		*space++ = '\0';
	if (streq(line, "wait")) {
		r = qmp_wait_event(q, space, timeout, &ret, err);
	} else {
		if (space && !(args = json_tokener_parse(space)))
			return drover_fail(err, -EINVAL, "bad JSON arguments: %s", space);
		r = qmp_execute(q, line, args, timeout, &ret, err);
	}
	if (r == 0) {
		printf("%s\n", json_object_to_json_string_ext(ret, JSON_C_TO_STRING_PLAIN));
	} else {
		struct json_object *text = json_object_new_string(err->text);

		printf("{\"error\": %d, \"text\": %s}\n", r, json_object_to_json_string(text));
		json_object_put(text);
	}
	fflush(stdout);
	json_object_put(args);
	json_object_put(ret);
	return r;
}

static int cmd_qmp(int argc, char **argv)
{
	struct drover_err err = { "" };
	struct qmp *q = NULL;
	char line[65536];
	int timeout, failed = 0;

	if (argc != 3)
		return usage();
	timeout = atoi(argv[2]);
	if (qmp_connect(argv[1], timeout, &q, &err) < 0)
		return fail(&err);
	printf("{\"version\": \"%s\"}\n", qmp_version(q));
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0])
			failed |= qmp_line(q, line, timeout, &err) < 0;
	}
	qmp_close(q);
	return failed;
}

static int cmd_agent(int argc, char **argv)
{
	struct drover_err err = { "" };
	struct json_object *info = NULL;
	struct qga *g = NULL;
	char status[32];
	int timeout, count = 0, r;

	if (argc != 4)
		return usage();
	timeout = atoi(argv[2]);
	if (qga_connect(argv[1], timeout, &g, &err) < 0)
		return fail(&err);
	if (streq(argv[3], "ping")) {
		r = qga_ping(g, timeout, &err);
	} else if (streq(argv[3], "fsfreeze-freeze") || streq(argv[3], "fsfreeze-thaw")) {
		if (streq(argv[3], "fsfreeze-freeze"))
			r = qga_fsfreeze_freeze(g, timeout, &count, &err);
		else
			r = qga_fsfreeze_thaw(g, timeout, &count, &err);
		if (r == 0)
			printf("%d\n", count);
	} else if (streq(argv[3], "fsfreeze-status")) {
		r = qga_fsfreeze_status(g, timeout, status, sizeof(status), &err);
		if (r == 0)
			printf("%s\n", status);
	} else if (streq(argv[3], "get-osinfo")) {
		r = qga_get_osinfo(g, timeout, &info, &err);
		if (r == 0)
			printf("%s\n",
			       json_object_to_json_string_ext(info, JSON_C_TO_STRING_PLAIN));
		json_object_put(info);
	} else {
		qga_close(g);
		return usage();
	}
	qga_close(g);
	return r < 0 ? fail(&err) : 0;
}

static int cmd_kvm(void)
{
	char why[128];
	bool usable = qemu_kvm_probe(why, sizeof(why));

	printf("%d %s\n", usable, why);
	return 0;
}

static int cmd_lxc_conf(int argc, char **argv)
{
	struct lxc_conf_opts o = { .resolve = lxc_resolver };
	struct drover_err err = { "" };
	struct guest_conf *c = NULL;
	struct buf out = BUF_INIT;
	int r;

	if (argc != 3)
		return usage();
	lxc_host_probe(&o);
	if (load("lxc", argv[2], &c, &err) < 0)
		return fail(&err);
	r = lxc_conf_generate(c, (uint32_t)strtoul(argv[1], NULL, 10), &o, &out, &err);
	guest_conf_free(c);
	if (r == 0)
		fwrite(out.data, 1, out.len, stdout);
	buf_free(&out);
	return r < 0 ? fail(&err) : 0;
}

int main(int argc, char **argv)
{
	if (argc > 2 && streq(argv[1], "--storage-dir")) {
		storage_dir = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc < 2)
		return usage();
	argc--;
	argv++;
	if (streq(argv[0], "check"))
		return cmd_check(argc, argv);
	if (streq(argv[0], "cmdline"))
		return cmd_cmdline(argc, argv);
	if (streq(argv[0], "run-dir"))
		return cmd_run_dir(argc, argv);
	if (streq(argv[0], "kvm"))
		return cmd_kvm();
	if (str_has_prefix(argv[0], "tap-"))
		return cmd_tap(argc, argv);
	if (streq(argv[0], "qmp"))
		return cmd_qmp(argc, argv);
	if (streq(argv[0], "agent"))
		return cmd_agent(argc, argv);
	if (streq(argv[0], "lxc-conf"))
		return cmd_lxc_conf(argc, argv);
	return usage();
}
