/* SPDX-License-Identifier: MIT */
/*
 * drover ct: containers with pct's verbs (see drover-ct(1)). Long
 * operations (create, start, stop, shutdown, destroy, snapshots) run as
 * tasks and print their log, ending with TASK OK or TASK ERROR; enter and
 * exec become lxc-attach; the output commands are in ct_show.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/util.h"
#include "ct_cli.h"
#include "libdrover/replication/guest_jobs.h"
#include "task_run.h"

/* What a task's worker needs (it is forked: the parent's env is its own copy). */
struct ct_job {
	const char *verb;
	struct ct_args a;
	struct storage_env env;
};

static int job_run(void *arg, const struct drover_reporter *log, struct drover_err *err)
{
	struct ct_job *j = arg;
	struct ct_args *a = &j->a;

	if (streq(j->verb, "create"))
		return ct_create(&j->env, a->ctid, a->pos[0], a->kv, a->nkv, log, err);
	if (streq(j->verb, "start"))
		return ct_start(a->ctid, log, err);
	if (streq(j->verb, "stop"))
		return ct_stop(a->ctid, log, err);
	if (streq(j->verb, "shutdown"))
		return ct_shutdown(a->ctid, a->timeout_s, a->force_stop, log, err);
	if (streq(j->verb, "destroy")) {
		struct repl_guest_destroy_req q = {
			.type = GUEST_LXC, .vmid = a->ctid, .purge = a->purge, .env = &j->env
		};

		return repl_guest_destroy(&q, log, err);
	}
	if (streq(j->verb, "snapshot"))
		return ct_snapshot(&j->env, a->ctid, a->pos[0], a->kv[0].value, log, err);
	if (streq(j->verb, "rollback"))
		return ct_rollback(&j->env, a->ctid, a->pos[0], log, err);
	if (streq(j->verb, "delsnapshot"))
		return ct_delsnapshot(&j->env, a->ctid, a->pos[0], log, err);
	return drover_fail(err, -EINVAL, "no such operation: %s", j->verb);
}

/* Parse, open the storage environment, run the verb as task TYPE. */
static int run_job(struct cli_context *ctx, int argc, char **argv, const char *type, unsigned npos,
		   bool keys)
{
	struct ct_job *j = calloc(1, sizeof(*j));
	struct drover_err err = { "" };
	char id[16];
	int r;

	if (!j)
		return CLI_EXIT_FAIL;
	j->verb = argv[0];
	if (ct_parse(argv[0], argc, argv, true, npos, keys, &j->a) < 0) {
		free(j);
		return CLI_EXIT_USAGE;
	}
	r = storage_env_open(&j->env, ctx->socket_path, &err);
	if (r < 0) {
		free(j);
		return cli_fail(&err, r);
	}
	snprintf(id, sizeof(id), "%" PRIu32, j->a.ctid);
	r = cli_run_task(ctx, type, id, job_run, j);
	storage_env_close(&j->env);
	free(j);
	return r;
}

static int cmd_create(struct cli_context *ctx, int argc, char **argv)
{
	return run_job(ctx, argc, argv, "vzcreate", 1, true);
}

static int cmd_start(struct cli_context *ctx, int argc, char **argv)
{
	return run_job(ctx, argc, argv, "vzstart", 0, false);
}

static int cmd_stop(struct cli_context *ctx, int argc, char **argv)
{
	return run_job(ctx, argc, argv, "vzstop", 0, false);
}

static int cmd_shutdown(struct cli_context *ctx, int argc, char **argv)
{
	return run_job(ctx, argc, argv, "vzshutdown", 0, false);
}

static int cmd_destroy(struct cli_context *ctx, int argc, char **argv)
{
	return run_job(ctx, argc, argv, "vzdestroy", 0, false);
}

static int cmd_snapshot(struct cli_context *ctx, int argc, char **argv)
{
	/* --description is the only key snapshot takes */
	for (int i = 1; i < argc; i++)
		if (str_has_prefix(argv[i], "--") && !str_has_prefix(argv[i], "--description") &&
		    !streq(argv[i], "--")) {
			cli_error("ct snapshot: unknown option '%s'", argv[i]);
			return CLI_EXIT_USAGE;
		}
	return run_job(ctx, argc, argv, "vzsnapshot", 1, true);
}

