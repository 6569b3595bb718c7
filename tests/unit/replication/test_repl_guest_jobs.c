/* SPDX-License-Identifier: MIT */
/*
 * Destroying a guest with its replication jobs (replication/guest_jobs.h)
 * on a directory laid out like droverfs's mount: refused while jobs name
 * the guest, unless purge, which removes them after it; the refusal comes
 * before the guest's own checks and nothing is freed; other guests' jobs
 * stay; a guest whose lock another operation holds keeps its jobs; a VM
 * and a container go the same way.
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

#include "repl_helpers.h"
#include "tmpdir.h"

#include "basic/util.h"
#include "libdrover/replication/config.h"
#include "libdrover/replication/guest_jobs.h"

/* Far from any VMID a test guest of this machine could have: ct_destroy looks at LXC's paths. */
#define VM_ID 946100
#define CT_ID 946200
#define OTHER_ID 946300

static const char repl_cfg[] = "local: 946100-0\n\ttarget n2\n\n"
			       "local: 946200-0\n\ttarget n2\n\n"
			       "local: 946300-0\n\ttarget n2\n\n";

struct fixture {
	char root[64];
	struct vm_env e;
	struct buf log;
};

static void put(struct fixture *f, const char *rel, const char *text)
{
	tmpdir_put(f->root, rel, text);
}

static bool exists(struct fixture *f, const char *rel)
{
	return tmpdir_exists(f->root, rel);
}

static void jobs(struct fixture *f, char *out, size_t len)
{
	repl_jobs_text(&f->e.st.cfs, out, len);
}

static void record(void *ctx, const struct drover_event *ev)
{
	struct buf *b = ctx;

	if (ev->kind == DROVER_EVENT_LOG)
		assert_int_equal(buf_printf(b, "%s\n", ev->text), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct drover_err err = { "" };

	snprintf(f->root, sizeof(f->root), "/tmp/test-repl-guest-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->e.st.cfs.mountpoint, sizeof(f->e.st.cfs.mountpoint), "%s", f->root);
	snprintf(f->e.st.cfs.node, sizeof(f->e.st.cfs.node), "n1");
	/* QEMU's run directory: empty, so no VM runs */
	snprintf(f->e.run_dir, sizeof(f->e.run_dir), "%s/run", f->root);
	assert_int_equal(mkdir(f->e.run_dir, 0755), 0);
	put(f, "priv/lock/.keep", "");
	put(f, "nodes/n1/qemu-server/946100.conf", "memory: 512\nname: a\n");
	put(f, "nodes/n1/lxc/946200.conf", "hostname: c\nmemory: 512\n");
	put(f, "nodes/n1/qemu-server/946300.conf", "memory: 512\nname: b\n");
	put(f, "replication.cfg", repl_cfg);
	put(f, "storage.cfg", "dir: local\n\tpath /var/lib/vz\n\tcontent images,rootdir\n");
	assert_int_equal(storage_cfg_load(&f->e.st.cfs, &f->e.st.cfg, &err), 0);
	f->log = (struct buf)BUF_INIT;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	storage_cfg_free(&f->e.st.cfg);
	buf_free(&f->log);
	tmpdir_remove(f->root);
	free(f);
	return 0;
}

static int destroy(struct fixture *f, enum guest_type type, uint32_t vmid, bool purge,
		   struct drover_err *err)
{
	struct drover_reporter rep = { record, &f->log };
	struct repl_guest_destroy_req q = {
		.type = type, .vmid = vmid, .purge = purge, .vm = &f->e, .env = &f->e.st
	};

	buf_free(&f->log);
	return repl_guest_destroy(&q, &rep, err);
}

static const char *logged(struct fixture *f)
{
	assert_int_equal(buf_terminate(&f->log), 0);
	return (const char *)f->log.data;
}

static void test_refused_without_purge(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };
	char now[256];

	assert_int_equal(destroy(f, GUEST_QEMU, VM_ID, false, &err), -EBUSY);
	assert_non_null(strstr(err.text, "replication jobs: 946100-0 (to n2)"));
	assert_non_null(strstr(err.text, "--purge"));
	assert_true(exists(f, "nodes/n1/qemu-server/946100.conf"));
	jobs(f, now, sizeof(now));
	assert_string_equal(now, "946100-0 946200-0 946300-0 ");
}

/* The jobs are the first reason given: before protection (checked under the lock). */
static void test_jobs_before_protection(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };

	put(f, "nodes/n1/qemu-server/946100.conf", "memory: 512\nprotection: 1\n");
	assert_int_equal(destroy(f, GUEST_QEMU, VM_ID, false, &err), -EBUSY);
	assert_non_null(strstr(err.text, "replication jobs"));
	assert_int_equal(destroy(f, GUEST_QEMU, VM_ID, true, &err), -EPERM);
	assert_non_null(strstr(err.text, "protected"));
	assert_true(exists(f, "nodes/n1/qemu-server/946100.conf"));
}

