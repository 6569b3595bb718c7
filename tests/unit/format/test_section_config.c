/* SPDX-License-Identifier: MIT */
/*
 * Proxmox's section config format (format/section_config) and storage.cfg
 * on top of it (storage/config): the round trip, every refusal with its
 * FILE:LINE, the typed model's checks, the edits, the digest.
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

#include "basic/sha1.h"
#include "libdrover/format/section_config.h"
#include "libdrover/storage/config.h"

/* The file as Proxmox writes it: tab-indented keys, a bare flag, a blank line after each. */
static const char canonical[] = "dir: local\n"
				"\tpath /var/lib/vz\n"
				"\tcontent iso,vztmpl,images\n"
				"\n"
				"btrfs: local-btrfs\n"
				"\tdisable\n"
				"\tpath /mnt/btrfs\n"
				"\tcontent images,rootdir\n"
				"\tnodes node1,node2\n"
				"\n"
				"rbd: ceph\n"
				"\tpool vmpool\n"
				"\tmonhost 10.0.0.1 10.0.0.2;10.0.0.3\n"
				"\tkrbd 0\n"
				"\n";

static void round_trip(const char *text)
{
	struct drover_err err = { "" };
	struct sc_file f, g;
	struct buf out = BUF_INIT, again = BUF_INIT;

	assert_int_equal(sc_parse(text, strlen(text), "storage.cfg", &f, &err), 0);
	assert_int_equal(sc_write(&f, &out), 0);
	assert_int_equal(buf_terminate(&out), 0);
	/* parse(write(x)) is x again, and written once more gives the same text */
	assert_int_equal(sc_parse((char *)out.data, out.len, "storage.cfg", &g, &err), 0);
	assert_int_equal(sc_write(&g, &again), 0);
	assert_int_equal(out.len, again.len);
	assert_memory_equal(out.data, again.data, out.len);
	sc_free(&f);
	sc_free(&g);
	buf_free(&out);
	buf_free(&again);
}

static void test_round_trip(void **state)
{
	struct drover_err err = { "" };
	struct buf out = BUF_INIT;
	struct sc_file f;
	const struct sc_prop *p;

	(void)state;
	assert_int_equal(sc_parse(canonical, strlen(canonical), "storage.cfg", &f, &err), 0);
	assert_int_equal(f.n, 3);
	assert_string_equal(f.sections[1].type, "btrfs");
	assert_string_equal(f.sections[1].id, "local-btrfs");
	assert_int_equal(f.sections[1].line, 5);
	p = sc_prop(&f.sections[1], "disable");
	assert_non_null(p);
	assert_null(p->value); /* a bare flag */
	assert_int_equal(p->line, 6);
	/* a value keeps its inner blanks */
	assert_string_equal(sc_prop(&f.sections[2], "monhost")->value,
			    "10.0.0.1 10.0.0.2;10.0.0.3");
	/* canonical text comes back byte for byte */
	assert_int_equal(sc_write(&f, &out), 0);
	assert_int_equal(out.len, strlen(canonical));
	assert_memory_equal(out.data, canonical, out.len);
	sc_free(&f);
	buf_free(&out);
	round_trip(canonical);
	/* hand-written: comments, blanks around, spaces for tabs, CRLF, no final newline */
	round_trip("# storages\n\n\ndir:   local  \n    path /x \r\n  # note\n\tshared 1\n\n\n"
		   "lvmthin: l\n\tvgname pve\n\tthinpool data");
	round_trip("");
}

/* text must fail with exactly this message. */
static void refused(const char *text, const char *want)
{
	struct drover_err err = { "" };
	struct sc_file f;

	assert_int_equal(sc_parse(text, strlen(text), "storage.cfg", &f, &err), -EINVAL);
	if (strcmp(err.text, want))
		fail_msg("got '%s', want '%s'", err.text, want);
	assert_int_equal(f.n, 0);
}

