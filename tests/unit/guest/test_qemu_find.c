/* SPDX-License-Identifier: MIT */
/*
 * Finding a VM's QEMU by more than its pid file (qemu_vm_pid): the command
 * line matching, and the search through a /proc-like tree (fake processes:
 * exe links, cmdline files, root links), with real sockets and pid files.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>
#include "tmpdir.h"
#include "basic/util.h"
#include "libdrover/guest/guest_runtime.h"
#include "libdrover/guest/qemu/runtime.h"

/* argv as /proc/PID/cmdline holds it: every string NUL-terminated. */
static size_t argv_blob(char *out, size_t len, const char *const *argv)
{
	size_t n = 0;

	for (; *argv; argv++) {
		size_t l = strlen(*argv) + 1;

		assert_true(n + l <= len);
		memcpy(out + n, *argv, l);
		n += l;
	}
	return n;
}

static bool matches(const char *const *argv)
{
	char blob[2048];
	size_t n = argv_blob(blob, sizeof(blob), argv);

	return qemu_cmdline_is_vm(blob, n, "/run/q/100.pid", "/run/q/100.qmp");
}

static void test_cmdline_match(void **state)
{
	char blob[256];
	size_t n;

	(void)state;
	/* what qemu_cmdline() writes */
	assert_true(matches((const char *const[]){
		"qemu-system-x86_64", "-name", "a,debug-threads=on", "-chardev",
		"socket,id=qmp,path=/run/q/100.qmp,server=on,wait=off", "-mon",
		"chardev=qmp,mode=control", "-pidfile", "/run/q/100.pid", NULL }));
	/* either argument alone names it; --opt as -opt */
	assert_true(matches((const char *const[]){ "qemu-system-x86_64", "--pidfile",
						   "/run/q/100.pid", NULL }));
	assert_true(matches((const char *const[]){ "qemu-system-x86_64", "-chardev",
						   "socket,id=qmp,path=/run/q/100.qmp", NULL }));
	/* another VM: a VMID that begins the same, or one longer */
	assert_false(matches((const char *const[]){
		"qemu-system-x86_64", "-pidfile", "/run/q/1000.pid", "-chardev",
		"socket,id=qmp,path=/run/q/1000.qmp,server=on", NULL }));
	assert_false(matches(
		(const char *const[]){ "qemu-system-x86_64", "-pidfile", "/run/q/10.pid", NULL }));
	/* another run directory */
	assert_false(matches(
		(const char *const[]){ "qemu-system-x86_64", "-pidfile", "/run/r/100.pid", NULL }));
	/* the path elsewhere than after its option */
	assert_false(matches((const char *const[]){ "qemu-system-x86_64", "/run/q/100.pid", "-name",
						    "/run/q/100.pid", "-pidfile", NULL }));
	assert_false(matches((const char *const[]){ "qemu-system-x86_64", "-chardev",
						    "socket,id=mon,path=/run/q/100.qmp", NULL }));
	assert_false(matches((const char *const[]){ NULL }));
	/* an argument cut short (no NUL at the end) is not trusted */
	n = argv_blob(
		blob, sizeof(blob),
		(const char *const[]){ "qemu-system-x86_64", "-pidfile", "/run/q/100.pid", NULL });
	assert_false(qemu_cmdline_is_vm(blob, n - 1, "/run/q/100.pid", "/run/q/100.qmp"));
	assert_false(qemu_cmdline_is_vm(blob, 0, "/run/q/100.pid", "/run/q/100.qmp"));

	/* a comma in the socket path is doubled on the command line */
	n = argv_blob(blob, sizeof(blob),
		      (const char *const[]){ "q", "-chardev",
					     "socket,id=qmp,path=/run/a,,b/7.qmp,server=on",
					     NULL });
	assert_true(qemu_cmdline_is_vm(blob, n, "/x.pid", "/run/a,b/7.qmp"));
	assert_false(qemu_cmdline_is_vm(blob, n, "/x.pid", "/run/a"));
	n = argv_blob(blob, sizeof(blob),
		      (const char *const[]){ "q", "-chardev", "socket,id=qmp,path=/run/a,b/7.qmp",
					     NULL });
	assert_false(qemu_cmdline_is_vm(blob, n, "/x.pid", "/run/a,b/7.qmp"));
}

