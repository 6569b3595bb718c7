/* SPDX-License-Identifier: MIT */
#include "agent.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "basic/util.h"
#include "jsonchan.h"

struct qga {
	struct jchan ch;
	bool in_sync; /* false after a timeout: a late reply may still come */
};

void qga_close(struct qga *g)
{
	if (!g)
		return;
	jchan_close(&g->ch);
	free(g);
}

static int send_cmd(struct qga *g, const char *cmd, struct json_object *args, uint64_t deadline,
		    struct drover_err *err)
{
	struct json_object *msg = json_object_new_object();
	int r;

	if (!msg)
		return drover_fail(err, -ENOMEM, "out of memory");
	json_object_object_add(msg, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(msg, "arguments", json_object_get(args));
	r = jchan_send_json(&g->ch, msg, deadline, err);
	json_object_put(msg);
	return r;
}

/* 0xFF resets the agent's parser; the echo of a random number marks where our replies start. */
static int resync(struct qga *g, uint64_t deadline, struct drover_err *err)
{
	static const unsigned char reset = 0xff;
	struct json_object *args, *msg = NULL, *ret;
	int64_t id;
	int r;

	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		return drover_fail(err, -errno, "getrandom: %m");
	id &= INT32_MAX; /* the agent takes an int */
	args = json_object_new_object();
	json_object_object_add(args, "id", json_object_new_int64(id));
	r = jchan_send(&g->ch, &reset, 1, deadline, err);
	if (r == 0)
		r = send_cmd(g, "guest-sync-delimited", args, deadline, err);
	json_object_put(args);
	while (r == 0) {
		r = jchan_recv(&g->ch, deadline, &msg, err);
		if (r < 0)
			break;
		if (json_object_object_get_ex(msg, "return", &ret) &&
		    json_object_get_int64(ret) == id) {
			json_object_put(msg);
			g->in_sync = true;
			return 0;
		}
		json_object_put(msg); /* a stale reply of an earlier client */
	}
	return drover_fail_prefix(err, r, "guest agent sync");
}

int qga_connect(const char *path, int timeout_ms, struct qga **out, struct drover_err *err)
{
	uint64_t deadline = jchan_deadline(timeout_ms);
	struct qga *g = calloc(1, sizeof(*g));
	int r;

	*out = NULL;
	if (!g)
		return drover_fail(err, -ENOMEM, "out of memory");
	r = jchan_connect(&g->ch, path, deadline, err);
	if (r == 0)
		r = resync(g, deadline, err);
	if (r < 0) {
		qga_close(g);
		return r;
	}
	*out = g;
	return 0;
}

int qga_execute(struct qga *g, const char *cmd, struct json_object *args, int timeout_ms,
		struct json_object **ret, struct drover_err *err)
{
	uint64_t deadline = jchan_deadline(timeout_ms);
	struct json_object *msg = NULL, *val, *cls, *desc;
	int r = 0;

	if (ret)
		*ret = NULL;
	if (!g->in_sync)
		r = resync(g, deadline, err);
	if (r == 0)
		r = send_cmd(g, cmd, args, deadline, err);
	if (r == 0)
		r = jchan_recv(&g->ch, deadline, &msg, err);
	if (r < 0) {
		g->in_sync = false;
		return drover_fail_prefix(err, r, "%s", cmd);
	}
	if (json_object_object_get_ex(msg, "return", &val)) {
		if (ret)
			*ret = json_object_get(val);
	} else if (json_object_object_get_ex(msg, "error", &val)) {
		json_object_object_get_ex(val, "class", &cls);
		json_object_object_get_ex(val, "desc", &desc);
		r = drover_fail(err, -EREMOTEIO, "%s: %s: %s", cmd, json_object_get_string(cls),
				json_object_get_string(desc));
	} else {
		r = drover_fail(err, -EPROTO, "%s: reply without return or error", cmd);
	}
	json_object_put(msg);
	return r;
}

int qga_ping(struct qga *g, int timeout_ms, struct drover_err *err)
{
	return qga_execute(g, "guest-ping", NULL, timeout_ms, NULL, err);
}

/* A command whose reply is a number of file systems. */
static int count_cmd(struct qga *g, const char *cmd, int timeout_ms, int *count,
		     struct drover_err *err)
{
	struct json_object *ret = NULL;
	int r = qga_execute(g, cmd, NULL, timeout_ms, &ret, err);

	if (r == 0 && !json_object_is_type(ret, json_type_int))
		r = drover_fail(err, -EPROTO, "%s: the reply is not a number", cmd);
	if (r == 0 && count)
		*count = json_object_get_int(ret);
	json_object_put(ret);
	return r;
}

int qga_fsfreeze_freeze(struct qga *g, int timeout_ms, int *count, struct drover_err *err)
{
	return count_cmd(g, "guest-fsfreeze-freeze", timeout_ms, count, err);
}

int qga_fsfreeze_thaw(struct qga *g, int timeout_ms, int *count, struct drover_err *err)
{
	return count_cmd(g, "guest-fsfreeze-thaw", timeout_ms, count, err);
}

int qga_fsfreeze_status(struct qga *g, int timeout_ms, char *status, size_t len,
			struct drover_err *err)
{
	struct json_object *ret = NULL;
	int r = qga_execute(g, "guest-fsfreeze-status", NULL, timeout_ms, &ret, err);

	if (r == 0 && !json_object_is_type(ret, json_type_string))
		r = drover_fail(err, -EPROTO, "guest-fsfreeze-status: the reply is not a string");
	if (r == 0)
		snprintf(status, len, "%s", json_object_get_string(ret));
	json_object_put(ret);
	return r;
}

int qga_get_osinfo(struct qga *g, int timeout_ms, struct json_object **info, struct drover_err *err)
{
	return qga_execute(g, "guest-get-osinfo", NULL, timeout_ms, info, err);
}
