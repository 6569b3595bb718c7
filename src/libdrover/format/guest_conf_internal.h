/* SPDX-License-Identifier: MIT */
/* The inside of a guest_conf, shared by guest_conf.c (model, writer) and guest_conf_parse.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "guest_conf.h"

struct guest_line {
	char *key; /* NULL: a blank or comment line */
	char *value; /* key: the value; comment: the text after '#' (still encoded); blank: NULL */
	char *raw; /* the line as read, without '\n'; NULL for a new or changed line */
	unsigned lineno; /* 0 for a new line */
};

struct guest_lines {
	struct guest_line *v;
	size_t n, cap;
};

struct guest_section {
	struct guest_conf *conf;
	char *name; /* NULL: current config; "PENDING"; a snapshot name */
	char *header_raw; /* "[name]" as read; NULL for the current config or a new section */
	unsigned lineno;
	struct guest_lines lead; /* blank lines before the header */
	struct guest_lines lines;
};

struct guest_conf {
	enum guest_type type;
	char *filename; /* for messages; NULL for a new config */
	struct guest_section **sections; /* [0]: the current config */
	size_t n, cap;
	char digest[GUEST_DIGEST_LEN + 1];
	bool no_final_newline; /* the text read did not end with '\n' */
	bool changed; /* edited since parsed */
};

void guest_line_clear(struct guest_line *l);
/* Append a line (taking ownership of key, value, raw; all freed on failure). 0 or -ENOMEM. */
int guest_lines_push(struct guest_lines *ls, char *key, char *value, char *raw, unsigned lineno);
void guest_lines_free(struct guest_lines *ls);

/* A new section appended to c (name copied; NULL for the current config). NULL on ENOMEM. */
struct guest_section *guest_conf_append_section(struct guest_conf *c, const char *name);

/* "FILE:LINE: " (or "FILE: ", or "") for messages about a line of c. */
const char *guest_conf_where(const struct guest_conf *c, unsigned lineno, char *buf, size_t len);

/* Is name "PENDING" (any case)? */
bool guest_section_is_pending_name(const char *name);
