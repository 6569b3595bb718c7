/* SPDX-License-Identifier: MIT */
/* drover storage status, config, add, set, remove: storage.cfg and what it describes. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "storage_cli.h"

#define EDITS_MAX 32

/* ---- status ----------------------------------------------------------- */

static struct json_object *state_json(const struct storage_state *s)
{
	struct json_object *o = json_object_new_object();
	char content[128];

	storage_content_format(s->p->content, content, sizeof(content));
	json_object_object_add(o, "storage", json_object_new_string(s->p->id));
	json_object_object_add(o, "type", json_object_new_string(s->p->type));
	json_object_object_add(o, "status", json_object_new_string(s->status));
	json_object_object_add(o, "active", json_object_new_boolean(streq(s->status, "active")));
	json_object_object_add(o, "enabled", json_object_new_boolean(!s->p->disable));
	json_object_object_add(o, "shared", json_object_new_boolean(s->p->shared));
	json_object_object_add(o, "content", json_object_new_string(content));
	json_object_object_add(o, "total", json_object_new_int64((int64_t)s->st.total));
	json_object_object_add(o, "used", json_object_new_int64((int64_t)s->st.used));
	json_object_object_add(o, "avail", json_object_new_int64((int64_t)s->st.avail));
	if (s->error[0])
		json_object_object_add(o, "error", json_object_new_string(s->error));
	return o;
}

static void state_line(const struct storage_state *s)
{
	char total[32] = "-", used[32] = "-", avail[32] = "-", pct[16] = "-";

	if (s->st.total) {
		format_size(s->st.total, total, sizeof(total));
		format_size(s->st.used, used, sizeof(used));
		format_size(s->st.avail, avail, sizeof(avail));
		snprintf(pct, sizeof(pct), "%.1f%%",
			 100.0 * (double)s->st.used / (double)s->st.total);
	}
	printf("%-16s %-8s %-16s %11s %11s %11s %6s\n", s->p->id, s->p->type, s->status, total,
	       used, avail, pct);
	if (s->error[0])
		printf("  %s\n", s->error);
}