static int cmd_rollback(struct cli_context *ctx, int argc, char **argv)
{
	return run_job(ctx, argc, argv, "vzrollback", 1, false);
}

static int cmd_delsnapshot(struct cli_context *ctx, int argc, char **argv)
{
	return run_job(ctx, argc, argv, "vzdelsnapshot", 1, false);
}

static int cmd_set(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	struct ct_args a;
	int r;

	(void)ctx;
	if (ct_parse("set", argc, argv, true, 0, true, &a) < 0)
		return CLI_EXIT_USAGE;
	if (!a.nkv && !a.del) {
		cli_error("ct set: nothing to change (--KEY VALUE or --delete KEYS)");
		return CLI_EXIT_USAGE;
	}
	r = ct_set(a.ctid, a.kv, a.nkv, a.del, a.digest, &err);
	return r < 0 ? cli_fail(&err, r) : CLI_EXIT_OK;
}

static int cmd_unlock(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	struct ct_args a;
	int r;

	(void)ctx;
	if (ct_parse("unlock", argc, argv, true, 0, false, &a) < 0)
		return CLI_EXIT_USAGE;
	r = ct_unlock(a.ctid, &err);
	return r < 0 ? cli_fail(&err, r) : CLI_EXIT_OK;
}

/* enter and exec: lxc-attach in our place (the terminal, stdin and exit status are its). */
static int attach(const char *verb, int argc, char **argv)
{
	struct drover_err err = { "" };
	struct ct_args a;
	char id[16], **v = NULL;
	int r;

	if (ct_parse(verb, argc, argv, true, 0, false, &a) < 0)
		return CLI_EXIT_USAGE;
	if (streq(verb, "exec") && (!a.cmd || !a.cmd[0])) {
		cli_error("ct exec: no command (drover ct exec CTID -- CMD [ARGS...])");
		return CLI_EXIT_USAGE;
	}
	r = ct_attach_argv(a.ctid, streq(verb, "exec") ? a.cmd : NULL, id, &v, &err);
	if (r < 0)
		return cli_fail(&err, r);
	fflush(NULL);
	execvp(v[0], v);
	cli_error("running %s: %s", v[0], strerror(errno));
	free(v);
	return CLI_EXIT_FAIL;
}

static int cmd_enter(struct cli_context *ctx, int argc, char **argv)
{
	(void)ctx;
	return attach("enter", argc, argv);
}

static int cmd_exec(struct cli_context *ctx, int argc, char **argv)
{
	(void)ctx;
	return attach("exec", argc, argv);
}

static int cmd_template(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	struct storage_env env;
	struct ct_args a;
	char volid[600];
	int r;

	if (ct_parse("template", argc, argv, false, 1, false, &a) < 0)
		return CLI_EXIT_USAGE;
	if (!streq(a.pos[0], "busybox")) {
		cli_error("ct template: '%s' is not a template drover can make (busybox)",
			  a.pos[0]);
		return CLI_EXIT_USAGE;
	}
	r = storage_env_open(&env, ctx->socket_path, &err);
	if (r == 0) {
		r = ct_template_busybox(&env, a.storage, a.name, volid, sizeof(volid),
					&cli_reporter, &err);
		storage_env_close(&env);
	}
	if (r < 0)
		return cli_fail(&err, r);
	printf("%s\n", volid);
	return CLI_EXIT_OK;
}

#define NEED_WRITE (CLI_NEED_ROOT | CLI_NEED_QUORATE)
#define NEED_HERE (CLI_NEED_ROOT | CLI_NEED_CFS)

static const struct cli_command ct_template_cmd = {
	.name = "template",
	.summary = "make a container template (busybox)",
	.needs = NEED_WRITE,
	.run = cmd_template,
	.usage = "Usage: drover ct template busybox [--storage ID] [--name NAME.tar.gz]\n"
		 "\n"
		 "Make a small root file system tarball from the host's busybox-static (a\n"
		 "shell, the busybox applets, an init) and store it as the template volume\n"
		 "ID:vztmpl/NAME (default local:vztmpl/busybox.tar.gz), on a storage whose\n"
		 "content includes vztmpl. Prints the volume ID.\n",
};

