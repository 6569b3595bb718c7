/* SPDX-License-Identifier: MIT */
/*
 * Smaller parts: kvstore, cluster log, access rules, IPC framing, wire
 * encoding, names, what /proc tells of processes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

#include "droverfs/core/access.h"
#include "droverfs/core/clusterlog.h"
#include "droverfs/core/kvstore.h"
#include "libdrover/cfs/ipc_proto.h"
#include "libdrover/format/names.h"
#include "basic/util.h"
#include "basic/wire.h"
#include "basic/procinfo.h"

static void test_kvstore(void **ctx)
{
	struct cfs_kvstore kv;
	const struct cfs_kv_value *v;
	const struct cfs_kv_value **all;
	char key[300];
	char *big = calloc(1, KV_VALUE_MAX + 1);
	size_t n;

	(void)ctx;
	cfs_kvstore_init(&kv);
	assert_int_equal(cfs_kvstore_set(&kv, "n1", "nodeip", "10.0.0.1", 8), 0);
	assert_int_equal(cfs_kvstore_set(&kv, "n1", "nodeip", "10.0.0.2", 8), 0);
	v = cfs_kvstore_get(&kv, "n1", "nodeip");
	assert_non_null(v);
	assert_int_equal(v->version, 2);
	assert_memory_equal(v->data, "10.0.0.2", 8);
	assert_null(cfs_kvstore_get(&kv, "n2", "nodeip"));
	assert_int_equal(cfs_kvstore_set(&kv, "n0", "a", "x", 1), 0);
	all = cfs_kvstore_sorted(&kv, &n);
	assert_int_equal(n, 2);
	assert_string_equal(all[0]->nodename, "n0");
	free(all);
	/* limits */
	memset(key, 'k', 256);
	key[256] = '\0';
	assert_int_equal(cfs_kvstore_set(&kv, "n1", key, "x", 1), -ENAMETOOLONG);
	assert_int_equal(cfs_kvstore_set(&kv, "n1", "big", big, KV_VALUE_MAX + 1), -EFBIG);
	assert_int_equal(cfs_kvstore_set(&kv, "n1", "big", big, KV_VALUE_MAX), 0);
	assert_int_equal(cfs_kvstore_set(&kv, "n1", "", "x", 1), -EINVAL);
	/* an empty value deletes */
	assert_int_equal(cfs_kvstore_set(&kv, "n1", "nodeip", NULL, 0), 0);
	assert_null(cfs_kvstore_get(&kv, "n1", "nodeip"));
	free(big);
	cfs_kvstore_destroy(&kv);
}

static void test_clusterlog_merge(void **ctx)
{
	struct cfs_clusterlog log;
	struct cfs_clog_entry e = { .uid = 7,
				    .time = T0 + 5,
				    .pid = 1,
				    .priority = 6,
				    .node = "n2",
				    .ident = "root",
				    .tag = "t",
				    .msg = "from n2" };

	(void)ctx;
	assert_int_equal(cfs_clusterlog_init(&log, 4), 0);
	assert_int_equal(cfs_clusterlog_append(&log, "n1", "root", "t", 1, 6, T0 + 10, "newer"), 0);
	/* an older entry from another node is placed by time, once */
	assert_int_equal(cfs_clusterlog_merge(&log, &e), 1);
	assert_int_equal(cfs_clusterlog_merge(&log, &e), 0);
	assert_int_equal(log.count, 2);
	assert_string_equal(cfs_clusterlog_newest(&log, 0)->msg, "newer");
	assert_string_equal(cfs_clusterlog_newest(&log, 1)->msg, "from n2");
	assert_int_equal(cfs_clusterlog_newest(&log, 1)->uid, 7);
	/* the same uid from another node is another entry */
	e.node = "n3";
	assert_int_equal(cfs_clusterlog_merge(&log, &e), 1);
	/* bad priority */
	e.priority = 9;
	e.uid = 8;
	assert_int_equal(cfs_clusterlog_merge(&log, &e), -EINVAL);
	cfs_clusterlog_destroy(&log);
}