static int cmd_status(struct cli_context *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "output-format", required_argument, NULL, 'o' },
					      { NULL, 0, NULL, 0 } };
	struct storage_env env;
	struct json_object *list = NULL;
	int c, mode = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (c != 'o' || (mode = cli_output_format(optarg)) < 0)
			return CLI_EXIT_USAGE;
	if (optind != argc) {
		cli_error("storage status takes no arguments (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (storage_cli_env(ctx, &env) < 0)
		return CLI_EXIT_FAIL;
	if (mode)
		list = json_object_new_array();
	else
		printf("%-16s %-8s %-16s %11s %11s %11s %6s\n", "Name", "Type", "Status", "Total",
		       "Used", "Available", "%");
	for (size_t i = 0; i < env.cfg.n; i++) {
		struct storage_state s;

		storage_probe(&env, &env.cfg.stores[i], &s);
		if (mode)
			json_object_array_add(list, state_json(&s));
		else
			state_line(&s);
	}
	if (mode)
		storage_cli_print_json(list, mode);
	storage_env_close(&env);
	return CLI_EXIT_OK;
}

const struct cli_command storage_status_cmd = {
	.name = "status",
	.summary = "every storage: type, state, size, use",
	.usage = "Usage: drover storage status [--output-format text|json|json-pretty]\n"
		 "\n"
		 "Shows each storage of storage.cfg as this node sees it: active (usable\n"
		 "here), inactive (with the reason), disabled, or not on this node (its\n"
		 "`nodes` leave it out); its total, used and available bytes.\n",
	.run = cmd_status,
};

/* ---- config ----------------------------------------------------------- */

static struct json_object *config_json(const struct storage_cfg *cfg)
{
	struct json_object *o = json_object_new_object(), *list = json_object_new_array();

	json_object_object_add(o, "digest", json_object_new_string(cfg->digest));
	for (size_t i = 0; i < cfg->file.n; i++) {
		const struct sc_section *s = &cfg->file.sections[i];
		struct json_object *one = json_object_new_object();

		json_object_object_add(one, "storage", json_object_new_string(s->id));
		json_object_object_add(one, "type", json_object_new_string(s->type));
		for (size_t k = 0; k < s->n; k++)
			json_object_object_add(one, s->props[k].key,
					       json_object_new_string(s->props[k].value
									      ? s->props[k].value
									      : "1"));
		json_object_array_add(list, one);
	}
	json_object_object_add(o, "storages", list);
	return o;
}

static int cmd_config(struct cli_context *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "output-format", required_argument, NULL, 'o' },
					      { NULL, 0, NULL, 0 } };
	struct storage_env env;
	struct buf text = BUF_INIT;
	int c, mode = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (c != 'o' || (mode = cli_output_format(optarg)) < 0)
			return CLI_EXIT_USAGE;
	if (optind != argc) {
		cli_error("storage config takes no arguments (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (storage_cli_env(ctx, &env) < 0)
		return CLI_EXIT_FAIL;
	if (mode) {
		storage_cli_print_json(config_json(&env.cfg), mode);
	} else if (storage_cfg_write(&env.cfg, &text) == 0) {
		printf("# digest %s\n", env.cfg.digest);
		fwrite(text.data, 1, text.len, stdout);
	}
	buf_free(&text);
	storage_env_close(&env);
	return CLI_EXIT_OK;
}

const struct cli_command storage_config_cmd = {
	.name = "config",
	.summary = "storage.cfg as it is, with its digest",
	.usage = "Usage: drover storage config [--output-format text|json|json-pretty]\n"
		 "\n"
		 "Prints storage.cfg (the built-in `local` dir storage when the cluster has\n"
		 "no storage.cfg yet) after a line with its digest (SHA-1). Give the digest\n"
		 "to add, set or remove (--digest) to refuse the change if someone else\n"
		 "changed storage.cfg since you looked.\n",
	.run = cmd_config,
};

/* ---- add, set, remove ------------------------------------------------- */

struct edit {
	const char *type, *id, *digest, *keyring; /* keyring: a file (add only) */
	char *set[EDITS_MAX];
	size_t nset;
	char *del[EDITS_MAX];
	size_t ndel;
	char *delete_list;
	bool may_delete, may_keyring;
};

/*
 * --KEY VALUE, --KEY=VALUE into "KEY=VALUE"; --digest; --delete a,b (set).
 * Positional arguments into pos. Returns 0 or -1 (printed).
 */
static int parse_edit(int argc, char **argv, struct edit *e, char **pos, int npos)
{
	int have = 0;

	for (int i = 1; i < argc; i++) {
		char *a = argv[i], *eq, *value;
		size_t klen;

		if (!str_has_prefix(a, "--")) {
			if (have == npos) {
				cli_error("unexpected argument '%s' (see --help)", a);
				return -1;
			}
			pos[have++] = a;
			continue;
		}
		eq = strchr(a, '=');
		klen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
		if (!value) {
			cli_error("%s needs a value (see --help)", a);
			return -1;
		}
		if (klen == 6 && !strncmp(a + 2, "digest", 6)) {
			e->digest = value;
		} else if (klen == 6 && !strncmp(a + 2, "delete", 6) && e->may_delete) {
			e->delete_list = value;
		} else if (klen == 7 && !strncmp(a + 2, "keyring", 7) && e->may_keyring) {
			e->keyring = value;
		} else if (e->nset == EDITS_MAX) {
			cli_error("too many options");
			return -1;
		} else if (asprintf(&e->set[e->nset], "%.*s=%s", (int)klen, a + 2, value) < 0) {
			return -1;
		} else {
			e->nset++;
		}
	}
	if (have != npos) {
		cli_error("missing arguments (see --help)");
		return -1;
	}
	for (char *save = NULL, *k = e->delete_list ? strtok_r(e->delete_list, ",", &save) : NULL;
	     k; k = strtok_r(NULL, ",", &save)) {
		if (e->ndel == EDITS_MAX)
			return -1;
		e->del[e->ndel++] = k;
	}
	return 0;
}

static void edit_free(struct edit *e)
{
	for (size_t i = 0; i < e->nset; i++)
		free(e->set[i]);
}

typedef int (*edit_fn)(const struct cfs_brief *b, const struct edit *e, struct drover_err *err);

static int do_set(const struct cfs_brief *b, const struct edit *e, struct drover_err *err)
{
	return storage_set(b, e->digest, e->id, e->set, e->nset, e->del, e->ndel, err);
}

static int do_remove(const struct cfs_brief *b, const struct edit *e, struct drover_err *err)
{
	return storage_remove(b, e->digest, e->id, err);
}

static int run_edit(struct cli_context *ctx, struct edit *e, edit_fn fn, const char *done)
{
	struct drover_err err = { "" };
	struct storage_env env;
	int r;

	if (storage_cli_env(ctx, &env) < 0)
		return CLI_EXIT_FAIL;
	r = fn(&env.cfs, e, &err);
	storage_env_close(&env);
	if (r < 0) {
		cli_error("%s", err.text);
		return CLI_EXIT_FAIL;
	}
	printf("%s storage '%s'\n", done, e->id);
	return CLI_EXIT_OK;
}

/*
 * add (TYPE STOREID), set (STOREID, --delete) and remove (STOREID, only
 * --digest): parse, edit storage.cfg under the lock, say what was done.
 */
static int edit_cmd(struct cli_context *ctx, int argc, char **argv, int npos, bool may_delete,
		    bool keys, edit_fn fn, const char *done)
{
	struct edit e = { .may_delete = may_delete };
	char *pos[2];
	int r = CLI_EXIT_USAGE;

	if (parse_edit(argc, argv, &e, pos, npos) == 0) {
		if (!keys && e.nset) {
			cli_error("storage %s takes only --digest (see --help)", argv[0]);
		} else {
			e.type = npos == 2 ? pos[0] : NULL;
			e.id = pos[npos - 1];
			r = run_edit(ctx, &e, fn, done);
		}
	}
	edit_free(&e);
	return r;
}

/* The keyring's text read here: the file is the caller's, perhaps not readable by droverfs. */
static int add_storage(struct cli_context *ctx, const struct edit *e)
{
	struct drover_err err = { "" };
	struct storage_env env;
	char *keyring = NULL;
	size_t len;
	int r = 0;

	if (e->keyring) {
		r = read_file_max(e->keyring, 1u << 16, &keyring, &len);
		if (r < 0) {
			cli_error("--keyring: reading %s: %s", e->keyring, strerror(-r));
			return CLI_EXIT_FAIL;
		}
	}
	if (storage_cli_env(ctx, &env) < 0) {
		free(keyring);
		return CLI_EXIT_FAIL;
	}
	r = storage_add(&env.cfs, e->digest, e->type, e->id, e->set, e->nset, keyring, &err);
	storage_env_close(&env);
	free(keyring);
	if (r < 0) {
		cli_error("%s", err.text);
		return CLI_EXIT_FAIL;
	}
	printf("added storage '%s'\n", e->id);
	return CLI_EXIT_OK;
}

static int cmd_add(struct cli_context *ctx, int argc, char **argv)
{
	struct edit e = { .may_keyring = true };
	char *pos[2];
	int r = CLI_EXIT_USAGE;

	if (parse_edit(argc, argv, &e, pos, 2) == 0) {
		e.type = pos[0];
		e.id = pos[1];
		r = add_storage(ctx, &e);
	}
	edit_free(&e);
	return r;
}

#define KEYS_HELP                                                                           \
	"Keys (by type):\n"                                                                 \
	"  --path DIR           dir, btrfs: where the volumes are (fixed once added)\n"     \
	"  --content LIST       images,rootdir,iso,vztmpl (dir); images,rootdir (others)\n" \
	"  --nodes N1,N2        only these nodes have it (default: every node)\n"           \
	"  --disable 1          keep it configured but unused\n"                            \
	"  --shared 1           dir: the same directory on every node (NFS and the like)\n" \
	"  --shared 0           rbd: every node has its own Ceph cluster (its\n"            \
	"                       /etc/ceph/ceph.conf; no --monhost): volumes replicate\n"    \
	"  --format raw|qcow2   dir: the default format of new disks\n"                     \
	"  --pool NAME          rbd, zfspool: the pool (zfs: may be POOL/DATASET)\n"        \
	"  --monhost ADDRS      rbd: monitor addresses (none: /etc/ceph/ceph.conf)\n"       \
	"  --username NAME      rbd: the Ceph client name (default admin; keyring in\n"     \
	"                       priv/ceph/STOREID.keyring)\n"                               \
	"  --keyring FILE       rbd, add only: copy FILE to priv/ceph/STOREID.keyring\n"    \
	"  --krbd 0             rbd: only 0 (librbd)\n"                                     \
	"  --sparse 1           zfspool: thin zvols\n"                                      \
	"  --blocksize 16k      zfspool: volblocksize\n"                                    \
	"  --vgname VG          lvmthin: the volume group\n"                                \
	"  --thinpool POOL      lvmthin: the thin pool\n"                                   \
	"  --digest SHA1        refuse if storage.cfg is no longer what 'config' showed\n"

const struct cli_command storage_add_cmd = {
	.name = "add",
	.summary = "add a storage to storage.cfg",
	.usage = "Usage: drover storage add TYPE STOREID [--KEY VALUE]... [--digest SHA1]\n"
		 "\n"
		 "Adds storage STOREID of TYPE (dir, btrfs, rbd, zfspool, lvmthin) to\n"
		 "storage.cfg, under the cluster-wide lock priv/lock/file-storage_cfg. STOREID:\n"
		 "a-z, 0-9, '-', '_', '.', starting with a letter. Unknown keys and bad values\n"
		 "are refused; nothing is written then.\n"
		 "\n" KEYS_HELP,
	.run = cmd_add,
};

static int cmd_set(struct cli_context *ctx, int argc, char **argv)
{
	return edit_cmd(ctx, argc, argv, 1, true, true, do_set, "changed");
}

const struct cli_command storage_set_cmd = {
	.name = "set",
	.summary = "change keys of a storage",
	.usage = "Usage: drover storage set STOREID [--KEY VALUE]... [--delete KEY,KEY]\n"
		 "                           [--digest SHA1]\n"
		 "\n"
		 "Sets or removes keys of storage STOREID in storage.cfg, under the cluster-wide\n"
		 "lock. The keys where a storage's data is (path, pool, vgname, thinpool)\n"
		 "cannot change.\n"
		 "\n" KEYS_HELP,
	.run = cmd_set,
};

static int cmd_remove(struct cli_context *ctx, int argc, char **argv)
{
	return edit_cmd(ctx, argc, argv, 1, false, false, do_remove, "removed");
}

const struct cli_command storage_remove_cmd = {
	.name = "remove",
	.summary = "remove a storage from storage.cfg (its data stays)",
	.usage = "Usage: drover storage remove STOREID [--digest SHA1]\n"
		 "\n"
		 "Removes STOREID from storage.cfg under the cluster-wide lock. The volumes\n"
		 "on it are not touched.\n",
	.run = cmd_remove,
};
