/* SPDX-License-Identifier: MIT */
/*
 * drover vm: Proxmox's qm verbs. Each parses its arguments and calls one
 * libdrover operation (libdrover/guest/vm.h); the long ones (start, stop,
 * shutdown, reboot, destroy, snapshot, rollback, delsnapshot) run as
 * tasks and end with TASK OK or TASK ERROR. The output of config, list,
 * status and listsnapshot is in vm_show.c, terminal and monitor in
 * vm_console.c.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/array.h"
#include "basic/util.h"
#include "libdrover/replication/guest_jobs.h"
#include "task_run.h"
#include "vm_cli.h"

int vm_usage_error(const char *cmd, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	cli_error("vm %s: %s (see 'drover vm %s --help')", cmd, text, cmd);
	return CLI_EXIT_USAGE;
}

int vm_parse_vmid(const char *cmd, const char *text, uint32_t *vmid)
{
	if (!text || vmid_parse_n(text, strlen(text), vmid) < 0) {
		vm_usage_error(cmd, "'%s' is not a VMID", text ? text : "");
		return -EINVAL;
	}
	return 0;
}

int vm_open(struct cli_context *ctx, struct vm_env *e)
{
	struct drover_err err = { "" };
	int r = vm_env_open(e, ctx->socket_path, getenv("DROVER_QEMU_RUN_DIR"), &err);

	if (r < 0) {
		cli_fail(&err, r);
		vm_env_close(e);
	}
	return r;
}

/* ---- create and set: --KEY VALUE pairs ---- */

struct kv_args {
	struct vm_opt *opts;
	size_t n;
	char **del;
	size_t n_del, cap_del;
	const char *digest;
};

static int add_delete(struct kv_args *a, const char *list)
{
	char *copy = strdup(list), *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *k = strtok_r(copy, ", ", &save); k; k = strtok_r(NULL, ", ", &save)) {
		if (ARRAY_GROW(a->del, a->cap_del, a->n_del + 2) < 0) /* and a NULL */
			return -ENOMEM;
		if (!(a->del[a->n_del++] = strdup(k)))
			return -ENOMEM;
	}
	free(copy);
	return 0;
}

static int parse_kv(const char *cmd, int argc, char **argv, int first, bool set, struct kv_args *a)
{
	memset(a, 0, sizeof(*a));
	a->opts = calloc((size_t)argc, sizeof(*a->opts));
	if (!a->opts)
		return -ENOMEM;
	for (int i = first; i < argc; i++) {
		const char *arg = argv[i], *eq, *value;
		char *key;

		if (!str_has_prefix(arg, "--") || !arg[2])
			return vm_usage_error(cmd, "unexpected argument '%s'", arg), -EINVAL;
		eq = strchr(arg, '=');
		if (!eq && i + 1 >= argc)
			return vm_usage_error(cmd, "%s needs a value", arg), -EINVAL;
		key = eq ? strndup(arg + 2, (size_t)(eq - arg - 2)) : strdup(arg + 2);
		value = eq ? eq + 1 : argv[++i];
		if (!key)
			return -ENOMEM;
		if (set && streq(key, "delete")) {
			free(key);
			if (add_delete(a, value) < 0)
				return -ENOMEM;
		} else if (set && streq(key, "digest")) {
			free(key);
			a->digest = value;
		} else {
			a->opts[a->n++] = (struct vm_opt){ key, value };
		}
	}
	return 0;
}

static void kv_free(struct kv_args *a)
{
	for (size_t i = 0; i < a->n; i++)
		free((char *)a->opts[i].key);
	for (size_t i = 0; i < a->n_del; i++)
		free(a->del[i]);
	free(a->opts);
	free(a->del);
}