struct tree {
	char dir[64]; /* the temporary folder */
	char proc[128]; /* DIR/proc: the fake /proc */
	char run[128]; /* DIR/run: the run directory */
	struct qemu_paths p; /* VM 100's paths */
};

/* A fake process pid: exe linked to exe, its argv, its root linked to root. */
static void fake_process(const struct tree *t, int pid, const char *exe, const char *root,
			 const char *const *argv)
{
	char path[PATH_MAX], blob[2048];
	size_t n = argv_blob(blob, sizeof(blob), argv);

	snprintf(path, sizeof(path), "%s/%d", t->proc, pid);
	assert_int_equal(mkdir_p(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%d/cmdline", t->proc, pid);
	assert_int_equal(write_file_atomic(path, blob, n, 0644), 0);
	if (exe) {
		snprintf(path, sizeof(path), "%s/%d/exe", t->proc, pid);
		assert_int_equal(symlink(exe, path), 0);
	}
	snprintf(path, sizeof(path), "%s/%d/root", t->proc, pid);
	assert_int_equal(symlink(root, path), 0);
}

static void tree_make(struct tree *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/drover-qfind-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->proc, sizeof(t->proc), "%s/proc", t->dir);
	snprintf(t->run, sizeof(t->run), "%s/run", t->dir);
	assert_int_equal(mkdir_p(t->proc, 0755), 0);
	assert_int_equal(mkdir_p(t->run, 0700), 0);
	assert_int_equal(qemu_paths_init(t->run, 100, &t->p, NULL), 0);
}

static void write_pid(const char *path, int pid)
{
	char text[32];

	snprintf(text, sizeof(text), "%d\n", pid);
	assert_int_equal(write_file_atomic(path, text, strlen(text), 0644), 0);
}

static void test_find_in_proc(void **state)
{
	const char *qemu = "/usr/bin/qemu-system-x86_64";
	char other_root[128], path[400];
	struct tree t;

	(void)state;
	tree_make(&t);
	/* nothing at all: stopped */
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100, NULL), 0);

	/* not QEMU, though its command line names the VM */
	fake_process(&t, 300, "/usr/bin/bash", "/",
		     (const char *const[]){ "bash", "-pidfile", t.p.pid, NULL });
	/* a zombie or a kernel thread: no exe */
	fake_process(&t, 301, NULL, "/",
		     (const char *const[]){ "qemu-system-x86_64", "-pidfile", t.p.pid, NULL });
	/* VM 101's QEMU */
	snprintf(path, sizeof(path), "%s/101.pid", t.run);
	fake_process(&t, 302, qemu, "/",
		     (const char *const[]){ "qemu-system-x86_64", "-pidfile", path, NULL });
	/* a sandbox neighbour's VM 100: the same paths in its own run directory */
	snprintf(other_root, sizeof(other_root), "%s/other", t.dir);
	snprintf(path, sizeof(path), "%s%s", other_root, t.run);
	assert_int_equal(mkdir_p(path, 0700), 0);
	fake_process(&t, 303, qemu, other_root,
		     (const char *const[]){ "qemu-system-x86_64", "-pidfile", t.p.pid, NULL });
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100, NULL), 0);
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 101, NULL), 302);

	/* a stale pid file naming another VM's QEMU, or no QEMU: not running */
	write_pid(t.p.pid, 302);
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100, NULL), 0);
	write_pid(t.p.pid, 300);
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100, NULL), 0);

	/* VM 100's QEMU (an upgraded binary: "(deleted)"), found with the pid file stale... */
	fake_process(&t, 304, "/usr/bin/qemu-system-x86_64 (deleted)", "/",
		     (const char *const[]){ "qemu-system-x86_64", "-chardev",
					    "socket,id=qmp,path=/nowhere.qmp", "-pidfile", t.p.pid,
					    NULL });
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100, NULL), 304);
	/* ...the pid file gone... */
	assert_int_equal(unlink(t.p.pid), 0);
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100, NULL), 304);
	/* ...or right */
	write_pid(t.p.pid, 304);
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100, NULL), 304);
	/* the run directory spelt with a trailing slash: the same paths */
	{
		char slash[200];

		snprintf(slash, sizeof(slash), "%s//", t.run);
		assert_int_equal(qemu_vm_pid(t.proc, slash, 100, NULL), 304);
	}
	assert_true(qemu_pid_is_vm(t.proc, 304, &t.p, t.run));
	assert_false(qemu_pid_is_vm(t.proc, 303, &t.p, t.run));
	assert_false(qemu_pid_is_vm(t.proc, 0, &t.p, t.run));

	/* the run directory gone here and there alike (/run wiped): ours, to be safe */
	snprintf(path, sizeof(path), "%s/gone", t.dir);
	{
		struct qemu_paths gone;
		char theirs[600];

		assert_int_equal(qemu_paths_init(path, 100, &gone, NULL), 0);
		fake_process(
			&t, 305, qemu, "/",
			(const char *const[]){ "qemu-system-x86_64", "-pidfile", gone.pid, NULL });
		assert_true(qemu_pid_is_vm(t.proc, 305, &gone, path));
		/* ...but not a neighbour's that still has one where we have none */
		snprintf(theirs, sizeof(theirs), "%s%s", other_root, path);
		assert_int_equal(mkdir_p(theirs, 0700), 0);
		fake_process(
			&t, 306, qemu, other_root,
			(const char *const[]){ "qemu-system-x86_64", "-pidfile", gone.pid, NULL });
		assert_false(qemu_pid_is_vm(t.proc, 306, &gone, path));
		assert_int_equal(qemu_vm_pid(t.proc, path, 100, NULL), 305);
	}
	tmpdir_remove(t.dir);
}

