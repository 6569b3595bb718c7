/* SPDX-License-Identifier: MIT */
/*
 * create-local-job (replication/jobs_edit.h repl_job_create) against the
 * guest's lock, on a directory laid out like droverfs's mount: a job is
 * created under priv/lock/guest-VMID and the lock released after; a guest
 * whose config has lock: set is refused; a create that comes while a
 * destroy holds the guest's lock waits for it and then finds no guest, so
 * replication.cfg never names a destroyed guest; a lock nobody releases
 * refuses the create once the wait is over.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "repl_helpers.h"
#include "tmpdir.h"

#include "basic/util.h"
#include "libdrover/guest/conf_edit.h"
#include "libdrover/guest/vm.h"
#include "libdrover/replication/config.h"
#include "libdrover/replication/jobs_edit.h"

/* Far from any VMID a test guest of this machine could have. */
#define VM_ID 946400
#define CT_ID 946500

static const char corosync_conf[] = "totem {\n"
				    "  cluster_name: t\n"
				    "  config_version: 1\n"
				    "  version: 2\n"
				    "}\n"
				    "nodelist {\n"
				    "  node {\n"
				    "    name: n1\n"
				    "    nodeid: 1\n"
				    "    ring0_addr: 10.0.0.1\n"
				    "  }\n"
				    "  node {\n"
				    "    name: n2\n"
				    "    nodeid: 2\n"
				    "    ring0_addr: 10.0.0.2\n"
				    "  }\n"
				    "}\n";

#define VM_CONF "memory: 512\nscsi0: local:946400/vm-946400-disk-0.raw,size=1M\n"
#define VM_REL "nodes/n1/qemu-server/946400.conf"
#define DISK_REL "vz/images/946400/vm-946400-disk-0.raw"

struct fixture {
	char root[64];
	struct vm_env e;
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

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct drover_err err = { "" };
	char text[PATH_MAX + 64];

