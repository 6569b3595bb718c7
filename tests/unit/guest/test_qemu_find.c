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
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100), 0);

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
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100), 0);
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 101), 302);

	/* a stale pid file naming another VM's QEMU, or no QEMU: not running */
	write_pid(t.p.pid, 302);
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100), 0);
	write_pid(t.p.pid, 300);
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100), 0);

	/* VM 100's QEMU (an upgraded binary: "(deleted)"), found with the pid file stale... */
	fake_process(&t, 304, "/usr/bin/qemu-system-x86_64 (deleted)", "/",
		     (const char *const[]){ "qemu-system-x86_64", "-chardev",
					    "socket,id=qmp,path=/nowhere.qmp", "-pidfile", t.p.pid,
					    NULL });
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100), 304);
	/* ...the pid file gone... */
	assert_int_equal(unlink(t.p.pid), 0);
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100), 304);
	/* ...or right */
	write_pid(t.p.pid, 304);
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100), 304);
	/* the run directory spelt with a trailing slash: the same paths */
	{
		char slash[200];

		snprintf(slash, sizeof(slash), "%s//", t.run);
		assert_int_equal(qemu_vm_pid(t.proc, slash, 100), 304);
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
		assert_int_equal(qemu_vm_pid(t.proc, path, 100), 305);
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
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100), 0);
	tmpdir_remove(t.proc);
	assert_int_equal(mkdir_p(t.proc, 0755), 0);
	/* a QEMU whose command line names only the socket (the scan would find it too) */
	snprintf(real, sizeof(real), "socket,id=qmp,path=%s,server=on,wait=off", t.p.qmp);
	fake_process(&t, (int)getpid(), "/usr/bin/qemu-system-aarch64", "/",
		     (const char *const[]){ "qemu-system-aarch64", "-chardev", real, NULL });
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100), getpid());
	close(peer);
	close(fd);
	unlink(t.p.qmp);
	/* the socket gone: the scan still finds it */
	assert_int_equal(qemu_vm_pid(t.proc, t.run, 100), getpid());
	tmpdir_remove(t.dir);
}

/* The real /proc: no QEMU names a fresh run directory. */
static void test_real_proc(void **state)
{
	struct guest_runtime rt;
	struct tree t;

	(void)state;
	tree_make(&t);
	assert_int_equal(qemu_vm_pid(NULL, t.run, 100), 0);
	write_pid(t.p.pid, (int)getpid());
	assert_int_equal(qemu_vm_pid(NULL, t.run, 100), 0);
	assert_int_equal(qemu_runtime_read(t.run, 100, &rt), 0);
	assert_false(rt.running);
	tmpdir_remove(t.dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmdline_match),
		cmocka_unit_test(test_find_in_proc),
		cmocka_unit_test(test_find_by_qmp_socket),
		cmocka_unit_test(test_real_proc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
