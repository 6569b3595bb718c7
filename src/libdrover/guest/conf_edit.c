/* SPDX-License-Identifier: MIT */
#include "conf_edit.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/buf.h"
#include "basic/util.h"

static int brief(struct cfs_brief *b, struct drover_err *err)
{
	int r = cfs_brief_get(NULL, b);

	if (r < 0)
		return drover_fail(err, r, "cannot reach droverfs: %s%s", strerror(-r),
				   r == -ENOENT || r == -ECONNREFUSED ? " (is droverfs running?)"
								      : "");
	return 0;
}

/* Does the tree hold nodes/NODE/DIR/VMID.conf? */
static bool conf_exists(const struct cfs_brief *b, const char *node, enum guest_type type,
			uint32_t vmid)
{
	char rel[PATH_MAX], path[PATH_MAX];
	struct stat st;

	if (guest_conf_relpath(node, type, vmid, rel, sizeof(rel)) < 0 ||
	    cfs_path(b, rel, path, sizeof(path)) < 0)
		return false;
	return stat(path, &st) == 0;
}

int guest_locate_at(const struct cfs_brief *b, uint32_t vmid, char node[NODE_NAME_MAX + 1],
		    enum guest_type *type, struct drover_err *err)
{
	static const enum guest_type types[] = { GUEST_QEMU, GUEST_LXC };
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int r;

	/* this node first: the common case, and the answer without a scan */
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (conf_exists(b, b->node, types[i], vmid)) {
			snprintf(node, NODE_NAME_MAX + 1, "%s", b->node);
			*type = types[i];
			return 0;
		}
	r = cfs_path(b, "nodes", path, sizeof(path));
	if (r < 0)
		return drover_fail(err, r, "droverfs mount path too long");
	d = opendir(path);
	if (!d) {
		r = -errno;
		if (r == -ENOENT)
			return drover_fail(err, -ENOENT, "guest %" PRIu32 " does not exist", vmid);
		return drover_fail(err, r, "reading %s: %s", path, strerror(-r));
	}
	while ((de = readdir(d))) {
		if (!node_name_valid(de->d_name))
			continue;
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (conf_exists(b, de->d_name, types[i], vmid)) {
				/* node_name_valid: at most NODE_NAME_MAX bytes */
				memcpy(node, de->d_name, strlen(de->d_name) + 1);
				*type = types[i];
				closedir(d);
				return 0;
			}
	}
	closedir(d);
	return drover_fail(err, -ENOENT, "guest %" PRIu32 " does not exist", vmid);
}

int guest_locate(uint32_t vmid, char node[NODE_NAME_MAX + 1], enum guest_type *type,
		 struct drover_err *err)
{
	struct cfs_brief b;
	int r = brief(&b, err);

	return r < 0 ? r : guest_locate_at(&b, vmid, node, type, err);
}

/* -ENOENT for a guest this node does not have, naming where it is if elsewhere. */
static int not_here(const struct cfs_brief *b, enum guest_type type, uint32_t vmid,
		    struct drover_err *err)
{
	char node[NODE_NAME_MAX + 1];
	enum guest_type t;
	struct drover_err e;

	if (guest_locate_at(b, vmid, node, &t, &e) < 0)
		return drover_fail(err, -ENOENT, "%s %" PRIu32 " does not exist", guest_kind(type),
				   vmid);
	if (!streq(node, b->node))
		return drover_fail(err, -ENOENT,
				   "%s %" PRIu32 " is on node '%s', not on this node ('%s')",
				   guest_kind(t), vmid, node, b->node);
	if (t != type)
		return drover_fail(err, -ENOENT, "%" PRIu32 " is a %s, not a %s", vmid,
				   guest_kind(t), guest_kind(type));
	return drover_fail(err, -ENOENT, "%s %" PRIu32 " does not exist", guest_kind(type), vmid);
}