static void test_errors_name_their_line(void **state)
{
	(void)state;
	refused("dir local\n\tpath /x\n",
		"storage.cfg:1: 'dir local' is not a section header (TYPE: ID)");
	refused("dir: local\n\tpath /x\n\n\tcontent images\n",
		"storage.cfg:4: indented line 'content images' outside of a section (the blank line 3 ended the section before)");
	refused("\tpath /x\n",
		"storage.cfg:1: indented line 'path /x' before the first section header");
	refused("dir: a\n\tpath /x\n\tpath /y\n",
		"storage.cfg:3: key 'path' is given twice in section 'a' (first at line 2)");
	refused("dir: a\n\tpath /x\n\ndir: a\n\tpath /y\n",
		"storage.cfg:4: section ID 'a' is used twice (first at line 1)");
	refused("dir: a b\n", "storage.cfg:1: section header 'dir: a b' has more than one ID");
	refused("dir:\n", "storage.cfg:1: section header 'dir:' has no ID");
	refused("Dir: a\n",
		"storage.cfg:1: 'Dir' is not a section type (a-z, 0-9, '_', '-', starting with a letter)");
	refused("dir: a\n\tPath /x\n",
		"storage.cfg:2: 'Path' is not a key (a-z, 0-9, '_', '-', starting with a letter) in section 'a'");
	{
		char bin[] = "dir: a\n\tpath /x\0y\n";
		struct drover_err err = { "" };
		struct sc_file f;

		assert_int_equal(sc_parse(bin, sizeof(bin) - 1, "storage.cfg", &f, &err), -EINVAL);
		assert_string_equal(err.text, "storage.cfg:2: a NUL byte (not a text file?)");
	}
}

static void test_edit_primitives(void **state)
{
	struct sc_file f = SC_FILE_INIT, copy;
	struct sc_section *s;
	struct buf out = BUF_INIT;

	(void)state;
	assert_int_equal(sc_add(&f, "dir", "a", &s), 0);
	assert_int_equal(sc_set(s, "path", "/x"), 0);
	assert_int_equal(sc_set(s, "disable", NULL), 0);
	assert_int_equal(sc_set(s, "path", "/y"), 0); /* replaced in place */
	assert_int_equal(sc_add(&f, "dir", "a", NULL), -EEXIST);
	assert_int_equal(sc_add(&f, "btrfs", "b", NULL), 0);
	assert_int_equal(sc_copy(&f, &copy), 0);
	assert_true(sc_unset(&f.sections[0], "disable"));
	assert_false(sc_unset(&f.sections[0], "disable"));
	assert_int_equal(sc_remove(&f, "b"), 0);
	assert_int_equal(sc_remove(&f, "b"), -ENOENT);
	assert_int_equal(sc_write(&f, &out), 0);
	assert_int_equal(buf_terminate(&out), 0);
	assert_string_equal((char *)out.data, "dir: a\n\tpath /y\n\n");
	out.len = 0;
	/* the copy is deep: unchanged by the edits */
	assert_int_equal(sc_write(&copy, &out), 0);
	assert_int_equal(buf_terminate(&out), 0);
	assert_string_equal((char *)out.data, "dir: a\n\tpath /y\n\tdisable\n\nbtrfs: b\n\n");
	sc_free(&f);
	sc_free(&copy);
	buf_free(&out);
}

