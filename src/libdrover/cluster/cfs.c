/* SPDX-License-Identifier: MIT */
#include "cfs.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "libdrover/cfs/ipc_client.h"
#include "libdrover/cfs/ipc_proto.h"
#include "basic/util.h"

#define CONF_MAX (1u << 20)

static void copy_str(char *dst, size_t len, struct json_object *o, const char *key)
{
	struct json_object *v;

	dst[0] = '\0';
	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		snprintf(dst, len, "%s", json_object_get_string(v));
}

static bool get_bool(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static int parse_brief(const char *text, struct cfs_brief *b)
{
	struct json_object *o = json_tokener_parse(text), *v;
	char mode[16];

	if (!o)
		return -EPROTO;
	memset(b, 0, sizeof(*b));
	copy_str(b->node, sizeof(b->node), o, "node");
	copy_str(b->mountpoint, sizeof(b->mountpoint), o, "mountpoint");
	copy_str(mode, sizeof(mode), o, "mode");
	copy_str(b->sync, sizeof(b->sync), o, "sync");
	b->cluster_mode = streq(mode, "cluster");
	b->quorate = get_bool(o, "quorate");
	b->writable = b->cluster_mode ? get_bool(o, "writable") : b->quorate;
	if (json_object_object_get_ex(o, "members", &v) && json_object_is_type(v, json_type_array))
		b->members = (unsigned)json_object_array_length(v);
	if (json_object_object_get_ex(o, "guests", &v))
		b->guests = (unsigned)json_object_get_int64(v);
	if (json_object_object_get_ex(o, "persistence", &v))
		copy_str(b->database, sizeof(b->database), v, "database");
	if (json_object_object_get_ex(o, "version", &v))
		b->version = (uint64_t)json_object_get_int64(v);
	json_object_put(o);
	return 0;
}

int cfs_brief_get(const char *socket, struct cfs_brief *b)
{
	struct ipc_client c;
	struct buf reply = BUF_INIT;
	int32_t status = 0;
	int r = ipc_client_connect(&c, socket);

	if (r < 0)
		return r;
	r = ipc_client_call(&c, IPC_STATUS, NULL, 0, &status, &reply);
	ipc_client_close(&c);
	if (r == 0)
		r = status;
	if (r == 0)
		r = buf_terminate(&reply);
	if (r == 0)
		r = parse_brief((const char *)reply.data, b);
	buf_free(&reply);
	return r;
}

int cfs_wait_writable(const char *socket, bool want_cluster, unsigned timeout_ms,
		      struct cfs_brief *b)
{
	uint64_t deadline = now_monotonic_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct timespec pause = { 0, 100 * 1000 * 1000 };

	memset(b, 0, sizeof(*b));
	for (;;) {
		int r = cfs_brief_get(socket, b);

		if (r == 0 && b->writable && (!want_cluster || b->cluster_mode))
			return 0;
		if (now_monotonic_ns() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&pause, NULL);
	}
}

int cfs_path(const struct cfs_brief *b, const char *rel, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s", b->mountpoint, rel);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int cfs_read(const struct cfs_brief *b, const char *rel, struct buf *out)
{
	char path[PATH_MAX];
	char *data;
	size_t len;
	int r = cfs_path(b, rel, path, sizeof(path));

	if (r == 0)
		r = read_file_max(path, CONF_MAX, &data, &len);
	if (r < 0)
		return r;
	r = buf_append(out, data, len);
	free(data);
	return r;
}

int cfs_write(const struct cfs_brief *b, const char *rel, const void *data, size_t len, mode_t mode)
{
	char path[PATH_MAX];
	int r = cfs_path(b, rel, path, sizeof(path));

	if (r < 0)
		return r;
	r = write_file_atomic(path, data, len, 0);
	if (r == -ENOENT) {
		/* the parent directory is new (priv/ssl/ on the first node, say) */
		char *slash = strrchr(path, '/');

		*slash = '\0';
		r = mkdir_p(path, 0755);
		*slash = '/';
		if (r == 0)
			r = write_file_atomic(path, data, len, 0);
	}
	return r;
}

int cfs_lock(const struct cfs_brief *b, const char *name, unsigned timeout_ms)
{
	uint64_t deadline = now_monotonic_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	char rel[PATH_MAX], path[PATH_MAX];
	int r;

	snprintf(rel, sizeof(rel), "priv/lock/%s", name);
	r = cfs_path(b, rel, path, sizeof(path));
	if (r < 0)
		return r;
	for (;;) {
		if (mkdir(path, 0755) == 0)
			return 0;
		r = -errno;
		if (r != -EEXIST && r != -EAGAIN)
			return r;
		if (now_monotonic_ns() >= deadline)
			return -EBUSY;
		nanosleep(&pause, NULL);
	}
}

void cfs_unlock(const struct cfs_brief *b, const char *name)
{
	char rel[PATH_MAX], path[PATH_MAX];

	snprintf(rel, sizeof(rel), "priv/lock/%s", name);
	if (cfs_path(b, rel, path, sizeof(path)) == 0)
		rmdir(path);
}

#define CONF_LOCK "file-corosync_conf"
#define CONF_LOCK_TIMEOUT_MS 10000

/* The cluster-wide lock every change of corosync.conf holds. */
static int lock_corosync_conf(const struct cfs_brief *b, struct drover_err *err)
{
	int r = cfs_lock(b, CONF_LOCK, CONF_LOCK_TIMEOUT_MS);

	if (r < 0)
		drover_fail(err, r, "cannot take the cluster lock %s: %s", CONF_LOCK,
			    r == -EBUSY ? "another configuration change is running" : strerror(-r));
	return r;
}

static void unlock_corosync_conf(const struct cfs_brief *b)
{
	cfs_unlock(b, CONF_LOCK);
}

struct cc_node *cfs_read_corosync_conf(const struct cfs_brief *b, struct drover_err *err)
{
	struct buf text = BUF_INIT;
	struct cc_error perr;
	struct cc_node *root = NULL;
	int r = cfs_read(b, "corosync.conf", &text);

	if (r < 0) {
		drover_fail(err, r, "%.100s/corosync.conf: %s", b->mountpoint,
			    r == -ENOENT ? "no such file (this node is in no cluster)"
					 : strerror(-r));
		buf_free(&text);
		return NULL;
	}
	root = cc_parse((const char *)text.data, text.len, &perr);
	if (!root)
		drover_fail(err, -EINVAL, "%.100s/corosync.conf:%u: %.200s", b->mountpoint,
			    perr.line, perr.text);
	buf_free(&text);
	return root;
}

/* corosync.conf into the tree; its text also goes to written (if given). */
static int write_corosync_conf(const struct cfs_brief *b, const struct cc_node *root,
			       struct buf *written)
{
	struct buf text = BUF_INIT;
	int r = cc_write(root, &text);

	if (r == 0)
		r = cfs_write(b, "corosync.conf", text.data, text.len, 0640);
	if (r == 0 && written)
		r = buf_append(written, text.data, text.len);
	buf_free(&text);
	return r;
}

int cfs_edit_corosync_conf(const struct cfs_brief *b,
			   int (*edit)(struct cc_node *conf, void *ctx, struct drover_err *err),
			   void *ctx, uint64_t *version, struct buf *written,
			   struct drover_err *err)
{
	struct cc_node *conf;
	int r = lock_corosync_conf(b, err);

	if (r < 0)
		return r;
	conf = cfs_read_corosync_conf(b, err);
	r = conf ? edit(conf, ctx, err) : -EINVAL;
	if (r == 0 && !(*version = cluster_conf_bump_version(conf)))
		r = drover_fail(err, -ENOMEM, "corosync.conf has no config_version to raise");
	if (r == 0 && (r = write_corosync_conf(b, conf, written)) < 0)
		drover_fail(err, r, "writing corosync.conf: %s", strerror(-r));
	unlock_corosync_conf(b);
	cc_free(conf);
	return r;
}
