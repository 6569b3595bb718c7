/* SPDX-License-Identifier: MIT */
#include "qmp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "jsonchan.h"

struct qmp {
	struct jchan ch;
	char version[32];
	uint64_t next_id;
	struct json_object *events[QMP_EVENT_QUEUE]; /* a ring */
	size_t ev_head, ev_count, ev_dropped;
};

static void queue_event(struct qmp *q, struct json_object *ev)
{
	if (q->ev_count == QMP_EVENT_QUEUE) {
		json_object_put(q->events[q->ev_head]);
		q->ev_head = (q->ev_head + 1) % QMP_EVENT_QUEUE;
		q->ev_count--;
		q->ev_dropped++;
	}
	q->events[(q->ev_head + q->ev_count) % QMP_EVENT_QUEUE] = ev;
	q->ev_count++;
}

/* Remove and return the first queued event named name (NULL: any), or NULL. */
static struct json_object *dequeue_event(struct qmp *q, const char *name)
{
	for (size_t i = 0; i < q->ev_count; i++) {
		size_t at = (q->ev_head + i) % QMP_EVENT_QUEUE;
		struct json_object *ev = q->events[at], *n;

		if (name && !(json_object_object_get_ex(ev, "event", &n) &&
			      streq(json_object_get_string(n), name)))
			continue;
		/* Close the gap: move the later ones one place forward. */
		for (size_t j = i; j + 1 < q->ev_count; j++)
			q->events[(q->ev_head + j) % QMP_EVENT_QUEUE] =
				q->events[(q->ev_head + j + 1) % QMP_EVENT_QUEUE];
		q->ev_count--;
		return ev;
	}
	return NULL;
}

size_t qmp_events_dropped(const struct qmp *q)
{
	return q->ev_dropped;
}

const char *qmp_version(const struct qmp *q)
{
	return q->version;
}

int qmp_fd(const struct qmp *q)
{
	return q->ch.fd;
}

void qmp_close(struct qmp *q)
{
	if (!q)
		return;
	jchan_close(&q->ch);
	while (q->ev_count > 0)
		json_object_put(dequeue_event(q, NULL));
	free(q);
}

static int read_greeting(struct qmp *q, uint64_t deadline, struct drover_err *err)
{
	struct json_object *msg = NULL, *qmp, *ver, *v;
	int r = jchan_recv(&q->ch, deadline, &msg, err);

	if (r < 0)
		return r;
	if (!json_object_object_get_ex(msg, "QMP", &qmp)) {
		json_object_put(msg);
		return drover_fail(err, -EPROTO, "%s: not a QMP greeting", q->ch.path);
	}
	if (json_object_object_get_ex(qmp, "version", &ver) &&
	    json_object_object_get_ex(ver, "qemu", &v)) {
		struct json_object *maj, *min, *mic;

		json_object_object_get_ex(v, "major", &maj);
		json_object_object_get_ex(v, "minor", &min);
		json_object_object_get_ex(v, "micro", &mic);
		snprintf(q->version, sizeof(q->version), "%d.%d.%d", json_object_get_int(maj),
			 json_object_get_int(min), json_object_get_int(mic));
	}
	json_object_put(msg);
	return 0;
}

int qmp_connect(const char *path, int timeout_ms, struct qmp **out, struct drover_err *err)
{
	uint64_t deadline = jchan_deadline(timeout_ms);
	struct qmp *q = calloc(1, sizeof(*q));
	int r;

	*out = NULL;
	if (!q)
		return drover_fail(err, -ENOMEM, "out of memory");
	r = jchan_connect(&q->ch, path, deadline, err);
	if (r == 0)
		r = read_greeting(q, deadline, err);
	if (r == 0) {
		uint64_t left = deadline > now_monotonic_ns() ? deadline - now_monotonic_ns() : 0;

		r = qmp_execute(q, "qmp_capabilities", NULL, (int)(left / 1000000), NULL, err);
	}
	if (r < 0) {
		qmp_close(q);
		return r;
	}
	*out = q;
	return 0;
}