static int create_or_set(struct cli_context *ctx, int argc, char **argv, bool set)
{
	const char *cmd = set ? "set" : "create";
	struct drover_err err = { "" };
	struct kv_args a;
	struct vm_env e;
	uint32_t vmid;
	int r;

	if (argc < 2 || vm_parse_vmid(cmd, argv[1], &vmid) < 0)
		return argc < 2 ? vm_usage_error(cmd, "a VMID is needed") : CLI_EXIT_USAGE;
	r = parse_kv(cmd, argc, argv, 2, set, &a);
	if (r < 0) {
		kv_free(&a);
		return r == -ENOMEM ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
	}
	if (set && !a.n && !a.n_del) {
		kv_free(&a);
		return vm_usage_error(cmd, "nothing to set");
	}
	if (vm_open(ctx, &e) < 0) {
		kv_free(&a);
		return CLI_EXIT_FAIL;
	}
	r = set ? vm_set(&e, vmid, a.opts, a.n, a.del, a.n_del, a.digest, &cli_reporter, &err)
		: vm_create(&e, vmid, a.opts, a.n, &cli_reporter, &err);
	vm_env_close(&e);
	kv_free(&a);
	return r < 0 ? cli_fail(&err, r) : CLI_EXIT_OK;
}

static int cmd_create(struct cli_context *ctx, int argc, char **argv)
{
	return create_or_set(ctx, argc, argv, false);
}

static int cmd_set(struct cli_context *ctx, int argc, char **argv)
{
	return create_or_set(ctx, argc, argv, true);
}

/* ---- the verbs that run as tasks ---- */

enum vm_verb {
	V_START,
	V_STOP,
	V_SHUTDOWN,
	V_REBOOT,
	V_DESTROY,
	V_SNAPSHOT,
	V_ROLLBACK,
	V_DELSNAP
};

struct verb_args {
	enum vm_verb verb;
	struct vm_env e;
	uint32_t vmid;
	unsigned timeout_s;
	bool force_stop, skiplock, purge, vmstate;
	const char *name, *description;
};

static int run_verb(void *arg, const struct drover_reporter *log, struct drover_err *err)
{
	struct verb_args *a = arg;

	switch (a->verb) {
	case V_START:
		return vm_start(&a->e, a->vmid, log, err);
	case V_STOP:
		return vm_stop(&a->e, a->vmid, a->timeout_s, a->skiplock, log, err);
	case V_SHUTDOWN:
		return vm_shutdown(&a->e, a->vmid, a->timeout_s, a->force_stop, a->skiplock, log,
				   err);
	case V_REBOOT:
		return vm_reboot(&a->e, a->vmid, a->timeout_s, log, err);
	case V_DESTROY: {
		struct repl_guest_destroy_req q = {
			.type = GUEST_QEMU, .vmid = a->vmid, .purge = a->purge, .vm = &a->e
		};

		return repl_guest_destroy(&q, log, err);
	}
	case V_SNAPSHOT:
		return vm_snapshot(&a->e, a->vmid, a->name, a->description, a->vmstate, log, err);
	case V_ROLLBACK:
		return vm_rollback(&a->e, a->vmid, a->name, log, err);
	case V_DELSNAP:
		return vm_delsnapshot(&a->e, a->vmid, a->name, log, err);
	}
	return -EINVAL;
}

static const char *const task_types[] = {
	[V_START] = "qmstart",	     [V_STOP] = "qmstop",	    [V_SHUTDOWN] = "qmshutdown",
	[V_REBOOT] = "qmreboot",     [V_DESTROY] = "qmdestroy",	    [V_SNAPSHOT] = "qmsnapshot",
	[V_ROLLBACK] = "qmrollback", [V_DELSNAP] = "qmdelsnapshot",
};