/* The pid file gone: the QMP socket's listener (a real socket, this process a fake QEMU). */
static void test_find_by_qmp_socket(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct tree t;
	char real[PATH_MAX];
	int fd, peer;

	(void)state;
	tree_make(&t);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", t.p.qmp);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	/* a QMP client already connected (not accepted): ours still gets through */
	peer = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(peer, (struct sockaddr *)&sa, sizeof(sa)), 0);

	/* the listener is no QEMU: stopped */
	fake_process(&t, (int)getpid(), "/usr/bin/bash", "/",
		     (const char *const[]){ "bash", "-chardev", "socket,id=qmp,path=/elsewhere.qmp",
					    NULL });
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100, NULL), 0);
	tmpdir_remove(t.proc);
	assert_int_equal(mkdir_p(t.proc, 0755), 0);
	/* a QEMU whose command line names only the socket (the scan would find it too) */
	snprintf(real, sizeof(real), "socket,id=qmp,path=%s,server=on,wait=off", t.p.qmp);
	fake_process(&t, (int)getpid(), "/usr/bin/qemu-system-aarch64", "/",
		     (const char *const[]){ "qemu-system-aarch64", "-chardev", real, NULL });
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100, NULL), getpid());
	close(peer);
	close(fd);
	unlink(t.p.qmp);
	/* the socket gone: the scan still finds it */
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100, NULL), getpid());
	tmpdir_remove(t.dir);
}

/* A fake QEMU of a VM under run_dir naming its pid file, its QMP socket or both. */
static void fake_qemu(const struct tree *t, int pid, const char *root, const char *run_dir,
		      uint32_t vmid, bool pidfile, bool qmp)
{
	char chardev[600];
	const char *argv[8];
	struct qemu_paths p;
	size_t n = 0;

	assert_int_equal(qemu_paths_init(run_dir, vmid, &p, NULL), 0);
	argv[n++] = "qemu-system-x86_64";
	if (qmp) {
		char *o = chardev + snprintf(chardev, sizeof(chardev), "socket,id=qmp,path=");

		/* a comma in the path doubled, as qemu_cmdline() writes it */
		for (const char *c = p.qmp; *c; c++) {
			*o++ = *c;
			if (*c == ',')
				*o++ = ',';
		}
		snprintf(o, (size_t)(chardev + sizeof(chardev) - o), ",server=on,wait=off");
		argv[n++] = "-chardev";
		argv[n++] = chardev;
	}
	if (pidfile) {
		argv[n++] = "-pidfile";
		argv[n++] = p.pid;
	}
	argv[n] = NULL;
	fake_process(t, pid, "/usr/bin/qemu-system-x86_64", root, argv);
}