static const struct cli_command ct_create_cmd = {
	.name = "create",
	.summary = "create a container from a template",
	.needs = NEED_WRITE,
	.run = cmd_create,
	.usage = "Usage: drover ct create CTID TEMPLATE --rootfs STORE:SIZE_GB [--hostname NAME]\n"
		 "           [--memory MIB] [--swap MIB] [--cores N]\n"
		 "           [--net0 name=eth0,bridge=vmbr0,ip=CIDR,gw=IP] [--unprivileged 0|1]\n"
		 "           [--onboot 0|1] [--protection 0|1] [--KEY VALUE ...]\n"
		 "\n"
		 "Create container CTID (unique in the cluster) on this node from TEMPLATE\n"
		 "(STORE:vztmpl/NAME.tar.gz). The root file system is a new volume on STORE:\n"
		 "a btrfs subvolume on btrfs storage, a raw image with ext4 on dir storage.\n"
		 "Any config key can be given as --KEY VALUE. A NIC without hwaddr gets one;\n"
		 "its bridge must exist. Runs as a task; on failure nothing is left.\n",
};

static const struct cli_command ct_set_cmd = {
	.name = "set",
	.summary = "change a container's config",
	.needs = NEED_WRITE,
	.run = cmd_set,
	.usage = "Usage: drover ct set CTID [--KEY VALUE ...] [--delete KEY[,KEY...]]\n"
		 "           [--digest SHA1]\n"
		 "\n"
		 "Set and delete config keys in one change under the container's lock\n"
		 "(refused while another operation holds lock:). --digest: refuse if the\n"
		 "config changed since it had that digest. Volumes are not changed here.\n",
};

static const struct cli_command ct_config_cmd = {
	.name = "config",
	.summary = "show a container's config",
	.needs = CLI_NEED_CFS,
	.run = ct_cmd_config,
	.usage = "Usage: drover ct config CTID [--current] [--snapshot NAME]\n"
		 "           [--output-format text|json]\n"
		 "\n"
		 "The config of container CTID (this node's), or of its snapshot NAME.\n"
		 "--current is the config as it is now (pending changes are not used by\n"
		 "containers).\n",
};

static const struct cli_command ct_list_cmd = {
	.name = "list",
	.summary = "list the cluster's containers",
	.needs = CLI_NEED_CFS,
	.run = ct_cmd_list,
	.usage = "Usage: drover ct list [--output-format text|json]\n"
		 "\n"
		 "Every container of the cluster: VMID, state (this node's read from LXC,\n"
		 "other nodes' from the status their droverd publishes), lock, host name\n"
		 "and node.\n",
};

static const struct cli_command ct_start_cmd = {
	.name = "start",
	.summary = "start a container",
	.needs = NEED_WRITE, /* as pct: no start without quorum (it may run elsewhere) */
	.run = cmd_start,
	.usage = "Usage: drover ct start CTID\n"
		 "\n"
		 "Generate the LXC config from the container's config and start it with\n"
		 "lxc-start; done when LXC reports it RUNNING. A locked container is refused.\n",
};

static const struct cli_command ct_stop_cmd = {
	.name = "stop",
	.summary = "stop a container at once",
	.needs = NEED_HERE,
	.run = cmd_stop,
	.usage = "Usage: drover ct stop CTID\n"
		 "\n"
		 "Kill the container's processes (lxc-stop --kill). A stopped container is\n"
		 "no error.\n",
};

static const struct cli_command ct_shutdown_cmd = {
	.name = "shutdown",
	.summary = "shut a container down cleanly",
	.needs = NEED_HERE,
	.run = cmd_shutdown,
	.usage = "Usage: drover ct shutdown CTID [--timeout SECONDS] [--force-stop]\n"
		 "\n"
		 "Ask the container's init to power off and wait up to --timeout seconds\n"
		 "(default 60). If it is still running then: with --force-stop it is\n"
		 "stopped, otherwise the task fails.\n",
};

static const struct cli_command ct_status_cmd = {
	.name = "status",
	.summary = "show whether a container runs",
	.needs = CLI_NEED_CFS,
	.run = ct_cmd_status,
	.usage = "Usage: drover ct status CTID [--verbose] [--output-format text|json]\n"
		 "\n"
		 "\"status: running\" or \"status: stopped\"; --verbose adds its init's pid,\n"
		 "uptime, CPU time and memory.\n",
};

static const struct cli_command ct_enter_cmd = {
	.name = "enter",
	.summary = "open a shell in a container",
	.needs = NEED_HERE,
	.run = cmd_enter,
	.usage = "Usage: drover ct enter CTID\n"
		 "\n"
		 "A login shell inside the running container (lxc-attach).\n",
};

