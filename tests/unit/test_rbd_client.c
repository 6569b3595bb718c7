/* SPDX-License-Identifier: MIT */
/*
 * How QEMU reaches an rbd storage (storage_rbd_client): a storage without
 * monhost is each node's own cluster, so QEMU's rbd drive names the node's
 * /etc/ceph/ceph.conf and the storage's user, as drover's own librados
 * connection does; a storage with monhost gets neither; a user too long for
 * QEMU's field is refused, never cut. The drive QEMU is given with them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "basic/strv.h"
#include "libdrover/guest/qemu/cmdline.h"
#include "libdrover/storage/plugin.h"

static struct storage_props props(const char *monhost, const char *username)
{
	struct storage_props p;

	memset(&p, 0, sizeof(p));
	snprintf(p.id, sizeof(p.id), "ceph-local");
	snprintf(p.type, sizeof(p.type), "rbd");
	snprintf(p.pool, sizeof(p.pool), "rbd");
	snprintf(p.monhost, sizeof(p.monhost), "%s", monhost);
	snprintf(p.username, sizeof(p.username), "%s", username);
	return p;
}

static void test_node_local_storage(void **state)
{
	struct storage_props p = props("", "");
	char conf[1024] = "x", user[64] = "x";

	(void)state;
	assert_int_equal(storage_rbd_client(&p, conf, sizeof(conf), user, sizeof(user)), 0);
	assert_string_equal(conf, "/etc/ceph/ceph.conf");
	assert_string_equal(user, "admin");
	p = props("", "drover");
	assert_int_equal(storage_rbd_client(&p, conf, sizeof(conf), user, sizeof(user)), 0);
	assert_string_equal(conf, "/etc/ceph/ceph.conf");
	assert_string_equal(user, "drover");
}

static void test_monhost_storage_unchanged(void **state)
{
	struct storage_props p = props("10.0.0.1 10.0.0.2", "drover");
	char conf[1024] = "x", user[64] = "x";

	(void)state;
	assert_int_equal(storage_rbd_client(&p, conf, sizeof(conf), user, sizeof(user)), 0);
	assert_string_equal(conf, "");
	assert_string_equal(user, "");
}

static void test_too_long_is_refused(void **state)
{
	struct storage_props p = props("", "a-user-name-longer-than-sixteen");
	char conf[1024] = "x", user[16] = "x", small[8] = "x";

	(void)state;
	assert_int_equal(storage_rbd_client(&p, conf, sizeof(conf), user, sizeof(user)),
			 -ENAMETOOLONG);
	assert_string_equal(conf, "");
	assert_string_equal(user, "");
	p = props("", "");
	assert_int_equal(storage_rbd_client(&p, small, sizeof(small), user, sizeof(user)),
			 -ENAMETOOLONG);
	assert_string_equal(small, "");
}

/* "ceph-local:NAME" resolved as vm_resolve_volume does for an rbd storage without monhost. */
static int resolver(void *ctx, uint32_t vmid, const char *volid, struct qemu_volume *v,
		    struct drover_err *err)
{
	struct storage_props p = props("", "");

	(void)ctx;
	(void)vmid;
	(void)err;
	v->driver = QEMU_VOLUME_RBD;
	strcpy(v->rbd_pool, "rbd");
	snprintf(v->rbd_image, sizeof(v->rbd_image), "%s", strchr(volid, ':') + 1);
	strcpy(v->format, "raw");
	return storage_rbd_client(&p, v->rbd_conf, sizeof(v->rbd_conf), v->rbd_user,
				  sizeof(v->rbd_user));
}

static void test_the_drive_qemu_gets(void **state)
{
	static const char text[] = "memory: 256\nvirtio0: ceph-local:vm-100-disk-0,size=64M\n";
	struct qemu_cmdline_opts o = { .run_dir = "/run/q", .resolve = resolver };
	struct drover_err err = { "" };
	struct guest_conf *c = NULL;
	char **argv = NULL;
	bool found = false;

	(void)state;
	assert_int_equal(
		guest_conf_parse(GUEST_QEMU, "qemu-server/100.conf", text, strlen(text), &c, &err),
		0);
	assert_int_equal(qemu_cmdline(c, 100, &o, &argv, &err), 0);
	guest_conf_free(c);
	for (size_t i = 0; argv[i]; i++)
		if (strncmp(argv[i], "driver=rbd,", 11) == 0) {
			assert_string_equal(argv[i],
					    "driver=rbd,pool=rbd,image=vm-100-disk-0,"
					    "conf=/etc/ceph/ceph.conf,user=admin,"
					    "node-name=file-virtio0,cache.direct=on,"
					    "cache.no-flush=off,discard=ignore,read-only=off");
			found = true;
		}
	strv_free_array(argv);
	assert_true(found);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_local_storage),
		cmocka_unit_test(test_monhost_storage_unchanged),
		cmocka_unit_test(test_too_long_is_refused),
		cmocka_unit_test(test_the_drive_qemu_gets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
