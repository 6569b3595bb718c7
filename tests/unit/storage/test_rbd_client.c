/* SPDX-License-Identifier: MIT */
/*
 * How QEMU reaches an rbd storage (storage_rbd_client): a storage without
 * monhost is each node's own cluster, so QEMU's rbd drive names the node's
 * /etc/ceph/ceph.conf and the storage's user, as drover's own librados
 * connection does; a storage with monhost gets a config of its own (the
 * monitors, cephx and the keyring file, root's only), never the key itself;
 * monhost lists in every form storage.cfg allows; a user too long for
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "basic/strv.h"
#include "basic/util.h"
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
	struct drover_err err = { "" };

	(void)state;
	assert_int_equal(storage_rbd_client(&p, NULL, conf, sizeof(conf), user, sizeof(user), &err),
			 0);
	assert_string_equal(conf, "/etc/ceph/ceph.conf");
	assert_string_equal(user, "admin");
	p = props("", "drover");
	assert_int_equal(storage_rbd_client(&p, NULL, conf, sizeof(conf), user, sizeof(user), &err),
			 0);
	assert_string_equal(conf, "/etc/ceph/ceph.conf");
	assert_string_equal(user, "drover");
}

static char *read_all(const char *path)
{
	static char text[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

/* A directory of its own under /tmp for the storage's client configs. */
static void tmpdir(char *dir, size_t len)
{
	char base[] = "/tmp/drover-rbd-client-XXXXXX";

	assert_non_null(mkdtemp(base));
	snprintf(dir, len, "%s/run/ceph", base);
}

/* tmpdir()'s directory and all in it gone again */
static void tmpdir_remove(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strstr(dir, "/run/ceph") - dir), dir);
	assert_int_equal(system(cmd), 0);
}

