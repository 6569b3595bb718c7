/* SPDX-License-Identifier: MIT */
/*
 * storage.cfg: the storages of the cluster, in Proxmox's section config
 * format, at the root of droverfs.
 *
 *   dir: local
 *   	path /var/lib/drover/local
 *   	content images,rootdir,iso,vztmpl
 *
 * The file is kept as parsed (struct sc_file, so it is written back as it
 * was read) and, beside it, each section checked and turned into the
 * struct storage_props the plugins use. Unknown types and keys, bad
 * values and missing required keys are refused, naming storage.cfg:LINE.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "basic/buf.h"
#include "basic/sha1.h"
#include "libdrover/error.h"
#include "libdrover/format/section_config.h"
#include "plugin.h"

#define STORAGE_CFG_NAME "storage.cfg"
/* The built-in `local` storage of a fresh cluster or a node in local mode. */
#define STORAGE_LOCAL_ID "local"
#define STORAGE_LOCAL_PATH "/var/lib/drover/local"

struct storage_cfg {
	struct sc_file file;
	struct storage_props *stores; /* file.sections[i] checked, same order */
	size_t n;
	char digest[SHA1_HEX_SIZE]; /* SHA-1 of the text read (or of the built-in one) */
};

/* Parse and check text (filename names it in errors). cfg is empty before. */
int storage_cfg_parse(const char *text, size_t len, const char *filename, struct storage_cfg *cfg,
		      struct drover_err *err);

/* What a cluster without storage.cfg has: the `local` dir storage. */
int storage_cfg_default(struct storage_cfg *cfg);

int storage_cfg_write(const struct storage_cfg *cfg, struct buf *out);
void storage_cfg_free(struct storage_cfg *cfg);

const struct storage_props *storage_cfg_find(const struct storage_cfg *cfg, const char *id);

/* Is the storage usable on node (not disabled, node in its `nodes`)? */
bool storage_props_on_node(const struct storage_props *p, const char *node);

/* A storage ID: [a-z][a-z0-9._-]*, ending in a letter or digit, at most 63. */
bool storage_id_valid(const char *id);

/* Is type one of the known storage types? Its default and allowed contents. */
bool storage_type_known(const char *type);

/* "images,rootdir" for a content mask (into out). */
void storage_content_format(unsigned content, char *out, size_t len);

/*
 * Edits, checked as a whole before anything changes: a key=value per
 * element of set (a bare "key" for a flag), keys to remove in del. Errors
 * name the option (--key) rather than a line. On failure cfg is unchanged.
 */
int storage_cfg_add(struct storage_cfg *cfg, const char *type, const char *id, char *const set[],
		    size_t nset, struct drover_err *err);
int storage_cfg_set(struct storage_cfg *cfg, const char *id, char *const set[], size_t nset,
		    char *const del[], size_t ndel, struct drover_err *err);
int storage_cfg_remove(struct storage_cfg *cfg, const char *id, struct drover_err *err);