static void test_sha1(void **state)
{
	char hex[SHA1_HEX_SIZE];
	char *million = malloc(1000000);

	(void)state;
	sha1_hex("", 0, hex);
	assert_string_equal(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	sha1_hex("abc", 3, hex);
	assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
	sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	assert_string_equal(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	memset(million, 'a', 1000000);
	sha1_hex(million, 1000000, hex);
	assert_string_equal(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	free(million);
}

/* ---- storage.cfg ------------------------------------------------------ */

static void cfg_refused(const char *text, const char *want)
{
	struct drover_err err = { "" };
	struct storage_cfg cfg;

	assert_int_equal(storage_cfg_parse(text, strlen(text), "storage.cfg", &cfg, &err), -EINVAL);
	if (strcmp(err.text, want))
		fail_msg("got '%s', want '%s'", err.text, want);
}

static void test_storage_cfg_model(void **state)
{
	struct drover_err err = { "" };
	struct storage_cfg cfg;
	const struct storage_props *p;
	char hex[SHA1_HEX_SIZE];

	(void)state;
	assert_int_equal(storage_cfg_parse(canonical, strlen(canonical), "storage.cfg", &cfg, &err),
			 0);
	assert_int_equal(cfg.n, 3);
	p = storage_cfg_find(&cfg, "local");
	assert_string_equal(p->path, "/var/lib/vz");
	assert_int_equal(p->content,
			 STORAGE_CONTENT_ISO | STORAGE_CONTENT_VZTMPL | STORAGE_CONTENT_IMAGES);
	assert_true(storage_props_on_node(p, "anywhere"));
	p = storage_cfg_find(&cfg, "local-btrfs");
	assert_true(p->disable);
	assert_string_equal(p->nodes[0], "node1");
	assert_string_equal(p->nodes[1], "node2");
	assert_null(p->nodes[2]);
	assert_false(storage_props_on_node(p, "node1")); /* disabled */
	p = storage_cfg_find(&cfg, "ceph");
	assert_string_equal(p->pool, "vmpool");
	assert_string_equal(p->username, "admin"); /* the default */
	assert_int_equal(p->content, STORAGE_CONTENT_IMAGES);
	assert_true(p->shared); /* rbd: shared unless it says otherwise, as in Proxmox */
	assert_false(storage_cfg_find(&cfg, "local")->shared);
	assert_null(storage_cfg_find(&cfg, "nope"));
	sha1_hex(canonical, strlen(canonical), hex);
	assert_string_equal(cfg.digest, hex);
	storage_cfg_free(&cfg);

	cfg_refused(
		"nfs: a\n\tpath /x\n",
		"storage.cfg:1: unknown storage type 'nfs' (dir, btrfs, rbd, zfspool, lvmthin)");
	cfg_refused(
		"dir: a\n\tpth /x\n",
		"storage.cfg:2: unknown key 'pth' for a dir storage (content, disable, format, nodes, path, shared)");
	cfg_refused(
		"btrfs: a\n\tpath /x\n\tshared 1\n",
		"storage.cfg:3: unknown key 'shared' for a btrfs storage (content, disable, nodes, path)");
	cfg_refused("dir: a\n\tcontent images\n", "storage.cfg:1: dir storage 'a' has no path");
	cfg_refused("dir: a\n\tpath x\n",
		    "storage.cfg:2: path: 'x' is not an absolute directory path");
	cfg_refused("dir: a\n\tpath /x/../etc\n",
		    "storage.cfg:2: path: '/x/../etc' has a '..' component");
	cfg_refused(
		"dir: a\n\tpath /x\n\tcontent images,pics\n",
		"storage.cfg:3: content: 'pics' is not a content type (images, rootdir, iso, vztmpl)");
	cfg_refused("rbd: a\n\tpool p\n\tcontent iso\n",
		    "storage.cfg:3: content: a rbd storage cannot hold iso");
	cfg_refused("dir: a\n\tpath /x\n\tshared maybe\n",
		    "storage.cfg:3: shared: 'maybe' is not a boolean (0 or 1)");
	cfg_refused(
		"rbd: a\n\tpool p\n\tkrbd 1\n",
		"storage.cfg:3: krbd: only 0: drover reaches Ceph through librbd, not the kernel RBD client");
	cfg_refused("rbd: a\n\tpool p\n\tshared local\n",
		    "storage.cfg:3: shared: 'local' is not a boolean (0 or 1)");
	cfg_refused(
		"rbd: a\n\tpool p\n\tmonhost 10.0.0.1\n\tshared 0\n",
		"storage.cfg:4: shared: 0 needs each node's own Ceph cluster, found through its "
		"/etc/ceph/ceph.conf; a monhost names the same monitors for every node (remove "
		"monhost, or set shared 1)");
	cfg_refused(
		"rbd: a\n\tshared no\n\tpool p\n\tmonhost 10.0.0.1\n",
		"storage.cfg:2: shared: 0 needs each node's own Ceph cluster, found through its "
		"/etc/ceph/ceph.conf; a monhost names the same monitors for every node (remove "
		"monhost, or set shared 1)");
	cfg_refused(
		"zfspool: z\n\tpool rpool\n\tshared 0\n",
		"storage.cfg:3: unknown key 'shared' for a zfspool storage (blocksize, content, disable, nodes, pool, sparse)");
	cfg_refused("dir: a\n\tpath /x\n\tnodes n1,-bad\n",
		    "storage.cfg:3: nodes: '-bad' is not a node name");
	cfg_refused("zfspool: z\n\tpool rpool/../x\n",
		    "storage.cfg:2: pool: 'rpool/../x' is not a pool name");
	cfg_refused("zfspool: z\n\tpool rpool\n\tblocksize 3k\n",
		    "storage.cfg:3: blocksize: '3k' is not a power of two from 512 to 1M");
	cfg_refused("lvmthin: l\n\tvgname pve\n",
		    "storage.cfg:1: lvmthin storage 'l' has no thinpool");
	cfg_refused("lvmthin: l\n\tvgname -pve\n\tthinpool data\n",
		    "storage.cfg:2: vgname: '-pve' may not start with '-'");
}

/* An rbd storage without monhost: each node's /etc/ceph; shared 0 makes it replicatable. */
static void test_storage_cfg_rbd_local(void **state)
{
	static const char text[] = "rbd: ceph-local\n"
				   "\tpool rbd\n"
				   "\tcontent images\n"
				   "\tshared 0\n"
				   "\n"
				   "rbd: ceph-conf\n"
				   "\tpool rbd\n"
				   "\n"
				   "rbd: ceph-both\n"
				   "\tpool rbd\n"
				   "\tmonhost 10.0.0.1\n"
				   "\tshared 1\n"
				   "\n";
	char *local[] = { "pool=vm", "shared=0" };
	char *with_mon[] = { "monhost=10.0.0.9" };
	char *no_mon[] = { "monhost" };
	char *unshare[] = { "shared=0" };
	struct drover_err err = { "" };
	struct storage_cfg cfg;
	const struct storage_props *p;

	(void)state;
	assert_int_equal(storage_cfg_parse(text, strlen(text), "storage.cfg", &cfg, &err), 0);
	p = storage_cfg_find(&cfg, "ceph-local");
	assert_false(p->shared);
	assert_string_equal(p->monhost, "");
	assert_string_equal(p->username, "admin");
	p = storage_cfg_find(&cfg, "ceph-conf");
	assert_true(
		p->shared); /* no monhost, no shared: one cluster every node's ceph.conf names */
	assert_string_equal(p->monhost, "");
	assert_true(storage_cfg_find(&cfg, "ceph-both")->shared);
	/* edits are checked as a whole: a monhost cannot come to a shared 0 storage */
	assert_int_equal(storage_cfg_add(&cfg, "rbd", "more", local, 2, &err), 0);
	assert_false(storage_cfg_find(&cfg, "more")->shared);
	assert_int_equal(storage_cfg_set(&cfg, "more", with_mon, 1, NULL, 0, &err), -EINVAL);
	assert_string_equal(err.text,
			    "--shared 0 needs each node's own Ceph cluster, found through its "
			    "/etc/ceph/ceph.conf; --monhost names the same monitors for every "
			    "node (delete monhost, or set shared 1)");
	assert_int_equal(storage_cfg_set(&cfg, "ceph-both", unshare, 1, NULL, 0, &err), -EINVAL);
	assert_true(storage_cfg_find(&cfg, "ceph-both")->shared); /* unchanged */
	assert_int_equal(storage_cfg_set(&cfg, "ceph-both", unshare, 1, no_mon, 1, &err), 0);
	assert_false(storage_cfg_find(&cfg, "ceph-both")->shared);
	assert_string_equal(storage_cfg_find(&cfg, "ceph-both")->monhost, "");
	storage_cfg_free(&cfg);
}

static void test_storage_id_rules(void **state)
{
	(void)state;
	assert_true(storage_id_valid("local"));
	assert_true(storage_id_valid("local-btrfs"));
	assert_true(storage_id_valid("a.b_c-9"));
	assert_false(storage_id_valid(""));
	assert_false(storage_id_valid("9local"));
	assert_false(storage_id_valid("local-"));
	assert_false(storage_id_valid("Local"));
	assert_false(storage_id_valid("lo/cal"));
	assert_false(storage_id_valid("lo:cal"));
	cfg_refused(
		"dir: 9x\n\tpath /x\n",
		"storage.cfg:1: '9x' is not a storage ID (a-z, 0-9, '-', '_', '.', starting with a letter, at most 63)");
}

static void test_storage_cfg_edits(void **state)
{
	char *add[] = { "path=/srv", "content=images", "shared=1" };
	char *bad[] = { "pth=/srv" };
	char *set[] = { "disable", "nodes=node1" };
	char *fixed[] = { "path=/elsewhere" };
	char *del[] = { "shared" };
	struct drover_err err = { "" };
	struct storage_cfg cfg;
	struct buf out = BUF_INIT;

	(void)state;
	assert_int_equal(storage_cfg_default(&cfg), 0);
	assert_int_equal(cfg.n, 1);
	assert_string_equal(cfg.stores[0].id, STORAGE_LOCAL_ID);
	assert_string_equal(cfg.stores[0].path, STORAGE_LOCAL_PATH);
	assert_int_equal(storage_cfg_add(&cfg, "dir", "srv", add, 3, &err), 0);
	assert_int_equal(storage_cfg_add(&cfg, "dir", "srv", add, 3, &err), -EEXIST);
	assert_string_equal(err.text, "storage 'srv' exists already");
	assert_int_equal(storage_cfg_add(&cfg, "dir", "x", bad, 1, &err), -EINVAL);
	assert_string_equal(
		err.text,
		"--pth: not a key of a dir storage (content, disable, format, nodes, path, shared)");
	assert_int_equal(storage_cfg_add(&cfg, "dir", "x", NULL, 0, &err), -EINVAL);
	assert_string_equal(err.text, "a dir storage needs --path");
	assert_int_equal(storage_cfg_add(&cfg, "nfs", "x", NULL, 0, &err), -EINVAL);
	assert_int_equal(storage_cfg_add(&cfg, "dir", "X", add, 3, &err), -EINVAL);
	assert_int_equal(cfg.n, 2); /* refused edits changed nothing */
	assert_int_equal(storage_cfg_set(&cfg, "srv", set, 2, del, 1, &err), 0);
	assert_true(storage_cfg_find(&cfg, "srv")->disable);
	assert_false(storage_cfg_find(&cfg, "srv")->shared);
	assert_int_equal(storage_cfg_set(&cfg, "srv", fixed, 1, NULL, 0, &err), -EINVAL);
	assert_string_equal(
		err.text,
		"--path cannot be changed (the storage's data is there): remove the storage and add it again");
	assert_int_equal(storage_cfg_set(&cfg, "srv", NULL, 0, del, 1, &err), -ENOENT);
	assert_int_equal(storage_cfg_set(&cfg, "nope", set, 1, NULL, 0, &err), -ENOENT);
	/* the canonical order: disable, the fixed keys, the rest sorted */
	assert_int_equal(storage_cfg_write(&cfg, &out), 0);
	assert_int_equal(buf_terminate(&out), 0);
	assert_string_equal((char *)out.data, "dir: local\n"
					      "\tpath /var/lib/drover/local\n"
					      "\tcontent images,rootdir,iso,vztmpl\n"
					      "\n"
					      "dir: srv\n"
					      "\tdisable\n"
					      "\tpath /srv\n"
					      "\tcontent images\n"
					      "\tnodes node1\n"
					      "\n");
	assert_int_equal(storage_cfg_remove(&cfg, "srv", &err), 0);
	assert_int_equal(storage_cfg_remove(&cfg, "srv", &err), -ENOENT);
	assert_int_equal(cfg.n, 1);
	storage_cfg_free(&cfg);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_errors_name_their_line),
		cmocka_unit_test(test_edit_primitives),
		cmocka_unit_test(test_sha1),
		cmocka_unit_test(test_storage_cfg_model),
		cmocka_unit_test(test_storage_cfg_rbd_local),
		cmocka_unit_test(test_storage_id_rules),
		cmocka_unit_test(test_storage_cfg_edits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