static int parse_verb(const char *cmd, int argc, char **argv, struct verb_args *a, bool wants_name)
{
	static const struct option longs[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "force-stop", no_argument, NULL, 'f' },
		{ "skiplock", no_argument, NULL, 's' },
		{ "purge", no_argument, NULL, 'p' },
		{ "vmstate", no_argument, NULL, 'v' },
		{ "description", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		bool ok = true;

		if (c == 't' && (a->verb == V_STOP || a->verb == V_SHUTDOWN || a->verb == V_REBOOT))
			ok = parse_u64(optarg, 86400, &v) == 0 &&
			     (a->timeout_s = (unsigned)v, true);
		else if (c == 'f' && a->verb == V_SHUTDOWN)
			a->force_stop = true;
		else if (c == 's' && (a->verb == V_STOP || a->verb == V_SHUTDOWN))
			a->skiplock = true;
		else if (c == 'p' && a->verb == V_DESTROY)
			a->purge = true;
		else if (c == 'v' && a->verb == V_SNAPSHOT)
			a->vmstate = true;
		else if (c == 'd' && a->verb == V_SNAPSHOT)
			a->description = optarg;
		else
			ok = false;
		if (!ok)
			return vm_usage_error(cmd, "bad option or value '%s'", argv[optind - 1]),
			       -EINVAL;
	}
	if (optind >= argc)
		return vm_usage_error(cmd, "a VMID is needed"), -EINVAL;
	if (vm_parse_vmid(cmd, argv[optind++], &a->vmid) < 0)
		return -EINVAL;
	if (wants_name) {
		if (optind >= argc)
			return vm_usage_error(cmd, "a snapshot name is needed"), -EINVAL;
		a->name = argv[optind++];
	}
	if (optind < argc)
		return vm_usage_error(cmd, "unexpected argument '%s'", argv[optind]), -EINVAL;
	return 0;
}

static int verb(struct cli_context *ctx, int argc, char **argv, enum vm_verb v, unsigned timeout_s)
{
	struct verb_args a = { .verb = v, .timeout_s = timeout_s };
	char id[16];
	bool named = v == V_SNAPSHOT || v == V_ROLLBACK || v == V_DELSNAP;
	int r;

	if (parse_verb(argv[0], argc, argv, &a, named) < 0)
		return CLI_EXIT_USAGE;
	if (vm_open(ctx, &a.e) < 0)
		return CLI_EXIT_FAIL;
	snprintf(id, sizeof(id), "%" PRIu32, a.vmid);
	r = cli_run_task(ctx, task_types[v], id, run_verb, &a);
	vm_env_close(&a.e);
	return r;
}

static int cmd_start(struct cli_context *ctx, int argc, char **argv)
{
	return verb(ctx, argc, argv, V_START, 0);
}

static int cmd_stop(struct cli_context *ctx, int argc, char **argv)
{
	return verb(ctx, argc, argv, V_STOP, VM_STOP_TIMEOUT_S);
}

static int cmd_shutdown(struct cli_context *ctx, int argc, char **argv)
{
	return verb(ctx, argc, argv, V_SHUTDOWN, VM_SHUTDOWN_TIMEOUT_S);
}

static int cmd_reboot(struct cli_context *ctx, int argc, char **argv)
{
	return verb(ctx, argc, argv, V_REBOOT, VM_SHUTDOWN_TIMEOUT_S);
}

static int cmd_destroy(struct cli_context *ctx, int argc, char **argv)
{
	return verb(ctx, argc, argv, V_DESTROY, 0);
}

static int cmd_snapshot(struct cli_context *ctx, int argc, char **argv)
{
	return verb(ctx, argc, argv, V_SNAPSHOT, 0);
}

static int cmd_rollback(struct cli_context *ctx, int argc, char **argv)
{
	return verb(ctx, argc, argv, V_ROLLBACK, 0);
}

static int cmd_delsnapshot(struct cli_context *ctx, int argc, char **argv)
{
	return verb(ctx, argc, argv, V_DELSNAP, 0);
}

/* ---- short verbs: VMID and fixed arguments ---- */

static int short_verb(struct cli_context *ctx, int argc, char **argv, int nargs,
		      int (*fn)(struct vm_env *e, uint32_t vmid, char **args,
				struct drover_err *err))
{
	struct drover_err err = { "" };
	struct vm_env e;
	uint32_t vmid;
	int r;

	if (argc != 2 + nargs)
		return vm_usage_error(argv[0], "%s",
				      argc < 2 + nargs ? "missing arguments"
						       : "too many arguments");
	if (vm_parse_vmid(argv[0], argv[1], &vmid) < 0)
		return CLI_EXIT_USAGE;
	if (vm_open(ctx, &e) < 0)
		return CLI_EXIT_FAIL;
	r = fn(&e, vmid, argv + 2, &err);
	vm_env_close(&e);
	return r < 0 ? cli_fail(&err, r) : CLI_EXIT_OK;
}