static void test_monhost_storage_gets_its_own_conf(void **state)
{
	struct storage_props p = props("10.0.0.1 10.0.0.2:6789;fd00::3", "drover");
	char dir[256], path[300], conf[1024] = "x", user[64] = "x", *text;
	struct drover_err err = { "" };
	struct stat st;
	FILE *f;

	(void)state;
	tmpdir(dir, sizeof(dir));
	/* the storage's keyring, as droverfs keeps it (priv/ceph/ID.keyring) */
	snprintf(p.keyring, sizeof(p.keyring), "%s.keyring", dir);
	*strrchr(p.keyring, '/') = '-';
	f = fopen(p.keyring, "w");
	assert_non_null(f);
	fputs("[client.drover]\n\tkey = AQBfakekeyfakekeyfakekeyfakekeyfakeke==\n", f);
	fclose(f);
	p.shared = true;
	assert_int_equal(storage_rbd_client(&p, dir, conf, sizeof(conf), user, sizeof(user), &err),
			 0);
	snprintf(path, sizeof(path), "%s/ceph-local.conf", dir);
	assert_string_equal(conf, path);
	assert_string_equal(user, "drover");
	text = read_all(path);
	assert_non_null(strstr(text, "[global]\nmon_host = 10.0.0.1,10.0.0.2:6789,[fd00::3]\n"
				     "auth_client_required = cephx\nkeyring = "));
	assert_non_null(strstr(text, p.keyring));
	/* the file names the key's file; the key itself is not in it */
	assert_null(strstr(text, "AQB"));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* written again (a second VM start): replaced, no temporary left */
	assert_int_equal(storage_rbd_client(&p, dir, conf, sizeof(conf), user, sizeof(user), &err),
			 0);
	assert_string_equal(read_all(path), text);

	/* no keyring droverfs could give (shared 0, or none): no auth, as drover's own */
	p.shared = false;
	assert_int_equal(storage_rbd_client(&p, dir, conf, sizeof(conf), user, sizeof(user), &err),
			 0);
	text = read_all(path);
	assert_non_null(strstr(text, "auth_client_required = none\n"));
	assert_null(strstr(text, "keyring"));
	p = props("10.0.0.1", "");
	assert_int_equal(storage_rbd_client(&p, dir, conf, sizeof(conf), user, sizeof(user), &err),
			 0);
	assert_string_equal(user, "admin");

	/* refused with a reason, nothing half-given */
	p = props(" , ;", "");
	assert_int_equal(storage_rbd_client(&p, dir, conf, sizeof(conf), user, sizeof(user), &err),
			 -EINVAL);
	assert_string_equal(conf, "");
	assert_non_null(strstr(err.text, "monhost"));
	p = props("10.0.0.1", "");
	p.shared = true;
	snprintf(p.keyring, sizeof(p.keyring), "%s", path); /* readable, and a bad name: */
	memcpy(strrchr(p.keyring, '/'), "/a\nb", 5);
	f = fopen(p.keyring, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(storage_rbd_client(&p, dir, conf, sizeof(conf), user, sizeof(user), &err),
			 -EINVAL);
	assert_non_null(strstr(err.text, "keyring path"));
	tmpdir_remove(dir);
}

static void test_monhost_lists(void **state)
{
	static const char *const ok[][2] = {
		{ "10.0.0.1", "10.0.0.1" },
		{ "10.0.0.1 10.0.0.2", "10.0.0.1,10.0.0.2" },
		{ " 10.0.0.1,,10.0.0.2 ;\t10.0.0.3:6789 ", "10.0.0.1,10.0.0.2,10.0.0.3:6789" },
		{ "mon1.example.com;mon2:3300", "mon1.example.com,mon2:3300" },
		{ "fd00::1 fd00::2", "[fd00::1],[fd00::2]" },
		{ "::1", "[::1]" },
		{ "[fd00::1]:6789,[fd00::2]", "[fd00::1]:6789,[fd00::2]" },
		{ "[v2:10.0.0.1:3300,v1:10.0.0.1:6789] [v2:10.0.0.2:3300/0,v1:10.0.0.2:6789/0]",
		  "[v2:10.0.0.1:3300,v1:10.0.0.1:6789],[v2:10.0.0.2:3300/0,v1:10.0.0.2:6789/0]" },
	};
	static const char *const bad[] = { "", " ", ",;", "[fd00::1", "fd00::1]", "[a]]" };
	char out[STORAGE_RBD_MONHOST_MAX], small[12];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(storage_rbd_monhost(ok[i][0], ',', out, sizeof(out)), 0);
		assert_string_equal(out, ok[i][1]);
	}
	assert_int_equal(storage_rbd_monhost("a b;c", ';', out, sizeof(out)), 0);
	assert_string_equal(out, "a;b;c");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(storage_rbd_monhost(bad[i], ',', out, sizeof(out)), -EINVAL);
	assert_int_equal(storage_rbd_monhost("10.0.0.1 10.0.0.2", ',', small, sizeof(small)),
			 -ENAMETOOLONG);
	assert_int_equal(storage_rbd_monhost("fd00::1234", ',', small, sizeof(small)),
			 -ENAMETOOLONG);
}

static void test_too_long_is_refused(void **state)
{
	struct storage_props p = props("", "a-user-name-longer-than-sixteen");
	char conf[1024] = "x", user[16] = "x", small[8] = "x";
	struct drover_err err = { "" };

	(void)state;
	assert_int_equal(storage_rbd_client(&p, NULL, conf, sizeof(conf), user, sizeof(user), &err),
			 -ENAMETOOLONG);
	assert_string_equal(conf, "");
	assert_string_equal(user, "");
	p = props("", "");
	assert_int_equal(
		storage_rbd_client(&p, NULL, small, sizeof(small), user, sizeof(user), &err),
		-ENAMETOOLONG);
	assert_string_equal(small, "");
}

/*
 * "ceph-local:NAME" and "ceph:NAME" resolved as vm_resolve_volume does: an
 * rbd storage without monhost, and one with monhost and a keyring; ctx is
 * the directory of the client configs.
 */
static int resolver(void *ctx, uint32_t vmid, const char *volid, struct qemu_volume *v,
		    struct drover_err *err)
{
	bool monhost = strncmp(volid, "ceph:", 5) == 0;
	struct storage_props p = props(monhost ? "10.99.0.253" : "", "");

