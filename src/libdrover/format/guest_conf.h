/* SPDX-License-Identifier: MIT */
/*
 * Proxmox guest configs (qemu-server/VMID.conf, lxc/VMID.conf): parsed,
 * checked against the schema, edited and written back.
 *
 * The format: "key: value" lines; '#' lines are the description of the
 * section they are in; blank lines are ignored. The file starts with the
 * current config; "[PENDING]" opens the changes waiting for the next start
 * (with "delete: KEY,!KEY"), "[NAME]" opens a snapshot (with parent,
 * snaptime, vmstate). docs/guest-config.md has the details.
 *
 * The parse keeps every line as it was read, so writing a config in which
 * nothing changed gives back the same bytes, and a change rewrites only
 * its own line: a new key goes where Proxmox's sorted order puts it, a
 * deleted key's line goes away, everything else stays as the admin wrote
 * it. Errors name FILE:LINE. The digest is the SHA-1 (hex) of the text as
 * read: a read-modify-write passes it back so that a change made by
 * someone else in between is noticed instead of overwritten.
 *
 * A guest_conf owns its sections, and a section its lines; pointers to
 * sections stay valid until the section is removed or the config freed.
 * Nothing here prints or touches the file system except guest_conf_load.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "basic/buf.h"
#include "libdrover/error.h"
#include "names.h"

/* A config larger than this is refused (a 10 MB file is a mistake or an attack). */
#define GUEST_CONF_MAX_SIZE (1024 * 1024)
#define GUEST_DIGEST_LEN 40 /* hex SHA-1 */

struct guest_conf;
struct guest_section;

/*
 * Parse text (len bytes, no NUL needed) of a guest of the given type.
 * filename is only for messages ("nodes/n1/qemu-server/100.conf"). Every
 * key is checked against the schema, snapshot parents must exist. Returns
 * 0 and *out (the caller frees it), or -EINVAL, -EFBIG (too large) or
 * -ENOMEM with err saying "FILE:LINE: what".
 */
int guest_conf_parse(enum guest_type type, const char *filename, const char *text, size_t len,
		     struct guest_conf **out, struct drover_err *err);

/* Read path (at most GUEST_CONF_MAX_SIZE bytes) and parse it. -ENOENT if missing. */
int guest_conf_load(enum guest_type type, const char *path, struct guest_conf **out,
		    struct drover_err *err);

/* An empty config (for a new guest); NULL on ENOMEM. */
struct guest_conf *guest_conf_new(enum guest_type type);
void guest_conf_free(struct guest_conf *c);

enum guest_type guest_conf_type(const struct guest_conf *c);

/* The text of the config, appended to out. Returns 0 or -ENOMEM. */
int guest_conf_write(const struct guest_conf *c, struct buf *out);

/* The digest of the text that was parsed ("" for a new config). */
const char *guest_conf_digest(const struct guest_conf *c);

/* SHA-1 of data as 40 lowercase hex digits. Returns 0 or -EIO. */
int guest_digest(const void *data, size_t len, char out[GUEST_DIGEST_LEN + 1]);

/*
 * For an edit with an expected digest (NULL or "": none expected): -ESTALE
 * and a message when the config parsed is not the one the caller saw.
 */
int guest_conf_check_digest(const struct guest_conf *c, const char *expected,
			    struct drover_err *err);

/*
 * The checks across keys and sections that guest_conf_parse runs: every
 * parent names an existing snapshot, no parent loop, a VM's balloon not
 * above its memory. For use before writing an edited config.
 */
int guest_conf_validate(const struct guest_conf *c, struct drover_err *err);

/*
 * Refuse an operation on a locked guest: 0 when there is no lock: or the
 * lock is `allowed` (the operation that holds it; NULL: none), else -EBUSY
 * with "VM 100 is locked (migrate)"-like text (vmid 0: no number).
 */
int guest_conf_check_lock(const struct guest_conf *c, unsigned vmid, const char *allowed,
			  struct drover_err *err);

