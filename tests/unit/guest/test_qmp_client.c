/* SPDX-License-Identifier: MIT */
/*
 * The QMP and guest agent clients' protocol handling against a scripted
 * peer on a UNIX socket: what real QEMU rarely does on cue (a reply after
 * its command timed out, events between replies, garbage, a dropped
 * connection, an agent with stale output). The integration tests run the
 * same clients against a real QEMU.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "libdrover/guest/qemu/agent.h"
#include "libdrover/guest/qemu/qmp.h"

/* One step of the peer: send text; read a line (check it, answer with its id); wait; hang up. */
enum step_kind { SEND, RECV, DELAY, HANGUP, END };

struct step {
	enum step_kind kind;
	const char *text; /* SEND: what to send; RECV: a part the line must contain */
	const char *reply; /* RECV: sent back, "%s" replaced by the request's id (may be NULL) */
	int ms; /* DELAY */
};

#define GREETING \
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}}, \"capabilities\": []}}\r\n"
#define CAPS                                                                        \
	{                                                                           \
		RECV, "qmp_capabilities", "{\"return\": {}, \"id\": \"%s\"}\r\n", 0 \
	}

static char sock_path[108];
static pid_t peer;

/* The id of a request line: a JSON string or number after "id". */
static void id_of(const char *line, char *id, size_t len)
{
	const char *p = strstr(line, "\"id\"");
	size_t n = 0;

	id[0] = '\0';
	if (!p)
		return;
	p += 4;
	while (*p == ':' || *p == ' ' || *p == '"')
		p++;
	while (p[n] && !strchr("\",} ", p[n]) && n + 1 < len)
		n++;
	memcpy(id, p, n);
	id[n] = '\0';
}

/* reply with its (first) "%s" replaced by id. */
static void with_id(const char *reply, const char *id, char *out, size_t len)
{
	const char *at = strstr(reply, "%s");

	if (!at)
		snprintf(out, len, "%s", reply);
	else
		snprintf(out, len, "%.*s%s%s", (int)(at - reply), reply, id, at + 2);
}

static int read_line(int fd, char *line, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		char c;

		if (read(fd, &c, 1) != 1)
			return -1;
		if (c == '\n')
			break;
		line[n++] = c;
	}
	line[n] = '\0';
	return 0;
}

static int play(int fd, const struct step *steps)
{
	for (const struct step *s = steps; s->kind != END; s++) {
		char line[4096], id[64], reply[4096];

		switch (s->kind) {
		case SEND:
			if (write(fd, s->text, strlen(s->text)) < 0)
				return 1;
			break;
		case RECV:
			if (read_line(fd, line, sizeof(line)) < 0 || !strstr(line, s->text))
				return 2;
			id_of(line, id, sizeof(id));
			if (!s->reply)
				break;
			with_id(s->reply, id, reply, sizeof(reply));
			if (write(fd, reply, strlen(reply)) < 0)
				return 3;
			break;
		case DELAY:
			usleep((useconds_t)s->ms * 1000);
			break;
		case HANGUP:
			close(fd);
			return 0;
		case END:
			break;
		}
	}
	/* Stay until the client is done, so that it never sees an early close. */
	while (read(fd, &(char){ 0 }, 1) > 0)
		;
	return 0;
}

/* Listen on a fresh socket and fork a peer that plays steps for one connection. */
static void start_peer(const struct step *steps)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd;

	snprintf(sock_path, sizeof(sock_path), "/tmp/drover-test-qmp-%d.sock", getpid());
	unlink(sock_path);
	strcpy(sa.sun_path, sock_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	peer = fork();
	assert_true(peer >= 0);
	if (peer == 0) {
		int fd = accept(lfd, NULL, NULL);

		_exit(fd < 0 ? 9 : play(fd, steps));
	}
	close(lfd);
}

