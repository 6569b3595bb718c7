/* SPDX-License-Identifier: MIT */
/*
 * The receive locks (libdrover/stream/receive_lock): held by another
 * process (a real fork, as an import is), a volume's lock is refused with
 * the holder's pid; all-or-none for a guest's volumes; a holder that dies
 * leaves no lock behind; volumes whose names differ only in ':' or '/'
 * have their own locks.
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "libdrover/stream/receive_lock.h"

/* A child that holds volid's lock until killed; returns its pid once it holds it. */
static pid_t hold_in_child(const char *dir, const char *volid)
{
	int p[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct drover_err err = { "" };
		pid_t holder;
		int fd;

		close(p[0]);
		if (receive_lock_take(dir, volid, &fd, &holder, &err) < 0)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static void reap(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void test_held_elsewhere(void **state)
{
	/* room for "/receive" after the name mkdtemp makes */
	char dir[64] = "/tmp/drover-recvlock-XXXXXX";
	struct drover_err err = { "" };
	pid_t child, holder;
	int fd;

	assert_non_null(mkdtemp(dir));
	/* the directory is made when missing */
	strcat(dir, "/receive");
	child = hold_in_child(dir, "local-btrfs:vm-110-disk-0");
	assert_int_equal(receive_lock_take(dir, "local-btrfs:vm-110-disk-0", &fd, &holder, &err),
			 -EBUSY);
	assert_int_equal(holder, child);
	assert_int_equal(fd, -1);
	/* another volume, and names that differ in ':' or '/' alone, are free */
	assert_int_equal(receive_lock_take(dir, "local-btrfs:vm-110-disk-1", &fd, &holder, &err),
			 0);
	receive_lock_release(fd);
	assert_int_equal(receive_lock_take(dir, "local-btrfs/vm-110-disk-0", &fd, &holder, &err),
			 0);
	receive_lock_release(fd);
	/* the holder dies (a killed import): the kernel drops its lock */
	reap(child);
	assert_int_equal(receive_lock_take(dir, "local-btrfs:vm-110-disk-0", &fd, &holder, &err),
			 0);
	/* and while this process holds it, another open of it is refused too */
	{
		int fd2;

		assert_int_equal(
			receive_lock_take(dir, "local-btrfs:vm-110-disk-0", &fd2, &holder, &err),
			-EBUSY);
		assert_int_equal(holder, getpid());
	}
	receive_lock_release(fd);
	dir[strlen(dir) - strlen("/receive")] = '\0';
	tmpdir_remove(dir);
}

static void test_all_or_none(void **state)
{
	char dir[] = "/tmp/drover-recvlock-XXXXXX", want[160];
	const char *vols[] = { "local:110/vm-110-disk-0.raw", "local-btrfs:vm-110-disk-1",
			       "local-btrfs:vm-110-disk-2" };
	struct drover_err err = { "" };
	int fds[3], fd;
	pid_t child, holder;

	assert_non_null(mkdtemp(dir));
	child = hold_in_child(dir, vols[1]);
	assert_int_equal(receive_lock_all(dir, vols, 3, fds, &err), -EBUSY);
	snprintf(want, sizeof(want),
		 "a replication receive for local-btrfs:vm-110-disk-1 is still running (pid %ld)",
		 (long)child);
	assert_string_equal(err.text, want);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fds[i], -1);
	/* the first volume's lock was given back */
	assert_int_equal(receive_lock_take(dir, vols[0], &fd, &holder, &err), 0);
	receive_lock_release(fd);
	reap(child);
	assert_int_equal(receive_lock_all(dir, vols, 3, fds, &err), 0);
	/* held: an import into any of them is refused */
	assert_int_equal(receive_lock_take(dir, vols[2], &fd, &holder, &err), -EBUSY);
	receive_lock_release_all(fds, 3);
	assert_int_equal(receive_lock_take(dir, vols[2], &fd, &holder, &err), 0);
	receive_lock_release(fd);
	tmpdir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_held_elsewhere),
		cmocka_unit_test(test_all_or_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