int guest_conf_read_at(const struct cfs_brief *b, enum guest_type type, uint32_t vmid,
		       struct guest_conf **out, struct drover_err *err)
{
	char rel[PATH_MAX], path[PATH_MAX];
	int r = guest_conf_relpath(b->node, type, vmid, rel, sizeof(rel));

	*out = NULL;
	if (r == 0)
		r = cfs_path(b, rel, path, sizeof(path));
	if (r < 0)
		return drover_fail(err, r, "config path of %" PRIu32 " too long", vmid);
	r = guest_conf_load(type, path, out, err);
	if (r == -ENOENT)
		return not_here(b, type, vmid, err);
	return r;
}

int guest_conf_read(enum guest_type type, uint32_t vmid, struct guest_conf **out,
		    struct drover_err *err)
{
	struct cfs_brief b;
	int r = brief(&b, err);

	*out = NULL;
	return r < 0 ? r : guest_conf_read_at(&b, type, vmid, out, err);
}

int guest_cluster_lock_at(const struct cfs_brief *b, uint32_t vmid, struct drover_err *err)
{
	char name[32];
	int r;

	snprintf(name, sizeof(name), "guest-%" PRIu32, vmid);
	r = cfs_lock(b, name, GUEST_CONF_LOCK_TIMEOUT_MS);
	if (r < 0)
		return drover_fail(err, r, "cannot take the cluster lock priv/lock/%s: %s", name,
				   r == -EBUSY	  ? "another operation on this guest is running"
				   : r == -EACCES ? "no quorum"
						  : strerror(-r));
	return 0;
}

void guest_cluster_unlock_at(const struct cfs_brief *b, uint32_t vmid)
{
	char name[32];

	snprintf(name, sizeof(name), "guest-%" PRIu32, vmid);
	cfs_unlock(b, name);
}

static int lock_guest(const struct cfs_brief *b, uint32_t vmid, char name[32],
		      struct drover_err *err)
{
	snprintf(name, 32, "guest-%" PRIu32, vmid);
	return guest_cluster_lock_at(b, vmid, err);
}

/* Validate c and write it to the tree as rel. */
static int write_conf(const struct cfs_brief *b, const char *rel, const struct guest_conf *c,
		      struct drover_err *err)
{
	struct buf text = BUF_INIT;
	int r = guest_conf_validate(c, err);

	if (r < 0)
		return r;
	r = guest_conf_write(c, &text);
	if (r == 0 && text.len > GUEST_CONF_MAX_SIZE)
		r = -EFBIG;
	if (r == 0)
		r = cfs_write(b, rel, text.data ? (void *)text.data : "", text.len, 0640);
	buf_free(&text);
	if (r < 0)
		return drover_fail(err, r, "writing %s: %s%s", rel, strerror(-r),
				   r == -EACCES ? " (no quorum?)" : "");
	return 0;
}

int guest_conf_update_at(const struct cfs_brief *b, enum guest_type type, uint32_t vmid,
			 const char *lock_allowed, guest_conf_edit_fn fn, void *arg,
			 struct drover_err *err)
{
	struct guest_conf *c = NULL;
	char lock[32], rel[PATH_MAX];
	int r = guest_conf_relpath(b->node, type, vmid, rel, sizeof(rel));

	if (r < 0)
		return drover_fail(err, r, "config path of %" PRIu32 " too long", vmid);
	r = lock_guest(b, vmid, lock, err);
	if (r < 0)
		return r;
	/* read under the lock: what the caller saw before may be gone */
	r = guest_conf_read_at(b, type, vmid, &c, err);
	if (r == 0)
		r = guest_conf_check_lock(c, vmid, lock_allowed, err);
	if (r == 0)
		r = fn(c, arg, err);
	if (r == 0)
		r = write_conf(b, rel, c, err);
	else if (r > 0)
		r = 0;
	guest_conf_free(c);
	cfs_unlock(b, lock);
	return r;
}