/* The peer must have played its whole script. */
static void end_peer(void)
{
	int status;

	assert_int_equal(waitpid(peer, &status, 0), peer);
	unlink(sock_path);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_connect_execute_events(void **state)
{
	const struct step steps[] = {
		{ SEND, GREETING },
		CAPS,
		{ RECV, "\"execute\":\"query-status\"",
		  "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\r\n"
		  "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 3}, \"event\": \"RTC_CHANGE\"}\r\n"
		  "{\"return\": {\"status\": \"paused\", \"running\": false}, \"id\": \"%s\"}\r\n" },
		{ RECV, "\"arguments\":{\"device\":\"drive-scsi0\"}",
		  "{\"return\": [], \"id\": \"%s\"}\n" },
		{ END },
	};
	struct drover_err err = { "" };
	struct json_object *args, *ret = NULL, *ev = NULL, *name;
	struct qmp *q = NULL;
	char status[32];

	start_peer(steps);
	assert_int_equal(qmp_connect(sock_path, 2000, &q, &err), 0);
	assert_string_equal(qmp_version(q), "7.2.22");
	assert_true(qmp_fd(q) >= 0);
	assert_int_equal(qmp_query_status(q, 2000, status, sizeof(status), &err), 0);
	assert_string_equal(status, "paused");
	args = json_object_new_object();
	json_object_object_add(args, "device", json_object_new_string("drive-scsi0"));
	assert_int_equal(qmp_execute(q, "block-job-cancel", args, 2000, &ret, &err), 0);
	json_object_put(args);
	assert_true(json_object_is_type(ret, json_type_array));
	json_object_put(ret);
	/* The events that came before the reply were kept, in order, by name. */
	assert_int_equal(qmp_wait_event(q, "RTC_CHANGE", 100, &ev, &err), 0);
	json_object_object_get_ex(ev, "event", &name);
	assert_string_equal(json_object_get_string(name), "RTC_CHANGE");
	json_object_put(ev);
	assert_int_equal(qmp_wait_event(q, NULL, 100, &ev, &err), 0);
	json_object_object_get_ex(ev, "event", &name);
	assert_string_equal(json_object_get_string(name), "STOP");
	json_object_put(ev);
	assert_int_equal(qmp_wait_event(q, NULL, 100, &ev, &err), -ETIMEDOUT);
	assert_int_equal(qmp_events_dropped(q), 0);
	qmp_close(q);
	end_peer();
}

static void test_error_late_reply_and_timeout(void **state)
{
	const struct step steps[] = {
		{ SEND, GREETING },
		CAPS,
		{ RECV, "\"execute\":\"migrate\"",
		  "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no migration\"}, \"id\": \"%s\"}\n" },
		/* The reply to "slow" comes after the client gave up on it... */
		{ RECV, "\"execute\":\"slow\"", NULL },
		{ DELAY, NULL, NULL, 400 },
		{ SEND, "{\"return\": \"late\", \"id\": \"drover-3\"}\n" },
		/* ...and must not be taken for the reply to the next command. */
		{ RECV, "\"execute\":\"query-name\"",
		  "{\"return\": {\"name\": \"vm1\"}, \"id\": \"%s\"}\n" },
		{ END },
	};
	struct drover_err err = { "" };
	struct json_object *ret = NULL, *name;
	struct qmp *q = NULL;

	start_peer(steps);
	assert_int_equal(qmp_connect(sock_path, 2000, &q, &err), 0);
	assert_int_equal(qmp_execute(q, "migrate", NULL, 2000, NULL, &err), -EREMOTEIO);
	assert_string_equal(err.text, "migrate: GenericError: no migration");
	assert_int_equal(qmp_execute(q, "slow", NULL, 100, &ret, &err), -ETIMEDOUT);
	assert_null(ret);
	assert_non_null(strstr(err.text, "slow: "));
	assert_int_equal(qmp_execute(q, "query-name", NULL, 2000, &ret, &err), 0);
	json_object_object_get_ex(ret, "name", &name);
	assert_string_equal(json_object_get_string(name), "vm1");
	json_object_put(ret);
	qmp_close(q);
	end_peer();
}

static void test_bad_peers(void **state)
{
	const struct step hangup[] = {
		{ SEND, GREETING }, CAPS, { RECV, "quit", NULL }, { HANGUP }, { END }
	};
	const struct step garbage[] = {
		{ SEND, GREETING }, CAPS, { RECV, "x", "this is not JSON\n" }, { END }
	};
	const struct step not_qmp[] = { { SEND, "{\"hello\": 1}\n" }, { END } };
	const struct step silent[] = { { DELAY, NULL, NULL, 300 }, { END } };
	struct drover_err err = { "" };
	struct qmp *q = NULL;

	start_peer(hangup);
	assert_int_equal(qmp_connect(sock_path, 2000, &q, &err), 0);
	assert_int_equal(qmp_execute(q, "quit", NULL, 2000, NULL, &err), -ECONNRESET);
	qmp_close(q);
	end_peer();

	start_peer(garbage);
	assert_int_equal(qmp_connect(sock_path, 2000, &q, &err), 0);
	assert_int_equal(qmp_execute(q, "x", NULL, 2000, NULL, &err), -EBADMSG);
	assert_non_null(strstr(err.text, "not a JSON object: this is not JSON"));
	qmp_close(q);
	end_peer();

	start_peer(not_qmp);
	assert_int_equal(qmp_connect(sock_path, 2000, &q, &err), -EPROTO);
	assert_null(q);
	end_peer();

	/* A peer that never greets: the connect times out instead of hanging. */
	start_peer(silent);
	assert_int_equal(qmp_connect(sock_path, 150, &q, &err), -ETIMEDOUT);
	end_peer();

	unlink(sock_path);
	assert_int_equal(qmp_connect(sock_path, 100, &q, &err), -ENOENT);
}

static void test_agent(void **state)
{
	const struct step steps[] = {
		/* Stale output of an earlier client, then the echo of our sync. */
		{ RECV, "guest-sync-delimited",
		  "{\"return\": {}}\n\xff{\"return\": 7}\n\xff{\"return\": %s}\n" },
		{ RECV, "guest-ping", "{\"return\": {}}\n" },
		{ RECV, "guest-fsfreeze-freeze", "{\"return\": 2}\n" },
		{ RECV, "guest-fsfreeze-status", "{\"return\": \"frozen\"}\n" },
		{ RECV, "guest-fsfreeze-thaw",
		  "{\"error\": {\"class\": \"GenericError\", \"desc\": \"thaw failed\"}}\n" },
		/* No answer: the call times out, and the next one syncs again first. */
		{ RECV, "guest-get-osinfo", NULL },
		{ RECV, "guest-sync-delimited",
		  "{\"return\": {\"id\": \"drover-test-guest\"}}\n\xff{\"return\": %s}\n" },
		{ RECV, "guest-get-osinfo", "{\"return\": {\"id\": \"drover-test-guest\"}}\n" },
		{ END },
	};
	struct drover_err err = { "" };
	struct json_object *info = NULL, *id;
	struct qga *g = NULL;
	char status[16];
	int count = 0;

	start_peer(steps);
	assert_int_equal(qga_connect(sock_path, 2000, &g, &err), 0);
	assert_int_equal(qga_ping(g, 2000, &err), 0);
	assert_int_equal(qga_fsfreeze_freeze(g, 2000, &count, &err), 0);
	assert_int_equal(count, 2);
	assert_int_equal(qga_fsfreeze_status(g, 2000, status, sizeof(status), &err), 0);
	assert_string_equal(status, "frozen");
	assert_int_equal(qga_fsfreeze_thaw(g, 2000, &count, &err), -EREMOTEIO);
	assert_string_equal(err.text, "guest-fsfreeze-thaw: GenericError: thaw failed");
	assert_int_equal(qga_get_osinfo(g, 100, &info, &err), -ETIMEDOUT);
	assert_int_equal(qga_get_osinfo(g, 2000, &info, &err), 0);
	json_object_object_get_ex(info, "id", &id);
	assert_string_equal(json_object_get_string(id), "drover-test-guest");
	json_object_put(info);
	qga_close(g);
	end_peer();
}

static void test_agent_absent(void **state)
{
	/* QEMU accepts on the agent socket even when no agent runs: nothing answers. */
	const struct step steps[] = { { RECV, "guest-sync-delimited", NULL }, { END } };
	struct drover_err err = { "" };
	struct qga *g = NULL;

	start_peer(steps);
	assert_int_equal(qga_connect(sock_path, 200, &g, &err), -ETIMEDOUT);
	assert_null(g);
	assert_non_null(strstr(err.text, "guest agent sync"));
	end_peer();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_execute_events),
		cmocka_unit_test(test_error_late_reply_and_timeout),
		cmocka_unit_test(test_bad_peers),
		cmocka_unit_test(test_agent),
		cmocka_unit_test(test_agent_absent),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
