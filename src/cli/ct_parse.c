/* SPDX-License-Identifier: MIT */
/*
 * The command line of `drover ct VERB`, as pct takes it: CTID, the verb's
 * positionals, and --KEY VALUE options where KEY is a config key (hostname,
 * memory, net0, ...) or one of the verb's own options.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "basic/util.h"
#include "ct_cli.h"
#include "libdrover/format/names.h"

/* The verb's own options: name, whether it takes a value, which verbs have it. */
static const struct {
	const char *name;
	bool value;
	const char *verbs; /* space-separated, with spaces around */
} own[] = {
	{ "output-format", true, " config list status listsnapshot " },
	{ "delete", true, " set " },
	{ "digest", true, " set " },
	{ "snapshot", true, " config " },
	{ "current", false, " config " },
	{ "verbose", false, " status " },
	{ "timeout", true, " shutdown " },
	{ "force-stop", false, " shutdown " },
	{ "purge", false, " destroy " },
	{ "storage", true, " template " },
	{ "name", true, " template " },
};

static bool has_verb(const char *verbs, const char *verb)
{
	char v[40];

	snprintf(v, sizeof(v), " %s ", verb);
	return strstr(verbs, v) != NULL;
}

static int own_option(const char *verb, const char *opt, const char *val, struct ct_args *a)
{
	uint64_t n;

	if (streq(opt, "output-format")) {
		if (!streq(val, "json") && !streq(val, "text")) {
			cli_error("--output-format: '%s' is not one of text, json", val);
			return -EINVAL;
		}
		a->json = streq(val, "json");
	} else if (streq(opt, "delete")) {
		a->del = val;
	} else if (streq(opt, "digest")) {
		a->digest = val;
	} else if (streq(opt, "snapshot")) {
		a->snapshot = val;
	} else if (streq(opt, "current")) {
		a->current = true;
	} else if (streq(opt, "verbose")) {
		a->verbose = true;
	} else if (streq(opt, "timeout")) {
		if (parse_u64(val, 86400, &n) < 0 || n == 0) {
			cli_error("ct %s: --timeout '%s' is not a number of seconds (1-86400)",
				  verb, val);
			return -EINVAL;
		}
		a->timeout_s = (unsigned)n;
	} else if (streq(opt, "force-stop")) {
		a->force_stop = true;
	} else if (streq(opt, "purge")) {
		a->purge = true;
	} else if (streq(opt, "storage")) {
		a->storage = val;
	} else if (streq(opt, "name")) {
		a->name = val;
	}
	return 0;
}

static int option(const char *verb, bool keys, int argc, char **argv, int *i, struct ct_args *a)
{
	char opt[64];
	const char *arg = argv[*i] + 2, *eq = strchr(arg, '='), *val = NULL;
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);

	if (len == 0 || len >= sizeof(opt)) {
		cli_error("ct %s: bad option '%s'", verb, argv[*i]);
		return -EINVAL;
	}
	memcpy(opt, arg, len);
	opt[len] = '\0';
	for (size_t k = 0; k < sizeof(own) / sizeof(own[0]); k++) {
		if (!streq(own[k].name, opt) || !has_verb(own[k].verbs, verb))
			continue;
		if (own[k].value) {
			val = eq ? eq + 1 : *i + 1 < argc ? argv[++*i] : NULL;
			if (!val) {
				cli_error("ct %s: --%s needs a value", verb, opt);
				return -EINVAL;
			}
		}
		return own_option(verb, opt, val, a);
	}
	if (!keys) {
		cli_error("ct %s: unknown option '--%s' (see 'drover ct %s --help')", verb, opt,
			  verb);
		return -EINVAL;
	}
	val = eq ? eq + 1 : *i + 1 < argc ? argv[++*i] : NULL;
	if (!val) {
		cli_error("ct %s: --%s needs a value", verb, opt);
		return -EINVAL;
	}
	if (a->nkv == CT_CLI_KV_MAX) {
		cli_error("ct %s: too many options", verb);
		return -EINVAL;
	}
	/* the key's name points into argv: cut it there */
	if (eq)
		((char *)eq)[0] = '\0';
	a->kv[a->nkv++] = (struct ct_kv){ arg, val };
	return 0;
}

int ct_parse(const char *verb, int argc, char **argv, bool want_ctid, unsigned max_pos, bool keys,
	     struct ct_args *a)
{
	bool have_ctid = !want_ctid;

	memset(a, 0, sizeof(*a));
	a->timeout_s = CT_SHUTDOWN_TIMEOUT_DEFAULT;
	for (int i = 1; i < argc; i++) {
		if (streq(argv[i], "--")) {
			a->cmd = argv + i + 1;
			break;
		}
		if (str_has_prefix(argv[i], "--")) {
			if (option(verb, keys, argc, argv, &i, a) < 0)
				return -EINVAL;
		} else if (!have_ctid) {
			if (vmid_parse_n(argv[i], strlen(argv[i]), &a->ctid) < 0) {
				cli_error("ct %s: '%s' is not a VMID", verb, argv[i]);
				return -EINVAL;
			}
			have_ctid = true;
		} else if (a->npos < max_pos) {
			a->pos[a->npos++] = argv[i];
		} else {
			cli_error("ct %s: unexpected argument '%s'", verb, argv[i]);
			return -EINVAL;
		}
	}
	if (!have_ctid || a->npos < max_pos) {
		cli_error("ct %s: missing arguments (see 'drover ct %s --help')", verb, verb);
		return -EINVAL;
	}
	return 0;
}
