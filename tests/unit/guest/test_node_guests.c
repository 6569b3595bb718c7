/* SPDX-License-Identifier: MIT */
/*
 * What droverd does with a node's guests, without guests: the start and
 * stop order with up delays and locks (fake hooks record every call), the
 * guest operations table and its -ENOTSUP, the runtime readers on files
 * laid out like /run and a cgroup tree, and the node status JSON.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "basic/buf.h"
#include "basic/util.h"
#include "libdrover/guest/guest_runtime.h"
#include "libdrover/guest/ops.h"
#include "libdrover/guest/startall.h"
#include "libdrover/node/status.h"

/* ---- startall / stopall with recording hooks ---- */

struct recorder {
	struct buf calls; /* "start 102|sleep 2|start 101|..." */
	uint32_t running[16];
	size_t nrunning;
	uint32_t fail_vmid;
	int interrupt_after; /* calls before interrupted() says yes; 0: never */
	int ncalls;
};

static void note(struct recorder *r, const char *fmt, ...)
{
	char text[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	assert_int_equal(buf_printf(&r->calls, "%s|", text), 0);
	r->ncalls++;
}

static bool is_running(struct recorder *r, uint32_t vmid)
{
	for (size_t i = 0; i < r->nrunning; i++)
		if (r->running[i] == vmid)
			return true;
	return false;
}

static int rec_start(void *ctx, const struct node_guest *g, struct drover_err *err)
{
	struct recorder *r = ctx;

	note(r, "start %u", g->s.vmid);
	if (g->s.vmid == r->fail_vmid)
		return drover_fail(err, -EIO, "no disk");
	r->running[r->nrunning++] = g->s.vmid;
	return 0;
}

static int rec_shutdown(void *ctx, const struct node_guest *g, unsigned timeout_s,
			struct drover_err *err)
{
	struct recorder *r = ctx;

	note(r, "stop %u %u", g->s.vmid, timeout_s);
	return g->s.vmid == r->fail_vmid ? drover_fail(err, -ETIMEDOUT, "did not stop") : 0;
}

static bool rec_running(void *ctx, const struct node_guest *g)
{
	return is_running(ctx, g->s.vmid);
}

static bool rec_sleep(void *ctx, unsigned seconds)
{
	note(ctx, "sleep %u", seconds);
	return true;
}

static bool rec_interrupted(void *ctx)
{
	struct recorder *r = ctx;

	return r->interrupt_after && r->ncalls >= r->interrupt_after;
}

static int log_line(void *ctx, const char *line)
{
	return buf_printf(ctx, "%s\n", line);
}

static void log_report(void *ctx, const struct drover_event *ev)
{
	if (ev->text)
		log_line(ctx, ev->text);
}

static struct node_guest guest(uint32_t vmid, bool onboot, long order, long up, long down,
			       const char *lock)
{
	struct node_guest g = { .s = { .vmid = vmid,
				       .type = GUEST_QEMU,
				       .onboot = onboot,
				       .order = order,
				       .up = up,
				       .down = down } };

	snprintf(g.lock, sizeof(g.lock), "%s", lock);
	return g;
}

static void test_startall_order(void **state)
{
	struct recorder r = { BUF_INIT };
	struct buf log = BUF_INIT;
	struct drover_reporter rep = { log_report, &log };
	struct guests_all_hooks h = { rec_start, rec_shutdown,	  rec_running,
				      rec_sleep, rec_interrupted, &r };
	struct drover_err err = { "" };
	struct node_guest g[] = {
		guest(103, true, -1, -1, -1, ""), /* no order: after the ordered ones */
		guest(101, true, 2, 5, -1, ""),
		guest(104, false, 0, -1, -1, ""), /* not onboot */
		guest(102, true, 1, 2, -1, ""),
		guest(105, true, 1, -1, -1, "backup"), /* locked */
		guest(99, true, -1, 7, -1, ""), /* unordered, but a lower VMID than 103 */
		guest(106, true, 3, -1, -1, ""), /* runs already */
	};

	r.running[r.nrunning++] = 106;
	assert_int_equal(guests_startall(g, ARRAY_SIZE(g), &h, &rep, &err), 0);
	assert_int_equal(buf_terminate(&r.calls), 0);
	/* up= delays come before the next start; none after the last */
	assert_string_equal((char *)r.calls.data,
			    "start 102|sleep 2|start 101|sleep 5|start 99|sleep 7|start 103|");
	assert_int_equal(buf_terminate(&log), 0);
	assert_string_equal((char *)log.data, "Starting VM 102\n"
					      "Skipping VM 105: it is locked (backup)\n"
					      "Waiting for 2 seconds (startup delay)\n"
					      "Starting VM 101\n"
					      "Waiting for 5 seconds (startup delay)\n"
					      "Starting VM 99\n"
					      "Waiting for 7 seconds (startup delay)\n"
					      "Starting VM 103\n");
	buf_free(&r.calls);
	buf_free(&log);
}

static void test_startall_failure_and_interrupt(void **state)
{
	struct recorder r = { BUF_INIT };
	struct buf log = BUF_INIT;
	struct drover_reporter rep = { log_report, &log };
	struct guests_all_hooks h = { rec_start, rec_shutdown,	  rec_running,
				      rec_sleep, rec_interrupted, &r };
	struct drover_err err = { "" };
	struct node_guest g[] = {
		guest(1, true, 1, 3, -1, ""),
		guest(2, true, 2, 3, -1, ""),
		guest(3, true, 3, -1, -1, ""),
	};

	/* a failed start is logged, its delay skipped, and the next one goes on */
	r.fail_vmid = 1;
	assert_int_equal(guests_startall(g, ARRAY_SIZE(g), &h, &rep, &err), -EIO);
	assert_string_equal(err.text, "1 of 3 guests failed to start");
	assert_int_equal(buf_terminate(&r.calls), 0);
	assert_string_equal((char *)r.calls.data, "start 1|start 2|sleep 3|start 3|");
	assert_int_equal(buf_terminate(&log), 0);
	assert_non_null(strstr((char *)log.data, "Starting VM 1 failed: no disk\n"));

	/* a stop of the task ends the run before the next guest */
	buf_clear(&r.calls);
	r.nrunning = 0;
	r.fail_vmid = 0;
	r.ncalls = 0;
	r.interrupt_after = 2;
	assert_int_equal(guests_startall(g, ARRAY_SIZE(g), &h, &rep, &err), -EINTR);
	assert_int_equal(buf_terminate(&r.calls), 0);
	assert_string_equal((char *)r.calls.data, "start 1|sleep 3|");
	buf_free(&r.calls);
	buf_free(&log);
}

static void test_stopall_order(void **state)
{
	struct recorder r = { BUF_INIT };
	struct buf log = BUF_INIT;
	struct drover_reporter rep = { log_report, &log };
	struct guests_all_hooks h = { rec_start, rec_shutdown, rec_running, rec_sleep, NULL, &r };
	struct drover_err err = { "" };
	struct node_guest g[] = {
		guest(101, true, 2, 5, 30, ""), guest(102, true, 1, 2, -1, ""),
		guest(103, false, -1, -1, 10,
		      "backup"), /* locked, not onboot: stopped all the same */
		guest(104, true, 3, -1, -1, ""), /* not running */
	};

	r.running[r.nrunning++] = 101;
	r.running[r.nrunning++] = 102;
	r.running[r.nrunning++] = 103;
	r.fail_vmid = 101;
	assert_int_equal(guests_stopall(g, ARRAY_SIZE(g), 180, &h, &rep, &err), -EIO);
	assert_string_equal(err.text, "1 of 3 guests failed to stop");
	assert_int_equal(buf_terminate(&r.calls), 0);
	/* reverse start order; down= or the default */
	assert_string_equal((char *)r.calls.data, "stop 103 10|stop 101 30|stop 102 180|");
	assert_int_equal(buf_terminate(&log), 0);
	assert_string_equal((char *)log.data, "Stopping VM 103 (timeout = 10 seconds)\n"
					      "Stopping VM 101 (timeout = 30 seconds)\n"
					      "Stopping VM 101 failed: did not stop\n"
					      "Stopping VM 102 (timeout = 180 seconds)\n");
	buf_free(&r.calls);
	buf_free(&log);
}

/* ---- the operations table ---- */

static void test_ops_not_supported(void **state)
{
	struct guest_ops_table t;
	struct drover_err err = { "" };
	struct guest_runtime rt;

	guest_ops_defaults(&t, NULL);
	/* what drover cannot do yet, it says, and does not pretend */
	/* a VM start is real: without droverfs it fails saying so, not "not supported" */
	setenv("DROVER_CFS_SOCKET", "/nonexistent/drover-test.sock", 1);
	assert_int_equal(guest_start(&t, GUEST_QEMU, 100, NULL, &err), -ENOENT);
	assert_non_null(strstr(err.text, "cannot reach droverfs"));
	unsetenv("DROVER_CFS_SOCKET");
	/* a container is real too: one that does not run is shut down already */
	assert_non_null(t.type[GUEST_LXC].start);
	assert_int_equal(guest_shutdown(&t, GUEST_LXC, 999999999, 10, true, NULL, &err), 0);
	assert_int_equal(guest_runtime_get(&t, GUEST_NONE, 1, NULL, &rt), -ENOTSUP);
	assert_int_equal(guest_start(&t, (enum guest_type)7, 1, NULL, &err), -ENOTSUP);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_runtime_readers(void **state)
{
	char dir[] = "/tmp/drover-rt-XXXXXX", path[256], text[32];
	struct guest_runtime rt;

	assert_non_null(mkdtemp(dir));
	/* no pid file, a dead pid, a live pid that is no QEMU: all stopped */
	assert_int_equal(qemu_runtime_read(dir, 100, NULL, &rt), 0);
	assert_false(rt.running);
	snprintf(path, sizeof(path), "%s/100.pid", dir);
	write_text(path, "999999999\n");
	assert_int_equal(qemu_runtime_read(dir, 100, NULL, &rt), 0);
	assert_false(rt.running);
	snprintf(text, sizeof(text), "%d\n", (int)getpid());
	write_text(path, text);
	assert_int_equal(qemu_runtime_read(dir, 100, NULL, &rt), 0);
	assert_false(rt.running);
	/* a process's own figures */
	assert_int_equal(guest_runtime_from_pid(getpid(), &rt), 0);
	assert_true(rt.running);
	assert_int_equal(rt.pid, getpid());
	assert_true(rt.mem_bytes > 0);

	/* a container: a v1 cgroup tree as LXC makes it */
	snprintf(path, sizeof(path), "%s/pids", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/pids/lxc.payload.200", dir);
	mkdir(path, 0755);
	assert_int_equal(lxc_runtime_read(dir, 200, &rt), 0);
	assert_false(rt.running);
	snprintf(path, sizeof(path), "%s/pids/lxc.payload.200/cgroup.procs", dir);
	write_text(path, text);
	snprintf(path, sizeof(path), "%s/memory", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/memory/lxc.payload.200", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/memory/lxc.payload.200/memory.usage_in_bytes", dir);
	write_text(path, "12345678\n");
	snprintf(path, sizeof(path), "%s/cpuacct", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/cpuacct/lxc.payload.200", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/cpuacct/lxc.payload.200/cpuacct.usage", dir);
	write_text(path, "5000000000\n");
	assert_int_equal(lxc_runtime_read(dir, 200, &rt), 0);
	assert_true(rt.running);
	assert_int_equal(rt.pid, getpid());
	assert_int_equal(rt.mem_bytes, 12345678);
	assert_int_equal(rt.cpu_ns, 5000000000ull);
	/* cgroup v2 */
	snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
	write_text(path, "cpu memory pids\n");
	snprintf(path, sizeof(path), "%s/lxc.payload.200", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/lxc.payload.200/cgroup.procs", dir);
	write_text(path, text);
	snprintf(path, sizeof(path), "%s/lxc.payload.200/cpu.stat", dir);
	write_text(path, "usage_usec 2500\nuser_usec 2000\n");
	snprintf(path, sizeof(path), "%s/lxc.payload.200/memory.current", dir);
	write_text(path, "4096\n");
	assert_int_equal(lxc_runtime_read(dir, 200, &rt), 0);
	assert_int_equal(rt.cpu_ns, 2500000);
	assert_int_equal(rt.mem_bytes, 4096);
	tmpdir_remove(dir);
}

/* ---- node status JSON ---- */

static void test_status_json(void **state)
{
	struct node_status st = { .time = 1700000000,
				  .uptime_s = 3600,
				  .cpus = 2,
				  .cpu = 0.12346,
				  .load = { 0.5, 0.25, 1 },
				  .mem_total = 1u << 30,
				  .mem_used = 1u << 20,
				  .guest_chunks = 1 },
			   back;
	struct guest_status g[] = {
		{ .vmid = 100, .type = GUEST_QEMU, .running = true, .pid = 4321, .uptime_s = 55,
		  .cpu = 0.0131, .mem = 262144000 },
		{ .vmid = 200, .type = GUEST_LXC },
	},
			    *gb = NULL;
	size_t n = 0;
	char *text;

	assert_int_equal(node_status_to_json(&st, &text), 0);
	assert_string_equal(text, "{\"time\":1700000000,\"uptime\":3600,\"cpus\":2,\"cpu\":0.1235,"
				  "\"loadavg\":[0.50,0.25,1.00],\"memory\":{\"total\":1073741824,"
				  "\"used\":1048576},\"swap\":{\"total\":0,\"used\":0},"
				  "\"guest_chunks\":1}");
	assert_int_equal(node_status_from_json(text, &back), 0);
	assert_int_equal(back.time, 1700000000);
	assert_int_equal(back.cpus, 2);
	assert_true(back.load[2] == 1.0);
	assert_int_equal(back.mem_total, 1u << 30);
	assert_int_equal(back.guest_chunks, 1);
	free(text);

	assert_int_equal(guest_status_to_json(g, 2, &text), 0);
	assert_string_equal(text, "[{\"vmid\":100,\"type\":\"qemu\",\"status\":\"running\","
				  "\"pid\":4321,\"uptime\":55,\"cpu\":0.0131,\"mem\":262144000},"
				  "{\"vmid\":200,\"type\":\"lxc\",\"status\":\"stopped\"}]");
	assert_int_equal(guest_status_from_json(text, &gb, &n), 0);
	assert_int_equal(n, 2);
	assert_true(gb[0].running);
	assert_int_equal(gb[0].pid, 4321);
	assert_int_equal(gb[0].mem, 262144000);
	assert_int_equal(gb[1].type, GUEST_LXC);
	assert_false(gb[1].running);
	free(text);
	free(gb);

	/* hostile: wrong types, bad VMIDs and states are refused, not half read */
	gb = NULL;
	n = 0;
	assert_int_equal(node_status_from_json("[]", &back), -EINVAL);
	assert_int_equal(node_status_from_json("{\"cpus\":\"two\"}", &back), -EINVAL);
	assert_int_equal(node_status_from_json("{\"loadavg\":[1,2]}", &back), -EINVAL);
	assert_int_equal(node_status_from_json("{\"memory\":{\"total\":-1}}", &back), -EINVAL);
	assert_int_equal(node_status_from_json("{}", &back), 0);
	assert_int_equal(guest_status_from_json("{}", &gb, &n), -EINVAL);
	assert_int_equal(guest_status_from_json("[{\"vmid\":0,\"type\":\"qemu\",\"status\":"
						"\"stopped\"}]",
						&gb, &n),
			 -EINVAL);
	assert_int_equal(guest_status_from_json("[{\"vmid\":1,\"type\":\"xen\",\"status\":"
						"\"stopped\"}]",
						&gb, &n),
			 -EINVAL);
	assert_int_equal(guest_status_from_json("[{\"vmid\":1,\"type\":\"qemu\",\"status\":"
						"\"dancing\"}]",
						&gb, &n),
			 -EINVAL);
	assert_int_equal(n, 0);
	free(gb);
}

static void test_cluster_nodes(void **state)
{
	struct cluster_node *v;
	size_t n;

	assert_int_equal(cluster_nodes_from_json(
				 "{\"nodename\": \"node2\", \"version\": 5, \"cluster\": {\"name\":"
				 " \"c\"}, \"nodelist\": {\"node3\": {\"id\": 3, \"online\": 0},"
				 " \"node1\": {\"id\": 1, \"online\": 1, \"ip\": \"10.0.0.1\"},"
				 " \"node2\": {\"id\": 2, \"online\": 1, \"ip\": \"10.0.0.2\"},"
				 " \"-bad-\": {\"online\": 1}}}",
				 &v, &n),
			 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].name, "node1");
	assert_string_equal(v[0].addr, "10.0.0.1");
	assert_true(v[1].self);
	assert_false(v[2].online);
	assert_string_equal(v[2].addr, "");
	free(v);
	/* local mode: this node alone */
	assert_int_equal(
		cluster_nodes_from_json("{\"nodename\": \"solo\", \"version\": 1}", &v, &n), 0);
	assert_int_equal(n, 1);
	assert_true(v[0].self && v[0].online);
	free(v);
	assert_int_equal(cluster_nodes_from_json("[]", &v, &n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_startall_order),
		cmocka_unit_test(test_startall_failure_and_interrupt),
		cmocka_unit_test(test_stopall_order),
		cmocka_unit_test(test_ops_not_supported),
		cmocka_unit_test(test_runtime_readers),
		cmocka_unit_test(test_status_json),
		cmocka_unit_test(test_cluster_nodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