static void test_purge_removes_the_vms_jobs_only(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };
	char now[256];

	assert_int_equal(destroy(f, GUEST_QEMU, VM_ID, true, &err), 0);
	assert_false(exists(f, "nodes/n1/qemu-server/946100.conf"));
	assert_non_null(strstr(logged(f), "removed nodes/n1/qemu-server/946100.conf\n"
					  "removed replication job 946100-0\n"));
	jobs(f, now, sizeof(now));
	assert_string_equal(now, "946200-0 946300-0 ");
	/* the lock is released: the VMID's next operation can take it */
	assert_false(exists(f, "priv/lock/guest-946100"));
}

static void test_container_the_same_way(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };
	char now[256];

	assert_int_equal(destroy(f, GUEST_LXC, CT_ID, false, &err), -EBUSY);
	assert_non_null(strstr(err.text, "replication jobs: 946200-0 (to n2)"));
	assert_true(exists(f, "nodes/n1/lxc/946200.conf"));
	assert_int_equal(destroy(f, GUEST_LXC, CT_ID, true, &err), 0);
	assert_false(exists(f, "nodes/n1/lxc/946200.conf"));
	assert_non_null(
		strstr(logged(f), "Destroyed CT 946200\nremoved replication job 946200-0\n"));
	jobs(f, now, sizeof(now));
	assert_string_equal(now, "946100-0 946300-0 ");
}

/* No jobs: destroyed without purge, replication.cfg not rewritten. */
static void test_no_jobs(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };
	struct stat before, after;
	char path[PATH_MAX];

	put(f, "replication.cfg", "local: 946300-0\n\ttarget n2\n\n");
	snprintf(path, sizeof(path), "%s/replication.cfg", f->root);
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(destroy(f, GUEST_QEMU, VM_ID, true, &err), 0);
	assert_false(exists(f, "nodes/n1/qemu-server/946100.conf"));
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_null(strstr(logged(f), "replication job"));
}

/* Another operation holds the guest's lock: nothing is destroyed, no job removed. */
static void test_guest_locked(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };
	char now[256];

	put(f, "priv/lock/guest-946100/.keep", "");
	assert_int_equal(destroy(f, GUEST_QEMU, VM_ID, true, &err), -EBUSY);
	assert_true(exists(f, "nodes/n1/qemu-server/946100.conf"));
	jobs(f, now, sizeof(now));
	assert_string_equal(now, "946100-0 946200-0 946300-0 ");
}

/*
 * The jobs' removal fails once the VM's config is gone: the error says the
 * VM is destroyed, and destroy --purge again removes the jobs (a new guest
 * of that VMID would meet them else); a guest that never was stays an error.
 */
static void test_purge_failing_half_way(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };
	char path[PATH_MAX], now[256];

	snprintf(path, sizeof(path), "%s/replication.cfg", f->root);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0755), 0); /* unreadable as a file */
	assert_true(destroy(f, GUEST_QEMU, VM_ID, true, &err) < 0);
	assert_false(exists(f, "nodes/n1/qemu-server/946100.conf"));
	assert_non_null(strstr(err.text, "is destroyed but its replication jobs"));
	assert_int_equal(rmdir(path), 0);
	put(f, "replication.cfg", repl_cfg);
	err.text[0] = '\0';
	assert_int_equal(destroy(f, GUEST_QEMU, VM_ID, true, &err), 0);
	assert_non_null(strstr(logged(f), "removed replication job 946100-0\n"));
	jobs(f, now, sizeof(now));
	assert_string_equal(now, "946200-0 946300-0 ");
	/* nothing left to purge: the guest that is not there is the error again */
	assert_int_equal(destroy(f, GUEST_QEMU, VM_ID, true, &err), -ENOENT);
	assert_int_equal(destroy(f, GUEST_QEMU, 946999, true, &err), -ENOENT);
}

static void test_missing_environment(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };
	struct repl_guest_destroy_req q = { .type = GUEST_QEMU, .vmid = VM_ID, .env = &f->e.st };

	assert_int_equal(repl_guest_destroy(&q, NULL, &err), -EINVAL);
	assert_true(exists(f, "nodes/n1/qemu-server/946100.conf"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refused_without_purge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jobs_before_protection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_purge_removes_the_vms_jobs_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_container_the_same_way, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_jobs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_locked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_purge_failing_half_way, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_environment, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