static int send_command(struct qmp *q, const char *cmd, struct json_object *args, const char *id,
			uint64_t deadline, struct drover_err *err)
{
	struct json_object *msg = json_object_new_object();
	int r;

	if (!msg)
		return drover_fail(err, -ENOMEM, "out of memory");
	json_object_object_add(msg, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(msg, "arguments", json_object_get(args));
	json_object_object_add(msg, "id", json_object_new_string(id));
	r = jchan_send_json(&q->ch, msg, deadline, err);
	json_object_put(msg);
	return r;
}

/* A reply: 0 with *ret, or -EREMOTEIO with the error's class and description. */
static int take_reply(struct qmp *q, const char *cmd, struct json_object *msg,
		      struct json_object **ret, struct drover_err *err)
{
	struct json_object *val, *cls, *desc;

	if (json_object_object_get_ex(msg, "return", &val)) {
		if (ret)
			*ret = json_object_get(val);
		return 0;
	}
	if (json_object_object_get_ex(msg, "error", &val)) {
		json_object_object_get_ex(val, "class", &cls);
		json_object_object_get_ex(val, "desc", &desc);
		return drover_fail(err, -EREMOTEIO, "%s: %s: %s", cmd, json_object_get_string(cls),
				   json_object_get_string(desc));
	}
	return drover_fail(err, -EPROTO, "%s: reply without return or error", cmd);
}

/* Is msg the reply to id? Events are queued, stale replies dropped. */
static bool is_reply_to(struct qmp *q, struct json_object *msg, const char *id)
{
	struct json_object *mid;

	if (json_object_object_get_ex(msg, "event", NULL)) {
		queue_event(q, json_object_get(msg));
		return false;
	}
	return json_object_object_get_ex(msg, "id", &mid) && streq(json_object_get_string(mid), id);
}

int qmp_execute(struct qmp *q, const char *cmd, struct json_object *args, int timeout_ms,
		struct json_object **ret, struct drover_err *err)
{
	uint64_t deadline = jchan_deadline(timeout_ms);
	char id[32];
	int r;

	if (ret)
		*ret = NULL;
	snprintf(id, sizeof(id), "drover-%" PRIu64, ++q->next_id);
	r = send_command(q, cmd, args, id, deadline, err);
	while (r == 0) {
		struct json_object *msg = NULL;

		r = jchan_recv(&q->ch, deadline, &msg, err);
		if (r < 0)
			return drover_fail_prefix(err, r, "%s", cmd);
		if (is_reply_to(q, msg, id)) {
			r = take_reply(q, cmd, msg, ret, err);
			json_object_put(msg);
			return r;
		}
		json_object_put(msg);
	}
	return r;
}

int qmp_wait_event(struct qmp *q, const char *name, int timeout_ms, struct json_object **ev,
		   struct drover_err *err)
{
	uint64_t deadline = jchan_deadline(timeout_ms);

	for (;;) {
		struct json_object *msg = dequeue_event(q, name);
		int r;

		if (msg) {
			*ev = msg;
			return 0;
		}
		r = jchan_recv(&q->ch, deadline, &msg, err);
		if (r == -ETIMEDOUT)
			return drover_fail(err, r, "no %s event within %d ms", name ? name : "QMP",
					   timeout_ms);
		if (r < 0)
			return r;
		/* A reply now is a late one (its command timed out): dropped. */
		if (json_object_object_get_ex(msg, "event", NULL))
			queue_event(q, msg);
		else
			json_object_put(msg);
	}
}

int qmp_query_status(struct qmp *q, int timeout_ms, char *status, size_t len,
		     struct drover_err *err)
{
	struct json_object *ret = NULL, *st;
	int r = qmp_execute(q, "query-status", NULL, timeout_ms, &ret, err);

	if (r < 0)
		return r;
	if (!json_object_object_get_ex(ret, "status", &st)) {
		json_object_put(ret);
		return drover_fail(err, -EPROTO, "query-status: no status in the reply");
	}
	snprintf(status, len, "%s", json_object_get_string(st));
	json_object_put(ret);
	return 0;
}