	snprintf(f->root, sizeof(f->root), "/tmp/test-repl-create-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->e.st.cfs.mountpoint, sizeof(f->e.st.cfs.mountpoint), "%s", f->root);
	snprintf(f->e.st.cfs.node, sizeof(f->e.st.cfs.node), "n1");
	/* QEMU's run directory: empty, so no VM runs */
	snprintf(f->e.run_dir, sizeof(f->e.run_dir), "%s/run", f->root);
	assert_int_equal(mkdir(f->e.run_dir, 0755), 0);
	put(f, "priv/lock/.keep", "");
	put(f, "corosync.conf", corosync_conf);
	put(f, VM_REL, VM_CONF);
	put(f, DISK_REL, "");
	put(f, "nodes/n1/lxc/946500.conf",
	    "hostname: c\nmemory: 512\nrootfs: local:946500/vm-946500-disk-0.raw,size=1M\n");
	snprintf(text, sizeof(text), "dir: local\n\tpath %s/vz\n\tcontent images,rootdir\n",
		 f->root);
	put(f, "storage.cfg", text);
	assert_int_equal(storage_cfg_load(&f->e.st.cfs, &f->e.st.cfg, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	storage_cfg_free(&f->e.st.cfg);
	tmpdir_remove(f->root);
	free(f);
	return 0;
}

static int create(struct fixture *f, uint32_t guest, struct drover_err *err)
{
	struct repl_job_edit e = { 0 };

	e.job.guest = guest;
	e.job.jobnum = 0;
	snprintf(e.job.target, sizeof(e.job.target), "n2");
	return repl_job_create(&f->e.st.cfs, &e, err);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_created_under_the_lock(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };
	char now[256];

	assert_int_equal(create(f, VM_ID, &err), 0);
	jobs(f, now, sizeof(now));
	assert_string_equal(now, "946400-0 ");
	/* released: the guest's next operation can take it */
	assert_false(exists(f, "priv/lock/guest-946400"));
	assert_false(exists(f, "priv/lock/file-replication_cfg"));
	assert_int_equal(create(f, CT_ID, &err), 0);
	jobs(f, now, sizeof(now));
	assert_string_equal(now, "946400-0 946500-0 ");
}

/* lock: set (a backup, migration or destroy under way): refused, nothing written. */
static void test_config_locked(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };
	char now[256];

	put(f, VM_REL, "lock: backup\n" VM_CONF);
	assert_int_equal(create(f, VM_ID, &err), -EBUSY);
	assert_string_equal(err.text,
			    "cannot create replication job 946400-0: VM 946400 is locked (backup)");
	put(f, "nodes/n1/lxc/946500.conf",
	    "hostname: c\nlock: migrate\nrootfs: local:946500/vm-946500-disk-0.raw,size=1M\n");
	assert_int_equal(create(f, CT_ID, &err), -EBUSY);
	assert_non_null(strstr(err.text, "CT 946500 is locked (migrate)"));
	jobs(f, now, sizeof(now));
	assert_string_equal(now, "");
	assert_false(exists(f, "priv/lock/guest-946400"));
	assert_false(exists(f, "priv/lock/guest-946500"));
	/* unlocked again: created */
	put(f, VM_REL, VM_CONF);
	assert_int_equal(create(f, VM_ID, &err), 0);
}

/* The destroy's side: its no-jobs check, then a slow freeing (an RBD image's removal). */
struct slow_destroy {
	const struct cfs_brief *b;
	int ready; /* written once the check is done, the guest's lock held */
};

static int slow_check(void *ctx, uint32_t vmid, struct drover_err *err)
{
	struct slow_destroy *s = ctx;
	struct repl_cfg cfg;
	const struct timespec pause = { 1, 500 * 1000 * 1000 };
	int r = repl_cfg_load(s->b, &cfg, err);

	if (r < 0)
		return r;
	for (size_t i = 0; i < cfg.n; i++)
		if (cfg.jobs[i].guest == vmid)
			r = drover_fail(err, -EBUSY, "guest has replication jobs");
	repl_cfg_free(&cfg);
	if (r < 0)
		return r;
	if (write(s->ready, "x", 1) != 1)
		return -EIO;
	nanosleep(&pause, NULL);
	return 0;
}

/*
 * A destroy (the real vm_destroy, holding priv/lock/guest-VMID) has found
 * no jobs and is freeing the disk when the create comes: the create waits
 * for the lock, then finds the guest gone. replication.cfg never gets a
 * job for the destroyed guest (a new guest of that VMID would inherit it).
 */
static void test_waits_for_a_destroy(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };
	int pipefd[2], status;
	double start, waited;
	char now[256], c;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct slow_destroy s = { &f->e.st.cfs, pipefd[1] };
		struct guest_destroy_hook hook = { slow_check, NULL, &s };
		struct drover_err e = { "" };

		close(pipefd[0]);
		_exit(vm_destroy(&f->e, VM_ID, &hook, NULL, &e) == 0 ? 0 : 1);
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	close(pipefd[0]);
	/* the destroy holds the guest's lock and is asleep in its freeing */
	assert_true(exists(f, "priv/lock/guest-946400"));
	assert_true(exists(f, VM_REL));
	start = now_s();
	assert_int_equal(create(f, VM_ID, &err), -ENOENT);
	waited = now_s() - start;
	assert_string_equal(err.text, "guest 946400 does not exist");
	/* it waited for the destroy's lock, not for the whole timeout */
	assert_true(waited > 0.5);
	assert_true(waited < GUEST_CONF_LOCK_TIMEOUT_MS / 1000.0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_false(exists(f, VM_REL));
	assert_false(exists(f, DISK_REL));
	jobs(f, now, sizeof(now));
	assert_string_equal(now, "");
	assert_false(exists(f, "priv/lock/guest-946400"));
	/* a new guest of that VMID starts without jobs */
	put(f, VM_REL, VM_CONF);
	assert_int_equal(create(f, VM_ID, &err), 0);
}

/* Another operation keeps the guest's lock past the wait: refused, saying so, nothing written. */
static void test_lock_kept_refuses(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };
	char now[256];

	assert_int_equal(guest_cluster_lock_at(&f->e.st.cfs, VM_ID, &err), 0);
	assert_int_equal(create(f, VM_ID, &err), -EBUSY);
	assert_string_equal(err.text, "cannot take the cluster lock priv/lock/guest-946400: "
				      "another operation on this guest is running");
	jobs(f, now, sizeof(now));
	assert_string_equal(now, "");
	/* the other operation's lock is still its own */
	assert_true(exists(f, "priv/lock/guest-946400"));
	/* other guests are not held up */
	assert_int_equal(create(f, CT_ID, &err), 0);
	guest_cluster_unlock_at(&f->e.st.cfs, VM_ID);
	assert_int_equal(create(f, VM_ID, &err), 0);
	jobs(f, now, sizeof(now));
	assert_string_equal(now, "946500-0 946400-0 ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_created_under_the_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_locked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_waits_for_a_destroy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_kept_refuses, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