static int do_suspend(struct vm_env *e, uint32_t vmid, char **args, struct drover_err *err)
{
	(void)args;
	return vm_suspend(e, vmid, err);
}

static int do_resume(struct vm_env *e, uint32_t vmid, char **args, struct drover_err *err)
{
	(void)args;
	return vm_resume(e, vmid, err);
}

static int do_unlock(struct vm_env *e, uint32_t vmid, char **args, struct drover_err *err)
{
	(void)args;
	return vm_unlock(e, vmid, err);
}

static int do_resize(struct vm_env *e, uint32_t vmid, char **args, struct drover_err *err)
{
	return vm_resize(e, vmid, args[0], args[1], &cli_reporter, err);
}

static int do_agent(struct vm_env *e, uint32_t vmid, char **args, struct drover_err *err)
{
	struct json_object *res = NULL;
	int r = vm_agent(e, vmid, args[0], 30000, &res, err);

	if (r == 0 && res)
		printf("%s\n", json_object_to_json_string_ext(
				       res, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
	json_object_put(res);
	return r;
}

static int cmd_suspend(struct cli_context *ctx, int argc, char **argv)
{
	return short_verb(ctx, argc, argv, 0, do_suspend);
}

static int cmd_resume(struct cli_context *ctx, int argc, char **argv)
{
	return short_verb(ctx, argc, argv, 0, do_resume);
}

static int cmd_unlock(struct cli_context *ctx, int argc, char **argv)
{
	return short_verb(ctx, argc, argv, 0, do_unlock);
}

static int cmd_resize(struct cli_context *ctx, int argc, char **argv)
{
	return short_verb(ctx, argc, argv, 2, do_resize);
}

static int cmd_agent(struct cli_context *ctx, int argc, char **argv)
{
	return short_verb(ctx, argc, argv, 1, do_agent);
}

/* ---- the table ---- */

#define cmd_config vm_cmd_config
#define cmd_list vm_cmd_list
#define cmd_showcmd vm_cmd_showcmd
#define cmd_status vm_cmd_status
#define cmd_listsnapshot vm_cmd_listsnapshot
#define cmd_terminal vm_cmd_terminal
#define cmd_monitor vm_cmd_monitor

#define ROOT_Q (CLI_NEED_ROOT | CLI_NEED_QUORATE)
#define ROOT_C (CLI_NEED_ROOT | CLI_NEED_CFS)

#define VM_CMD(n, need, fn, sum, use)                                                   \
	static const struct cli_command vm_##fn##_cmd = {                               \
		.name = n, .needs = need, .summary = sum, .usage = use, .run = cmd_##fn \
	}

VM_CMD("create", ROOT_Q, create, "create a VM on this node",
       "Usage: drover vm create VMID [--KEY VALUE]...\n"
       "\n"
       "Create VM VMID on this node with the config keys given as options\n"
       "(--name, --memory, --cores, --net0, --scsi0, --agent, --onboot, --args ...;\n"
       "see drover-vm(1) and docs/guest-config.md). A disk given as STORE:SIZE\n"
       "(SIZE in GiB, or with a unit: STORE:64M) is allocated on storage STORE;\n"
       "a NIC without a MAC address gets one. The VMID must be free on every\n"
       "node of the cluster, as a VM or a container.\n");
VM_CMD("set", ROOT_Q, set, "change a VM's config",
       "Usage: drover vm set VMID [--KEY VALUE]... [--delete KEY[,KEY...]] [--digest SHA1]\n"
       "\n"
       "Set config keys (new disks as with create) and delete others. With --digest,\n"
       "refused when the config is no longer the one with that digest. A locked VM\n"
       "is refused. Changes apply at the next start.\n");
VM_CMD("config", CLI_NEED_CFS, config, "show a VM's config",
       "Usage: drover vm config VMID [--current] [--snapshot NAME] [--output-format text|json]\n"
       "\n"
       "The VM's config, key by key. --snapshot NAME: the config of that snapshot.\n"
       "--current: the current values (drover applies no pending changes, so this is\n"
       "what is shown anyway). JSON adds the digest.\n");
VM_CMD("list", CLI_NEED_CFS, list, "the cluster's VMs with their node and state",
       "Usage: drover vm list [--output-format text|json]\n"
       "\n"
       "Every VM of the cluster: VMID, name, node, status, memory, boot disk size\n"
       "and pid. This node's VMs' state comes from the host; other nodes' from the\n"
       "status their droverd publishes (\"unknown\" when none).\n");
VM_CMD("showcmd", ROOT_C, showcmd, "print the QEMU command line of a VM",
       "Usage: drover vm showcmd VMID [--pretty]\n"
       "\n"
       "Print the QEMU command line that 'drover vm start' would run for the VM now\n"
       "(KVM or TCG as probed here, its volumes resolved), shell-quoted, so that it\n"
       "can be run by hand. --pretty: one option and its value per line. Nothing is\n"
       "created or started (a start also makes the NICs' tap devices first).\n");
VM_CMD("start", ROOT_Q, start, "start a VM (a task)",
       "Usage: drover vm start VMID\n"
       "\n"
       "Make its NICs' tap devices on their bridges, start QEMU (KVM where it works,\n"
       "TCG otherwise) and wait until QMP reports it running. A locked VM is refused.\n"
       "Runs as a task: its log is printed, ending with TASK OK or TASK ERROR.\n");
VM_CMD("stop", ROOT_C, stop, "stop a VM hard (a task)",
       "Usage: drover vm stop VMID [--timeout SECONDS] [--skiplock]\n"
       "\n"
       "Tell QEMU to quit (the guest is not asked), wait --timeout seconds\n"
       "(default 5), then kill it. A stopped VM is no error. Runs as a task.\n");
VM_CMD("shutdown", ROOT_C, shutdown, "shut a VM down cleanly (a task)",
       "Usage: drover vm shutdown VMID [--timeout SECONDS] [--force-stop] [--skiplock]\n"
       "\n"
       "Ask the guest to power off (through its guest agent with agent: 1, else the\n"
       "ACPI power button) and wait --timeout seconds (default 180); then fail, or\n"
       "with --force-stop stop it hard. Runs as a task.\n");
VM_CMD("reboot", ROOT_Q, reboot, "shut a VM down and start it again (a task)",
       "Usage: drover vm reboot VMID [--timeout SECONDS]\n"
       "\n"
       "Shutdown (stopped hard after --timeout, default 180 s), then start, so that\n"
       "config changes apply. Runs as a task.\n");
VM_CMD("suspend", ROOT_C, suspend, "pause a VM's CPUs",
       "Usage: drover vm suspend VMID\n\nPause the VM's CPUs (QMP stop).\n");
VM_CMD("resume", ROOT_C, resume, "resume a paused VM",
       "Usage: drover vm resume VMID\n\nLet a suspended VM run on (QMP cont).\n");
VM_CMD("status", CLI_NEED_CFS, status, "a VM's state",
       "Usage: drover vm status VMID [--verbose] [--output-format text|json]\n"
       "\n"
       "running or stopped; --verbose adds pid, uptime, memory, CPU time, disk size,\n"
       "lock and QEMU's own run state (qmpstatus).\n");
VM_CMD("destroy", ROOT_Q, destroy, "destroy a VM and free its volumes (a task)",
       "Usage: drover vm destroy VMID [--purge]\n"
       "\n"
       "Free every volume the VM owns (attached, unused and in snapshots) and remove\n"
       "its config. Refused while it runs, while protection: 1 or a lock is set,\n"
       "and while replication jobs name it unless --purge: then they are removed\n"
       "from replication.cfg after it (the replicas on the targets stay).\n"
       "Runs as a task.\n");
VM_CMD("snapshot", ROOT_Q, snapshot, "snapshot a VM's disks and config (a task)",
       "Usage: drover vm snapshot VMID NAME [--description TEXT] [--vmstate]\n"
       "\n"
       "Snapshot every disk (file systems frozen through the guest agent while it\n"
       "runs) and keep the config as section [NAME], under lock: snapshot.\n"
       "With --vmstate and a running VM, its RAM too: the VM is paused, its disks\n"
       "snapshotted and its state saved to a volume vm-VMID-state-NAME on its first\n"
       "disk's storage, then it runs on. Runs as a task.\n");
VM_CMD("rollback", ROOT_Q, rollback, "roll a stopped VM back to a snapshot (a task)",
       "Usage: drover vm rollback VMID NAME\n"
       "\n"
       "Roll every disk and the config back to snapshot NAME, under lock: rollback.\n"
       "The VM must be stopped. A snapshot taken with --vmstate starts it again\n"
       "from its saved RAM state, running where it was. Runs as a task.\n");
VM_CMD("delsnapshot", ROOT_Q, delsnapshot, "delete a snapshot (a task)",
       "Usage: drover vm delsnapshot VMID NAME\n"
       "\n"
       "Delete snapshot NAME from every disk and from the config. Runs as a task.\n");
VM_CMD("listsnapshot", CLI_NEED_CFS, listsnapshot, "a VM's snapshots as a tree",
       "Usage: drover vm listsnapshot VMID [--output-format text|json]\n"
       "\n"
       "The snapshots with their time and description, as a tree by parent, and\n"
       "where the current state is.\n");
VM_CMD("unlock", ROOT_Q, unlock, "clear a VM's lock",
       "Usage: drover vm unlock VMID\n"
       "\n"
       "Remove the config's lock: (left by an operation that failed half-way).\n");
VM_CMD("agent", ROOT_C, agent, "a guest agent command",
       "Usage: drover vm agent VMID ping|fsfreeze-freeze|fsfreeze-thaw|fsfreeze-status|get-osinfo\n"
       "\n"
       "Run a command of the QEMU guest agent in the VM (agent: 1) and print its\n"
       "answer as JSON (nothing for ping).\n");
VM_CMD("resize", ROOT_Q, resize, "grow a VM's disk",
       "Usage: drover vm resize VMID DISK SIZE\n"
       "\n"
       "Grow DISK (scsi0, virtio0, ...) to SIZE, or by it with a leading + (+1G).\n"
       "A running VM sees the new size at once.\n");
VM_CMD("terminal", ROOT_C, terminal, "the VM's serial console",
       "Usage: drover vm terminal VMID [--iface serialN]\n"
       "\n"
       "Connect the terminal to the VM's serial console (serial0: socket). Ctrl-O\n"
       "leaves. Without a terminal on stdin, what stdin holds is sent and the\n"
       "console's output printed until a second passes without any.\n");
VM_CMD("monitor", ROOT_C, monitor, "a QMP shell to the VM's QEMU",
       "Usage: drover vm monitor VMID\n"
       "\n"
       "Read lines \"COMMAND [ARGUMENTS-JSON]\" from stdin, run each as a QMP command\n"
       "and print its answer as JSON. 'quit' of the shell: an empty line or EOF.\n");

static const struct cli_command *const vm_cmds[] = {
	&vm_create_cmd,	      &vm_set_cmd,	&vm_config_cmd,	  &vm_list_cmd,
	&vm_showcmd_cmd,      &vm_start_cmd,	&vm_stop_cmd,	  &vm_shutdown_cmd,
	&vm_reboot_cmd,	      &vm_suspend_cmd,	&vm_resume_cmd,	  &vm_status_cmd,
	&vm_destroy_cmd,      &vm_snapshot_cmd, &vm_rollback_cmd, &vm_delsnapshot_cmd,
	&vm_listsnapshot_cmd, &vm_unlock_cmd,	&vm_agent_cmd,	  &vm_resize_cmd,
	&vm_terminal_cmd,     &vm_monitor_cmd,	&vm_recover_cmd,  NULL,
};

const struct cli_command cli_vm_group = {
	.name = "vm",
	.summary = "QEMU/KVM virtual machines (Proxmox's qm)",
	.usage = "Usage: drover vm COMMAND [ARGS...]\n"
		 "\n"
		 "Create, start, stop, snapshot and destroy VMs, with the habits of\n"
		 "Proxmox's qm. See drover-vm(1).\n",
	.subcommands = vm_cmds,
};