static void test_clusterlog(void **ctx)
{
	struct cfs_clusterlog log;
	const struct cfs_clog_entry *e;
	char msg[5000];

	(void)ctx;
	assert_int_equal(cfs_clusterlog_init(&log, 3), 0);
	for (int i = 0; i < 5; i++) {
		snprintf(msg, sizeof(msg), "message %d", i);
		assert_int_equal(
			cfs_clusterlog_append(&log, "n1", "root@pam", "test", 42, 6, T0 + i, msg),
			0);
	}
	/* bounded: the oldest went; newest first */
	assert_int_equal(log.count, 3);
	e = cfs_clusterlog_newest(&log, 0);
	assert_string_equal(e->msg, "message 4");
	/* uids grow by one per entry (they start from the clock: unique across restarts) */
	assert_int_equal(e->uid, cfs_clusterlog_newest(&log, 2)->uid + 2);
	assert_string_equal(cfs_clusterlog_newest(&log, 2)->msg, "message 2");
	assert_null(cfs_clusterlog_newest(&log, 3));
	/* control characters are replaced, long messages cut */
	assert_int_equal(cfs_clusterlog_append(&log, "n1", "u", "t", 1, 6, T0, "a\nb\x1b"), 0);
	assert_string_equal(cfs_clusterlog_newest(&log, 0)->msg, "a?b?");
	memset(msg, 'm', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	assert_int_equal(cfs_clusterlog_append(&log, "n1", "u", "t", 1, 6, T0, msg), 0);
	assert_int_equal(strlen(cfs_clusterlog_newest(&log, 0)->msg), CLOG_MAX_MESSAGE);
	assert_int_equal(cfs_clusterlog_append(&log, "n1", "u", "t", 1, 8, T0, "x"), -EINVAL);
	assert_int_equal(cfs_clusterlog_append(&log, "n1", "u", "t", 1, 6, T0, ""), -EINVAL);
	cfs_clusterlog_destroy(&log);
}

static void test_access(void **ctx)
{
	gid_t groups[] = { 100, 33 };

	(void)ctx;
	assert_int_equal(cfs_caller_classify(0, 0, NULL, 0, 33), CFS_CALLER_ROOT);
	assert_int_equal(cfs_caller_classify(1000, 33, NULL, 0, 33), CFS_CALLER_READER);
	assert_int_equal(cfs_caller_classify(1000, 1000, groups, 2, 33), CFS_CALLER_READER);
	assert_int_equal(cfs_caller_classify(1000, 1000, groups, 1, 33), CFS_CALLER_OTHER);
	assert_int_equal(cfs_mode_bits(CFS_MODE_DIR, false, true), 0755);
	assert_int_equal(cfs_mode_bits(CFS_MODE_DIR, true, true), 0700);
	assert_int_equal(cfs_mode_bits(CFS_MODE_FILE, false, true), 0640);
	assert_int_equal(cfs_mode_bits(CFS_MODE_FILE, true, true), 0600);
	/* without quorum the write bits go: tools read quorum from `local` */
	assert_int_equal(cfs_mode_bits(CFS_MODE_FILE, false, false), 0440);
	assert_int_equal(cfs_mode_bits(CFS_MODE_SYMLINK, false, true), 0755);
	assert_int_equal(cfs_mode_bits(CFS_MODE_SYMLINK, false, false), 0555);
	assert_int_equal(cfs_mode_bits(CFS_MODE_VIRTUAL_RO, false, true), 0440);
	assert_true(cfs_chmod_allowed(S_IFREG | 0640, S_IFREG | 0640));
	assert_false(cfs_chmod_allowed(0644, S_IFREG | 0640));
	assert_true(cfs_chown_allowed(0, 33, 33));
	assert_true(cfs_chown_allowed((uid_t)-1, (gid_t)-1, 33));
	assert_false(cfs_chown_allowed(1000, 33, 33));
	assert_false(cfs_chown_allowed(0, 0, 33));
}

static void test_ipc_frames(void **ctx)
{
	struct buf b = BUF_INIT;
	struct ipc_header h;
	int err = 0;
	size_t start;

	(void)ctx;
	start = ipc_frame_begin(&b, IPC_KV_GET, 7, -ENOENT, &err);
	assert_int_equal(buf_append(&b, "abc", 3), 0);
	ipc_frame_end(&b, start);
	assert_int_equal(err, 0);
	assert_int_equal(b.len, IPC_HEADER_SIZE + 3);
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(ipc_frame_peek(b.data, n, &h), 0);
	assert_int_equal(ipc_frame_peek(b.data, b.len, &h), 1);
	assert_int_equal(h.length, b.len);
	assert_int_equal(h.type, IPC_KV_GET);
	assert_int_equal(h.seq, 7);
	assert_int_equal(h.status, -ENOENT);
	/* a frame that can never be valid is refused at once */
	b.data[4] = 9; /* protocol version */
	assert_int_equal(ipc_frame_peek(b.data, b.len, &h), -EBADMSG);
	b.data[4] = IPC_PROTO_VERSION;
	le_put32(b.data, IPC_MAX_FRAME + 1);
	assert_int_equal(ipc_frame_peek(b.data, b.len, &h), -EBADMSG);
	le_put32(b.data, 3);
	assert_int_equal(ipc_frame_peek(b.data, b.len, &h), -EBADMSG);
	assert_string_equal(ipc_type_name(IPC_WATCH), "watch");
	buf_free(&b);
}

static void test_wire(void **ctx)
{
	struct buf b = BUF_INIT;
	struct wire_writer w;
	struct wire_reader r;
	const void *p;
	size_t len;
	char *s;

	(void)ctx;
	wire_writer_init(&w, &b);
	wire_put_u8(&w, 0xab);
	wire_put_u16(&w, 0x1234);
	wire_put_u32(&w, 0xdeadbeef);
	wire_put_u64(&w, 0x0102030405060708ull);
	wire_put_str(&w, "name");
	wire_put_blob(&w, "\0\1", 2);
	assert_int_equal(w.error, 0);
	assert_int_equal(b.data[1], 0x34); /* little-endian */
	wire_reader_init(&r, b.data, b.len);
	assert_int_equal(wire_get_u8(&r), 0xab);
	assert_int_equal(wire_get_u16(&r), 0x1234);
	assert_int_equal(wire_get_u32(&r), 0xdeadbeef);
	assert_true(wire_get_u64(&r) == 0x0102030405060708ull);
	s = wire_get_str(&r);
	assert_string_equal(s, "name");
	free(s);
	p = wire_get_blob(&r, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(p, "\0\1", 2);
	assert_int_equal(r.left, 0);
	/* reading past the end fails and stays failed */
	assert_int_equal(wire_get_u32(&r), 0);
	assert_int_equal(r.error, -EBADMSG);
	/* a string with a NUL inside is malformed */
	wire_reader_init(&r, "\3\0a\0b", 5);
	assert_null(wire_get_str(&r));
	assert_int_equal(r.error, -EBADMSG);
	buf_free(&b);
}

static void test_names(void **ctx)
{
	uint32_t vmid;
	uint64_t v;
	char buf[32];

	(void)ctx;
	assert_true(node_name_valid("pve1"));
	assert_true(node_name_valid("a-b"));
	assert_false(node_name_valid("-a"));
	assert_false(node_name_valid("a-"));
	assert_false(node_name_valid("a.b"));
	assert_false(node_name_valid(""));
	assert_false(node_name_valid(
		"0123456789012345678901234567890123456789012345678901234567890123"));
	assert_true(guest_config_filename("100.conf", &vmid));
	assert_int_equal(vmid, 100);
	assert_false(guest_config_filename("100.config", &vmid));
	assert_false(guest_config_filename(".conf", &vmid));
	assert_int_equal(parse_size("4M", &v), 0);
	assert_int_equal(v, 4 << 20);
	assert_int_equal(parse_size("64KiB", &v), 0);
	assert_int_equal(v, 64 << 10);
	assert_int_equal(parse_size("12", &v), 0);
	assert_int_equal(parse_size("4X", &v), -EINVAL);
	assert_int_equal(parse_size("-1", &v), -EINVAL);
	assert_int_equal(parse_u64("99", 50, &v), -ERANGE);
	assert_string_equal(format_size(1536, buf, sizeof(buf)), "1.5 KiB");
	assert_string_equal(format_size(12, buf, sizeof(buf)), "12 B");
}

static void *tgid_in_thread(void *arg)
{
	*(pid_t *)arg = proc_tgid(gettid());
	return NULL;
}

static void test_procinfo(void **ctx)
{
	char path[] = "/tmp/drover-test-procinfo-XXXXXX";
	pid_t from_thread = 0;
	pthread_t t;
	struct stat st;
	int fd = mkstemp(path), ro, wo;

	(void)ctx;
	assert_true(fd >= 0);
	assert_int_equal(proc_tgid(getpid()), getpid());
	assert_int_equal(pthread_create(&t, NULL, tgid_in_thread, &from_thread), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(from_thread, getpid()); /* a thread's id names its process */
	assert_int_equal(proc_tgid(-5), -5); /* unknown: itself */

	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(proc_holds_for_writing(getpid(), st.st_dev, st.st_ino), 1);
	close(fd);
	assert_int_equal(proc_holds_for_writing(getpid(), st.st_dev, st.st_ino), 0);
	ro = open(path, O_RDONLY);
	assert_true(ro >= 0);
	assert_int_equal(proc_holds_for_writing(getpid(), st.st_dev, st.st_ino), 0);
	wo = open(path, O_WRONLY | O_APPEND);
	assert_true(wo >= 0);
	assert_int_equal(proc_holds_for_writing(getpid(), st.st_dev, st.st_ino), 1);
	/* the same inode number on another device is another file */
	assert_int_equal(proc_holds_for_writing(getpid(), st.st_dev + 1, st.st_ino), 0);
	close(ro);
	close(wo);
	unlink(path);
	assert_true(proc_holds_for_writing(-5, st.st_dev, st.st_ino) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvstore),
		cmocka_unit_test(test_clusterlog),
		cmocka_unit_test(test_clusterlog_merge),
		cmocka_unit_test(test_access),
		cmocka_unit_test(test_ipc_frames),
		cmocka_unit_test(test_wire),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_procinfo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