/* Take process pid out of the fake /proc (it ended). */
static void fake_exit(const struct tree *t, int pid)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%d", t->proc, pid);
	tmpdir_remove(path);
}

/* What qemu_vm_pid says for vmid, with index ix and without: the same. */
static pid_t find_both(const struct tree *t, const char *run_dir, uint32_t vmid,
		       struct qemu_proc_index *ix)
{
	pid_t with = qemu_vm_pid(t->proc, run_dir, vmid, ix);

	assert_int_equal(with, qemu_vm_pid(t->proc, run_dir, vmid, NULL));
	return with;
}

/*
 * Several VMs in one scan, pid files and QMP sockets gone (/run wiped):
 * the index finds each QEMU as the scan of its own would, the neighbour's
 * and the non-QEMU's not.
 */
static void test_index_many_vms(void **state)
{
	char other_root[128], path[400], comma_run[200];
	struct qemu_proc_index *ix = NULL;
	struct tree t;

	(void)state;
	tree_make(&t);
	snprintf(other_root, sizeof(other_root), "%s/other", t.dir);
	snprintf(path, sizeof(path), "%s%s", other_root, t.run);
	assert_int_equal(mkdir_p(path, 0700), 0);
	snprintf(comma_run, sizeof(comma_run), "%s/r,un", t.dir);
	assert_int_equal(mkdir_p(comma_run, 0700), 0);

	fake_qemu(&t, 400, "/", t.run, 100, true, true);
	fake_qemu(&t, 401, "/", t.run, 101, true, false);
	fake_qemu(&t, 402, "/", t.run, 102, false, true);
	fake_qemu(&t, 403, other_root, t.run, 103, true, true); /* a sandbox neighbour's */
	fake_process(&t, 404, "/usr/bin/bash", "/",
		     (const char *const[]){ "bash", "-pidfile", t.p.pid, NULL }); /* names 100 */
	fake_qemu(&t, 405, "/", comma_run, 105, false, true);
	fake_process(&t, 406, NULL, "/", (const char *const[]){ "kthread", NULL });

	assert_int_equal(qemu_proc_index_new(t.proc, &ix), 0);
	assert_non_null(ix);
	assert_int_equal(find_both(&t, t.run, 100, ix), 400);
	assert_int_equal(find_both(&t, t.run, 101, ix), 401);
	assert_int_equal(find_both(&t, t.run, 102, ix), 402);
	assert_int_equal(find_both(&t, t.run, 103, ix), 0);
	assert_int_equal(find_both(&t, t.run, 104, ix), 0);
	assert_int_equal(find_both(&t, comma_run, 105, ix), 405);
	assert_int_equal(find_both(&t, t.run, 105, ix), 0);
	/* ix's own proc, whatever the caller passes */
	assert_int_equal(qemu_vm_pid(NULL, t.run, 101, ix), 401);

	/*
	 * One scan for all: a QEMU started since, its pid file and socket
	 * gone, is not in it (the documented limit: one index per pass)...
	 */
	fake_qemu(&t, 407, "/", t.run, 107, true, true);
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 107, ix), 0);
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 107, NULL), 407);
	/* ...but its pid file is, as without an index */
	write_pid(t.p.pid, 400);
	{
		struct qemu_paths p107;

		assert_int_equal(qemu_paths_init(t.run, 107, &p107, NULL), 0);
		write_pid(p107.pid, 407);
	}
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 107, ix), 407);
	qemu_proc_index_free(ix);
	qemu_proc_index_free(NULL);
	tmpdir_remove(t.dir);
}