int guest_conf_update(enum guest_type type, uint32_t vmid, const char *lock_allowed,
		      guest_conf_edit_fn fn, void *arg, struct drover_err *err)
{
	struct cfs_brief b;
	int r = brief(&b, err);

	return r < 0 ? r : guest_conf_update_at(&b, type, vmid, lock_allowed, fn, arg, err);
}

int guest_conf_create_at(const struct cfs_brief *b, enum guest_type type, uint32_t vmid,
			 guest_conf_edit_fn fn, void *arg, struct drover_err *err)
{
	struct guest_conf *c = NULL;
	char lock[32], rel[PATH_MAX], node[NODE_NAME_MAX + 1];
	enum guest_type t;
	struct drover_err e;
	int r = guest_conf_relpath(b->node, type, vmid, rel, sizeof(rel));

	if (r < 0)
		return drover_fail(err, r, "config path of %" PRIu32 " too long", vmid);
	r = lock_guest(b, vmid, lock, err);
	if (r < 0)
		return r;
	if (guest_locate_at(b, vmid, node, &t, &e) == 0) {
		r = drover_fail(err, -EEXIST,
				"VMID %" PRIu32 " is taken: %s %" PRIu32 " exists on node '%s'",
				vmid, guest_kind(t), vmid, node);
		goto out;
	}
	c = guest_conf_new(type);
	if (!c) {
		r = drover_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	r = fn(c, arg, err);
	if (r > 0)
		r = 0;
	if (r == 0)
		r = write_conf(b, rel, c, err);
out:
	guest_conf_free(c);
	cfs_unlock(b, lock);
	return r;
}

int guest_conf_create(enum guest_type type, uint32_t vmid, guest_conf_edit_fn fn, void *arg,
		      struct drover_err *err)
{
	struct cfs_brief b;
	int r = brief(&b, err);

	return r < 0 ? r : guest_conf_create_at(&b, type, vmid, fn, arg, err);
}

struct lock_edit {
	const char *lock;
};

static int set_lock(struct guest_conf *c, void *arg, struct drover_err *err)
{
	struct lock_edit *l = arg;

	return guest_set(guest_conf_current(c), "lock", l->lock, err);
}

static int clear_lock(struct guest_conf *c, void *arg, struct drover_err *err)
{
	(void)arg;
	(void)err;
	return guest_delete(guest_conf_current(c), "lock") == -ENOENT ? 1 : 0;
}

int guest_conf_lock_at(const struct cfs_brief *b, enum guest_type type, uint32_t vmid,
		       const char *lock, struct drover_err *err)
{
	struct lock_edit l = { lock };

	/* lock_allowed NULL: any lock already set refuses */
	return guest_conf_update_at(b, type, vmid, NULL, set_lock, &l, err);
}

int guest_conf_unlock_at(const struct cfs_brief *b, enum guest_type type, uint32_t vmid,
			 const char *lock, struct drover_err *err)
{
	struct guest_conf *c = NULL;
	const char *held;
	char now[64];
	int r;

	if (lock)
		return guest_conf_update_at(b, type, vmid, lock, clear_lock, NULL, err);
	/* any lock: allow whatever is set now (checked again under the lock) */
	r = guest_conf_read_at(b, type, vmid, &c, err);
	if (r < 0)
		return r;
	held = guest_get(guest_conf_current(c), "lock");
	snprintf(now, sizeof(now), "%s", held ? held : "");
	guest_conf_free(c);
	return guest_conf_update_at(b, type, vmid, now[0] ? now : NULL, clear_lock, NULL, err);
}

int guest_conf_lock(enum guest_type type, uint32_t vmid, const char *lock, struct drover_err *err)
{
	struct cfs_brief b;
	int r = brief(&b, err);

	return r < 0 ? r : guest_conf_lock_at(&b, type, vmid, lock, err);
}

int guest_conf_unlock(enum guest_type type, uint32_t vmid, const char *lock, struct drover_err *err)
{
	struct cfs_brief b;
	int r = brief(&b, err);

	return r < 0 ? r : guest_conf_unlock_at(&b, type, vmid, lock, err);
}
