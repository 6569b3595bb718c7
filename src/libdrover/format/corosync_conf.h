/* SPDX-License-Identifier: MIT */
/*
 * corosync.conf as a tree: sections ("totem {", "}") holding keys
 * ("cluster_name: prod") and sections. The parser follows corosync's own
 * rules (one statement per line, nothing after an opening brace, '#'
 * comments) and says where it fails; the writer prints the canonical form.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/buf.h"

struct cc_node {
	char *name;
	char *value; /* NULL for a section */
	unsigned line;
	struct cc_node *children; /* sections: first child */
	struct cc_node *next;
};

struct cc_error {
	unsigned line;
	char text[200];
};

/* Parse text into a root section (name ""); NULL on error (err says why) or ENOMEM. */
struct cc_node *cc_parse(const char *text, size_t len, struct cc_error *err);
void cc_free(struct cc_node *n);

/* Write a root section in the canonical layout (4-space indent). Returns 0 or -ENOMEM. */
int cc_write(const struct cc_node *root, struct buf *out);

/* New section or key (value NULL: section), appended to parent if given. NULL on ENOMEM. */
struct cc_node *cc_add(struct cc_node *parent, const char *name, const char *value);
struct cc_node *cc_addf(struct cc_node *parent, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Set key in section n to value: the first such key is replaced, or one is added. NULL on ENOMEM. */
struct cc_node *cc_set(struct cc_node *n, const char *key, const char *value);

/* Unlink child from parent and free it (and what it holds). */
void cc_remove(struct cc_node *parent, struct cc_node *child);

/* First child named `name` (a key or a section), or NULL. */
struct cc_node *cc_child(const struct cc_node *n, const char *name);

/* Value of key in section of root (section NULL: in root itself), or NULL. */
const char *cc_get(const struct cc_node *root, const char *section, const char *key);

/* totem.config_version of a corosync.conf text; 0 when missing or unparsable. */
uint64_t cc_config_version(const char *text, size_t len);