/* A QEMU in the index that ended since, its pid reused: not the VM's. */
static void test_index_reused_pid(void **state)
{
	struct qemu_proc_index *ix = NULL;
	struct tree t;

	(void)state;
	tree_make(&t);
	fake_qemu(&t, 500, "/", t.run, 100, true, true);
	fake_qemu(&t, 501, "/", t.run, 101, true, true);
	fake_qemu(&t, 502, "/", t.run, 102, true, true);
	assert_int_equal(qemu_proc_index_new(t.proc, &ix), 0);
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100, ix), 500); /* the scan */

	/* 500 now a shell whose command line still names VM 100 */
	fake_exit(&t, 500);
	fake_process(&t, 500, "/usr/bin/bash", "/",
		     (const char *const[]){ "bash", "-pidfile", t.p.pid, NULL });
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100, ix), 0);
	/* 501 now the QEMU of another VM */
	fake_exit(&t, 501);
	fake_qemu(&t, 501, "/", t.run, 108, true, true);
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 101, ix), 0);
	/* 502 gone altogether */
	fake_exit(&t, 502);
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 102, ix), 0);
	/* the new QEMU of VM 108 was not there at the scan: its own scan finds it */
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 108, ix), 0);
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 108, NULL), 501);
	qemu_proc_index_free(ix);
	tmpdir_remove(t.dir);
}

/*
 * The scan is made when a VM first needs it, not before: VMs told by
 * their pid file cost none. A proc that cannot be read leaves each VM to
 * its own scan, as without an index.
 */
static void test_index_lazy_and_failing(void **state)
{
	struct qemu_proc_index *ix = NULL;
	char missing[200];
	struct tree t;

	(void)state;
	tree_make(&t);
	assert_int_equal(qemu_proc_index_new(t.proc, &ix), 0);
	fake_qemu(&t, 600, "/", t.run, 100, true, true);
	write_pid(t.p.pid, 600);
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100, ix), 600); /* the pid file: no scan */
	fake_qemu(&t, 601, "/", t.run, 101, true, false);
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 101, ix), 601); /* scanned now: seen */
	qemu_proc_index_free(ix);

	snprintf(missing, sizeof(missing), "%s/no-proc", t.dir);
	assert_int_equal(qemu_proc_index_new(missing, &ix), 0);
	assert_int_equal(qemu_vm_pid(missing, t.run, 101, ix), 0);
	assert_int_equal(qemu_vm_pid(missing, t.run, 102, ix), 0);
	qemu_proc_index_free(ix);
	tmpdir_remove(t.dir);
}

/* The real /proc: no QEMU names a fresh run directory. */
static void test_real_proc(void **state)
{
	struct guest_runtime rt;
	struct tree t;

	(void)state;
	tree_make(&t);
	assert_int_equal(qemu_vm_pid(NULL, t.run, 100, NULL), 0);
	write_pid(t.p.pid, (int)getpid());
	assert_int_equal(qemu_vm_pid(NULL, t.run, 100, NULL), 0);
	assert_int_equal(qemu_runtime_read(t.run, 100, NULL, &rt), 0);
	assert_false(rt.running);
	/* an index of the real processes says the same */
	{
		struct qemu_proc_index *ix = NULL;

		assert_int_equal(qemu_proc_index_new(NULL, &ix), 0);
		assert_int_equal(qemu_vm_pid(NULL, t.run, 100, ix), 0);
		assert_int_equal(qemu_runtime_read(t.run, 101, ix, &rt), 0);
		assert_false(rt.running);
		qemu_proc_index_free(ix);
	}
	tmpdir_remove(t.dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmdline_match),
		cmocka_unit_test(test_find_in_proc),
		cmocka_unit_test(test_find_by_qmp_socket),
		cmocka_unit_test(test_index_many_vms),
		cmocka_unit_test(test_index_reused_pid),
		cmocka_unit_test(test_index_lazy_and_failing),
		cmocka_unit_test(test_real_proc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