static const struct cli_command ct_exec_cmd = {
	.name = "exec",
	.summary = "run a command in a container",
	.needs = NEED_HERE,
	.run = cmd_exec,
	.usage = "Usage: drover ct exec CTID -- COMMAND [ARGS...]\n"
		 "\n"
		 "Run COMMAND inside the running container (lxc-attach, a clean\n"
		 "environment); its output and exit status are the command's.\n",
};

static const struct cli_command ct_destroy_cmd = {
	.name = "destroy",
	.summary = "destroy a container and its volumes",
	.needs = NEED_WRITE,
	.run = cmd_destroy,
	.usage = "Usage: drover ct destroy CTID [--purge]\n"
		 "\n"
		 "Free the container's volumes (with their snapshots) and remove its\n"
		 "config. Refused while it runs, is locked or has protection: 1, and\n"
		 "while replication jobs name it unless --purge: then they are removed\n"
		 "from replication.cfg after it (the replicas on the targets stay).\n",
};

static const struct cli_command ct_snapshot_cmd = {
	.name = "snapshot",
	.summary = "take a snapshot",
	.needs = NEED_WRITE,
	.run = cmd_snapshot,
	.usage = "Usage: drover ct snapshot CTID NAME [--description TEXT]\n"
		 "\n"
		 "Snapshot the container's volumes (a running one is frozen meanwhile) and\n"
		 "keep its config as section [NAME], under lock: snapshot.\n",
};

static const struct cli_command ct_rollback_cmd = {
	.name = "rollback",
	.summary = "go back to a snapshot",
	.needs = NEED_WRITE,
	.run = cmd_rollback,
	.usage = "Usage: drover ct rollback CTID NAME\n"
		 "\n"
		 "Put the volumes and the config of the stopped container back to\n"
		 "snapshot NAME, under lock: rollback.\n",
};

static const struct cli_command ct_delsnapshot_cmd = {
	.name = "delsnapshot",
	.summary = "delete a snapshot",
	.needs = NEED_WRITE,
	.run = cmd_delsnapshot,
	.usage = "Usage: drover ct delsnapshot CTID NAME\n"
		 "\n"
		 "Delete snapshot NAME of the volumes and its config section, under\n"
		 "lock: snapshot-delete; its children take its parent.\n",
};

static const struct cli_command ct_listsnapshot_cmd = {
	.name = "listsnapshot",
	.summary = "list a container's snapshots",
	.needs = CLI_NEED_CFS,
	.run = ct_cmd_listsnapshot,
	.usage = "Usage: drover ct listsnapshot CTID [--output-format text|json]\n"
		 "\n"
		 "The snapshots of the container with their parent, time and description,\n"
		 "and \"current\" (the config now) under its parent.\n",
};

static const struct cli_command ct_unlock_cmd = {
	.name = "unlock",
	.summary = "remove a container's lock",
	.needs = NEED_WRITE,
	.run = cmd_unlock,
	.usage = "Usage: drover ct unlock CTID\n"
		 "\n"
		 "Remove the lock: an operation left in the config (one that died).\n",
};

static const struct cli_command *const ct_cmds[] = {
	&ct_template_cmd,
	&ct_create_cmd,
	&ct_set_cmd,
	&ct_config_cmd,
	&ct_list_cmd,
	&ct_start_cmd,
	&ct_stop_cmd,
	&ct_shutdown_cmd,
	&ct_status_cmd,
	&ct_enter_cmd,
	&ct_exec_cmd,
	&ct_destroy_cmd,
	&ct_snapshot_cmd,
	&ct_rollback_cmd,
	&ct_delsnapshot_cmd,
	&ct_listsnapshot_cmd,
	&ct_unlock_cmd,
	&ct_recover_cmd,
	NULL,
};

const struct cli_command cli_ct_group = {
	.name = "ct",
	.summary = "containers (LXC): create, start, stop, snapshot, destroy",
	.usage = "Usage: drover ct COMMAND [ARGS...]\n"
		 "\n"
		 "Containers with the verbs of Proxmox's pct: configs in droverfs\n"
		 "(nodes/NODE/lxc/CTID.conf), roots on storage volumes, run by LXC.\n"
		 "See drover-ct(1).\n",
	.subcommands = ct_cmds,
};