	(void)vmid;
	if (monhost) {
		snprintf(p.id, sizeof(p.id), "ceph");
		snprintf(p.keyring, sizeof(p.keyring), "%s/../ceph.keyring", (char *)ctx);
		p.shared = true;
	}
	v->driver = QEMU_VOLUME_RBD;
	strcpy(v->rbd_pool, "rbd");
	snprintf(v->rbd_image, sizeof(v->rbd_image), "%s", strchr(volid, ':') + 1);
	strcpy(v->format, "raw");
	return storage_rbd_client(&p, ctx, v->rbd_conf, sizeof(v->rbd_conf), v->rbd_user,
				  sizeof(v->rbd_user), err);
}

static void test_the_drive_qemu_gets(void **state)
{
	static const char text[] = "memory: 256\nvirtio0: ceph-local:vm-100-disk-0,size=64M\n"
				   "virtio1: ceph:vm-100-disk-1,size=64M\n";
	char dir[256], keyring[300], want[1024];
	struct qemu_cmdline_opts o = { .run_dir = "/run/q", .resolve = resolver };
	struct drover_err err = { "" };
	struct guest_conf *c = NULL;
	char **argv = NULL;
	unsigned found = 0;
	FILE *f;

	(void)state;
	tmpdir(dir, sizeof(dir));
	assert_int_equal(mkdir_p(dir, 0700), 0);
	snprintf(keyring, sizeof(keyring), "%s/../ceph.keyring", dir);
	f = fopen(keyring, "w");
	assert_non_null(f);
	fputs("[client.admin]\n\tkey = AQBfakekeyfakekeyfakekeyfakekeyfakeke==\n", f);
	fclose(f);
	o.resolve_ctx = dir;
	assert_int_equal(
		guest_conf_parse(GUEST_QEMU, "qemu-server/100.conf", text, strlen(text), &c, &err),
		0);
	assert_int_equal(qemu_cmdline(c, 100, &o, &argv, &err), 0);
	guest_conf_free(c);
	snprintf(want, sizeof(want),
		 "driver=rbd,pool=rbd,image=vm-100-disk-1,conf=%s/ceph.conf,user=admin,"
		 "node-name=file-virtio1,cache.direct=on,cache.no-flush=off,discard=ignore,"
		 "read-only=off",
		 dir);
	for (size_t i = 0; argv[i]; i++) {
		/* the key never on QEMU's command line: ps shows it to everyone */
		assert_null(strstr(argv[i], "AQB"));
		if (strncmp(argv[i], "driver=rbd,pool=rbd,image=vm-100-disk-0,", 40) == 0) {
			assert_string_equal(argv[i],
					    "driver=rbd,pool=rbd,image=vm-100-disk-0,"
					    "conf=/etc/ceph/ceph.conf,user=admin,"
					    "node-name=file-virtio0,cache.direct=on,"
					    "cache.no-flush=off,discard=ignore,read-only=off");
			found |= 1;
		} else if (strncmp(argv[i], "driver=rbd,", 11) == 0) {
			assert_string_equal(argv[i], want);
			found |= 2;
		}
	}
	strv_free_array(argv);
	assert_int_equal(found, 3);
	snprintf(want, sizeof(want), "%s/ceph.conf", dir);
	assert_non_null(
		strstr(read_all(want), "mon_host = 10.99.0.253\nauth_client_required = cephx"));
	snprintf(want + strlen(want) + 1, sizeof(want) - strlen(want) - 1, "\nkeyring = %s\n",
		 keyring);
	assert_non_null(strstr(read_all(want), want + strlen(want) + 1));
	tmpdir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_local_storage),
		cmocka_unit_test(test_monhost_storage_gets_its_own_conf),
		cmocka_unit_test(test_monhost_lists),
		cmocka_unit_test(test_too_long_is_refused),
		cmocka_unit_test(test_the_drive_qemu_gets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
