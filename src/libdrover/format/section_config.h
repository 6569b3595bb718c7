/* SPDX-License-Identifier: MIT */
/*
 * Proxmox's section config format (storage.cfg, replication.cfg, later
 * more), generic: which types and keys exist is the user's business.
 *
 *   TYPE: ID
 *   <TAB>key value
 *   <TAB>flag
 *   <blank line>
 *
 * A header starts at column 0; its property lines are indented; a blank
 * line ends the section. Lines whose first non-blank character is '#' are
 * comments and are skipped (the writer does not keep them). A key without a
 * value is a bare flag ("disable"). The parser is strict where Proxmox only
 * warns: a line it cannot place, a key given twice or an ID used twice is an
 * error naming FILE:LINE, so nothing the user wrote is silently dropped.
 * Writing what was parsed gives back the same sections, keys and values in
 * the same order.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "basic/buf.h"
#include "libdrover/error.h"

struct sc_prop {
	char *key;
	char *value; /* NULL: a bare flag line */
	unsigned line; /* where it was read (0: added since) */
};

struct sc_section {
	char *type;
	char *id;
	unsigned line;
	struct sc_prop *props;
	size_t n, cap;
};

struct sc_file {
	struct sc_section *sections;
	size_t n, cap;
};

#define SC_FILE_INIT       \
	{                  \
		NULL, 0, 0 \
	}

/*
 * Parse text (len bytes, need not be NUL-terminated) into f (empty before).
 * filename names the file in errors ("storage.cfg:12: ..."). Returns 0 or
 * -EINVAL/-ENOMEM with err filled; f is then empty.
 */
int sc_parse(const char *text, size_t len, const char *filename, struct sc_file *f,
	     struct drover_err *err);

/* Append f as text to out (a blank line after every section). 0 or -ENOMEM. */
int sc_write(const struct sc_file *f, struct buf *out);

void sc_free(struct sc_file *f);

/* Is s a valid type or key name: [a-z][a-z0-9_-]*, at most 63 characters? */
bool sc_name_valid(const char *s);

struct sc_section *sc_find(const struct sc_file *f, const char *id);
const struct sc_prop *sc_prop(const struct sc_section *s, const char *key);

/* A new empty section at the end (-EEXIST if id is taken, -ENOMEM). */
int sc_add(struct sc_file *f, const char *type, const char *id, struct sc_section **out);
/* Remove section id; -ENOENT if there is none. */
int sc_remove(struct sc_file *f, const char *id);

/* Set key (value NULL: a bare flag), replacing it in place or appending it. */
int sc_set(struct sc_section *s, const char *key, const char *value);
/* Remove key; false if it was not there. */
bool sc_unset(struct sc_section *s, const char *key);

/* A deep copy of f into out (empty before). 0 or -ENOMEM. */
int sc_copy(const struct sc_file *f, struct sc_file *out);
