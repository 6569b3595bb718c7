/* SPDX-License-Identifier: MIT */
/*
 * Guest config edits (libdrover/guest/conf_edit.h) on a directory laid out
 * like droverfs's mount: the lock directory, lock: refusals, an edit that
 * fails writes nothing, VMID uniqueness across nodes and types, lock and
 * unlock.
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

#include "basic/util.h"
#include "libdrover/guest/conf_edit.h"

struct fixture {
	char root[64];
	struct cfs_brief b;
};

static void put(struct fixture *f, const char *rel, const char *text)
{
	tmpdir_put(f->root, rel, text);
}

static char *get(struct fixture *f, const char *rel)
{
	char path[PATH_MAX], *data = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	if (read_file_max(path, 1 << 20, &data, &len) < 0)
		return NULL;
	return data;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->root, sizeof(f->root), "/tmp/test-conf-edit-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->b.mountpoint, sizeof(f->b.mountpoint), "%s", f->root);
	snprintf(f->b.node, sizeof(f->b.node), "n1");
	put(f, "priv/lock/.keep", "");
	put(f, "nodes/n1/qemu-server/100.conf", "memory: 511\nname: a\n");
	put(f, "nodes/n2/lxc/200.conf", "hostname: c\nmemory: 512\n");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tmpdir_remove(f->root);
	free(f);
	return 0;
}

static int set_cores(struct guest_conf *c, void *arg, struct drover_err *err)
{
	return guest_set(guest_conf_current(c), "cores", arg, err);
}

static int fail_edit(struct guest_conf *c, void *arg, struct drover_err *err)
{
	(void)arg;
	assert_int_equal(guest_set(guest_conf_current(c), "cores", "4", err), 0);
	return drover_fail(err, -EIO, "edit failed");
}

static void test_update_writes_and_unlocks(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };
	char *text, path[PATH_MAX];
	struct stat st;

	assert_int_equal(guest_conf_update_at(&f->b, GUEST_QEMU, 100, NULL, set_cores, "2", &err),
			 0);
	text = get(f, "nodes/n1/qemu-server/100.conf");
	assert_string_equal(text, "cores: 2\nmemory: 511\nname: a\n");
	free(text);
	snprintf(path, sizeof(path), "%s/priv/lock/guest-100", f->root);
	assert_int_not_equal(stat(path, &st), 0); /* the lock is released */
}

static void test_failed_edit_writes_nothing(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };
	char *text;

	assert_int_equal(guest_conf_update_at(&f->b, GUEST_QEMU, 100, NULL, fail_edit, NULL, &err),
			 -EIO);
	assert_string_equal(err.text, "edit failed");
	text = get(f, "nodes/n1/qemu-server/100.conf");
	assert_string_equal(text, "memory: 511\nname: a\n");
	free(text);
	/* a value the schema refuses */
	assert_int_equal(
		guest_conf_update_at(&f->b, GUEST_QEMU, 100, NULL, set_cores, "many", &err),
		-EINVAL);
}

static void test_lock_refuses(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };
	char *text;

	assert_int_equal(guest_conf_lock_at(&f->b, GUEST_QEMU, 100, "snapshot", &err), 0);
	text = get(f, "nodes/n1/qemu-server/100.conf");
	assert_non_null(strstr(text, "lock: snapshot\n"));
	free(text);
	/* another operation is refused, the holder is not */
	assert_int_equal(guest_conf_update_at(&f->b, GUEST_QEMU, 100, NULL, set_cores, "2", &err),
			 -EBUSY);
	assert_non_null(strstr(err.text, "locked (snapshot)"));
	assert_int_equal(guest_conf_lock_at(&f->b, GUEST_QEMU, 100, "backup", &err), -EBUSY);
	assert_int_equal(guest_conf_unlock_at(&f->b, GUEST_QEMU, 100, "backup", &err), -EBUSY);
	assert_int_equal(
		guest_conf_update_at(&f->b, GUEST_QEMU, 100, "snapshot", set_cores, "2", &err), 0);
	assert_int_equal(guest_conf_unlock_at(&f->b, GUEST_QEMU, 100, "snapshot", &err), 0);
	text = get(f, "nodes/n1/qemu-server/100.conf");
	assert_null(strstr(text, "lock:"));
	free(text);
	/* unlock of any lock, and of none */
	assert_int_equal(guest_conf_lock_at(&f->b, GUEST_QEMU, 100, "migrate", &err), 0);
	assert_int_equal(guest_conf_unlock_at(&f->b, GUEST_QEMU, 100, NULL, &err), 0);
	assert_int_equal(guest_conf_unlock_at(&f->b, GUEST_QEMU, 100, NULL, &err), 0);
}

static void test_cluster_lock_held(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/priv/lock/guest-100", f->root);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(guest_conf_update_at(&f->b, GUEST_QEMU, 100, NULL, set_cores, "2", &err),
			 -EBUSY);
	assert_non_null(strstr(err.text, "priv/lock/guest-100"));
	rmdir(path);
}

static void test_locate_and_uniqueness(void **state)
{
	struct fixture *f = *state;
	struct drover_err err = { "" };
	char node[NODE_NAME_MAX + 1];
	enum guest_type t;
	struct guest_conf *c;

	assert_int_equal(guest_locate_at(&f->b, 100, node, &t, &err), 0);
	assert_string_equal(node, "n1");
	assert_int_equal(t, GUEST_QEMU);
	assert_int_equal(guest_locate_at(&f->b, 200, node, &t, &err), 0);
	assert_string_equal(node, "n2");
	assert_int_equal(t, GUEST_LXC);
	assert_int_equal(guest_locate_at(&f->b, 300, node, &t, &err), -ENOENT);

	/* a VMID of a container on another node cannot be a new VM here */
	assert_int_equal(guest_conf_create_at(&f->b, GUEST_QEMU, 200, set_cores, "1", &err),
			 -EEXIST);
	assert_non_null(strstr(err.text, "node 'n2'"));
	assert_int_equal(guest_conf_create_at(&f->b, GUEST_QEMU, 300, set_cores, "1", &err), 0);
	assert_int_equal(guest_conf_read_at(&f->b, GUEST_QEMU, 300, &c, &err), 0);
	assert_string_equal(guest_get(guest_conf_current(c), "cores"), "1");
	guest_conf_free(c);

	/* this node does not have 200: the error says where it is */
	assert_int_equal(guest_conf_read_at(&f->b, GUEST_LXC, 200, &c, &err), -ENOENT);
	assert_non_null(strstr(err.text, "on node 'n2'"));
	assert_int_equal(guest_conf_update_at(&f->b, GUEST_QEMU, 301, NULL, set_cores, "1", &err),
			 -ENOENT);
	assert_non_null(strstr(err.text, "does not exist"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_update_writes_and_unlocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_edit_writes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_lock_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locate_and_uniqueness, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
