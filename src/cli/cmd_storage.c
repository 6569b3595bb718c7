/* SPDX-License-Identifier: MIT */
/* drover storage: the group, and what its commands share. See drover-storage(1). */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/util.h"
#include "storage_cli.h"

#define LOG_EVERY_NS (10ull * 1000000000ull)

int storage_cli_env(struct cli_context *ctx, struct storage_env *env)
{
	struct drover_err err = { "" };
	int r = storage_env_open(env, ctx->socket_path, &err);

	if (r < 0)
		cli_error("%s", err.text);
	return r;
}

void storage_cli_print_json(void *json, int mode)
{
	puts(json_object_to_json_string_ext(json, mode == 2 ? JSON_C_TO_STRING_PRETTY
							    : JSON_C_TO_STRING_PLAIN));
	json_object_put(json);
}

int storage_cli_size(const char *opt, const char *s, uint64_t *out)
{
	char up[32];
	size_t n = strlen(s);

	/* "10g" as well as "10G" */
	if (n && n < sizeof(up)) {
		memcpy(up, s, n + 1);
		if (strchr("kmg", up[n - 1]))
			up[n - 1] = (char)(up[n - 1] - 'a' + 'A');
		if (parse_size(up, out) == 0)
			return 0;
	}
	cli_error("%s: '%s' is not a size (bytes, or a number with K, M or G)", opt, s);
	return -1;
}

void storage_cli_rate(uint64_t bytes_per_s, char *out, size_t len)
{
	char size[32];

	snprintf(out, len, "%s/s", format_size(bytes_per_s, size, sizeof(size)));
}

/* "0:42" or "1:02:03" */
static void format_duration(uint64_t s, char *out, size_t len)
{
	if (s >= 3600)
		snprintf(out, len, "%llu:%02llu:%02llu", (unsigned long long)(s / 3600),
			 (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
	else
		snprintf(out, len, "%llu:%02llu", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
}

static void progress_text(const struct drover_event *ev, char *out, size_t len)
{
	char done[32], total[32], rate[32], eta[32] = "";
	size_t n;

	format_size(ev->done, done, sizeof(done));
	storage_cli_rate(ev->rate, rate, sizeof(rate));
	n = (size_t)snprintf(out, len, "%s", done);
	if (ev->total && n < len)
		n += (size_t)snprintf(out + n, len - n, " of %s (%llu%%)",
				      format_size(ev->total, total, sizeof(total)),
				      (unsigned long long)(ev->done >= ev->total
								   ? 100
								   : ev->done * 100 / ev->total));
	if (ev->total && ev->rate && ev->done < ev->total)
		format_duration((ev->total - ev->done) / ev->rate, eta, sizeof(eta));
	if (n < len)
		snprintf(out + n, len - n, ", %s%s%s", rate, eta[0] ? ", ETA " : "", eta);
}

static void report(void *ctx, const struct drover_event *ev)
{
	struct storage_progress *p = ctx;
	char text[256];
	uint64_t now = now_monotonic_ns();

	if (ev->kind == DROVER_EVENT_LOG) {
		storage_progress_done(p);
		fprintf(stderr, "%s\n", ev->text);
		return;
	}
	progress_text(ev, text, sizeof(text));
	if (p->tty) {
		fprintf(stderr, "\r\033[K%s", text);
		p->drawn = true;
	} else if (now - p->last_log_ns >= LOG_EVERY_NS) {
		fprintf(stderr, "progress: %s\n", text);
		p->last_log_ns = now;
	}
	fflush(stderr);
}

void storage_progress_init(struct storage_progress *p)
{
	memset(p, 0, sizeof(*p));
	p->tty = isatty(STDERR_FILENO);
	p->last_log_ns = now_monotonic_ns();
	p->rep.report = report;
	p->rep.ctx = p;
}

void storage_progress_done(struct storage_progress *p)
{
	if (p->drawn)
		fputc('\n', stderr);
	p->drawn = false;
}

static const struct cli_command *const storage_commands[] = {
	&storage_status_cmd,
	&storage_config_cmd,
	&storage_add_cmd,
	&storage_set_cmd,
	&storage_remove_cmd,
	&storage_list_cmd,
	&storage_alloc_cmd,
	&storage_free_cmd,
	&storage_path_cmd,
	&storage_resize_cmd,
	&storage_snapshot_cmd,
	&storage_delsnapshot_cmd,
	&storage_rollback_cmd,
	&storage_snapshots_cmd,
	&storage_export_cmd,
	&storage_import_cmd,
	&storage_copy_cmd,
	&storage_sweep_cmd,
	NULL,
};

const struct cli_command cli_storage_group = {
	.name = "storage",
	.summary = "storages and volumes: status, alloc, snapshots, export, import, copy",
	.usage =
		"Usage: drover storage COMMAND [ARGS...]\n"
		"\n"
		"The storages of storage.cfg (dir, btrfs, rbd, zfspool, lvmthin) and their\n"
		"volumes, named STORAGE:VOLUME as on Proxmox (local-btrfs:100/vm-100-disk-0.raw).\n"
		"Volumes move between nodes as checked streams (copy). See drover-storage(1).\n",
	.subcommands = storage_commands,
};