/* --- Sections --- */

/* The current config (always there). */
struct guest_section *guest_conf_current(struct guest_conf *c);
/* The [PENDING] section, or NULL; with create, made (after the current config) if missing. */
struct guest_section *guest_conf_pending(struct guest_conf *c, bool create);
/* A snapshot by name, or NULL. */
struct guest_section *guest_conf_snapshot(struct guest_conf *c, const char *name);
/* Snapshots in file order: count, and the i-th. */
size_t guest_conf_snapshot_count(const struct guest_conf *c);
struct guest_section *guest_conf_snapshot_at(struct guest_conf *c, size_t i);

/*
 * A new, empty snapshot section (placed where Proxmox's sorted order puts
 * it). -EEXIST if the name is taken, -EINVAL for a bad name.
 */
int guest_conf_snapshot_add(struct guest_conf *c, const char *name, struct guest_section **out,
			    struct drover_err *err);

/*
 * Take a snapshot of the current config into a new section NAME: every key
 * of the current config except lock and parent, plus snaptime, and
 * parent (the current parent, if any); the current config's parent
 * becomes NAME. The description of the snapshot is `description` (NULL:
 * none). As Proxmox's snapshot commit does, in one step.
 */
int guest_conf_snapshot_take(struct guest_conf *c, const char *name, long long snaptime,
			     const char *description, struct drover_err *err);

/* Remove a [PENDING] or snapshot section (not the current config). */
void guest_conf_section_remove(struct guest_conf *c, struct guest_section *s);

/* NULL for the current config, "PENDING", or the snapshot's name. */
const char *guest_section_name(const struct guest_section *s);

/* --- Keys of one section --- */

/* The value of key in s (the first, for a repeated raw LXC key), or NULL. */
const char *guest_get(const struct guest_section *s, const char *key);

/*
 * Set key to value in s after checking both against the schema. An
 * existing line is changed in place; a new one goes before the first key
 * that sorts after it (raw LXC keys at the end). "description" sets the
 * description (see guest_set_description). Returns 0, -EINVAL (err says
 * why) or -ENOMEM.
 */
int guest_set(struct guest_section *s, const char *key, const char *value, struct drover_err *err);

/* Append another line for a raw LXC key (they may repeat). */
int guest_add_raw_lxc(struct guest_section *s, const char *key, const char *value,
		      struct drover_err *err);

/* Remove every line of key from s. 0, or -ENOENT when there was none. */
int guest_delete(struct guest_section *s, const char *key);

/*
 * Call fn for each numbered key PREFIX0 .. PREFIX<count-1> that s holds, in
 * the order of the numbers, with the key, its value and its number. Stops
 * at the first negative return of fn and returns it; 0 otherwise.
 */
int guest_each_numbered(struct guest_section *s, const char *prefix, unsigned count,
			int (*fn)(void *ctx, const char *key, const char *value, unsigned index),
			void *ctx);

/*
 * Key lines of s in file order: guest_section_size() lines, of which
 * guest_line_key() gives the key (and the value into *value) or NULL for
 * comment and blank lines.
 */
size_t guest_section_size(const struct guest_section *s);
const char *guest_line_key(const struct guest_section *s, size_t i, const char **value);

/*
 * The description of s: its '#' lines decoded (%XX) and joined with '\n',
 * then a "description:" line's value if there is one, trailing blanks cut;
 * "" when none. *out is the caller's to free. Returns 0 or -ENOMEM.
 */
int guest_description(const struct guest_section *s, char **out);

/*
 * Replace the description of s: its comment lines and any description:
 * line go, the text is written as '#' lines at the top of the section
 * (control characters, ':', '%' and bytes above 0x7e encoded as %XX, as
 * Proxmox does). "" or NULL removes it. Returns 0, -EINVAL (too long) or
 * -ENOMEM.
 */
int guest_set_description(struct guest_section *s, const char *text, struct drover_err *err);
